# AIOps suite build.
#
#   make            release build of every program into bin/
#   make SAN=1      AddressSanitizer + UBSan build into build/san/bin/
#   make test       layer and function-length checks, sanitizer build, then every unit,
#                   fuzz-regression, static and integration test
#   make test-valgrind  the integration tests with the services under valgrind
#   make up / down  start / stop the local stack (PostgreSQL + Redis under var/, all services)
#   make fuzz       libFuzzer targets (clang) into build/fuzz/
#
# Sources are discovered by folder: lib/*/*.c is the shared library (one folder per layer,
# checked by scripts/check-layers.sh), each program folder's main.c is its entry point and
# the rest of the folder is linked beside it, tests/unit/test_*.c are unit-test programs,
# tests/fuzz/fuzz_*.c are libFuzzer targets.

.DEFAULT_GOAL := all
SAN ?= 0
ifeq ($(SAN),1)
MODE := san
else
MODE := rel
endif

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
BUILD := build/$(MODE)
GEN := build/gen
ifeq ($(MODE),san)
BINDIR := $(BUILD)/bin
else
BINDIR := bin
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

WARN := -Wall -Wextra -Werror -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wno-format-nonliteral -Wvla
CPPFLAGS_ALL := -D_GNU_SOURCE -DAIOPS_VERSION=\"$(VERSION)\" -Ilib -I$(GEN) -I/usr/include/postgresql
ifeq ($(MODE),san)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
else
OPT := -O2 -g -fno-omit-frame-pointer
LDSAN :=
endif
CFLAGS_ALL := -std=c11 $(OPT) -pthread -MMD -MP $(CPPFLAGS_ALL) $(CFLAGS)
LDLIBS_ALL := -Wl,--as-needed -levent -levent_pthreads -lnng -lprotobuf-c -lpq -lhiredis \
              -lopenblas -lhpdf -lwslay -ljansson -lcrypto -lcurl -lz -lpthread -lm

PROGRAMS := gateway svc-ingest svc-train svc-explain svc-report svc-monitor relay
BIN_gateway := aiops-gateway
BIN_svc-ingest := aiops-ingest
BIN_svc-train := aiops-train
BIN_svc-explain := aiops-explain
BIN_svc-report := aiops-report
BIN_svc-monitor := aiops-monitor
BIN_relay := aiops-relay

PROTO_SRC := $(wildcard proto/*.proto)
PROTO_C := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTO_SRC))
PROTO_H := $(PROTO_C:.c=.h)
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
MIGRATIONS_C := $(GEN)/migrations_embed.c
# The word lists of data/lexicons/ are compiled in too (lib/text/lexicon.h): users run the
# suite without the data folders beside it. (The shipped models of models/ are files read at
# run time, lib/ml/sentiment.h: megabytes of coefficients as C literals slowed every build.)
LEXICONS := $(sort $(wildcard data/lexicons/*.txt))
LEXICONS_C := $(GEN)/lexicons_embed.c
# The OpenAPI document's schema table (gateway/openapi.h) is compiled in the same way.
OPENAPI_SCHEMAS := gateway/openapi-schemas.json
OPENAPI_C := $(GEN)/openapi_embed.c
EMBED_C := $(MIGRATIONS_C) $(LEXICONS_C) $(OPENAPI_C)

LIB_SRC := $(wildcard lib/*/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) \
           $(patsubst $(GEN)/%.c,$(BUILD)/gen/%.o,$(PROTO_C) $(EMBED_C))
LIBA := $(BUILD)/libaiops.a

# Per program folder: main.o plus an archive of the folder's other objects (tests link it).
define program_rules
$(1)_SRC := $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(1)_OBJ := $$(patsubst %.c,$$(BUILD)/%.o,$$($(1)_SRC))
$$(BUILD)/$(1)/part.a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$$(BINDIR)/$$(BIN_$(1)): $$(BUILD)/$(1)/main.o $$(BUILD)/$(1)/part.a $$(LIBA)
	@mkdir -p $$(@D)
	$$(CC) $$(LDSAN) -pthread -o $$@ $$^ $$(LDLIBS_ALL)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rules,$(p))))

CLI_SRC := $(filter-out cli/aiops.c cli/admin.c,$(wildcard cli/*.c))
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))
PART_ARCHIVES := $(foreach p,$(PROGRAMS),$(BUILD)/$(p)/part.a) $(BUILD)/cli/part.a

ALL_BINS := $(foreach p,$(PROGRAMS),$(BINDIR)/$(BIN_$(p))) $(BINDIR)/aiops $(BINDIR)/aiops-admin

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all test test-valgrind unit bench-drivers up down fuzz fuzz-run clean format
all: $(ALL_BINS)

$(BUILD)/cli/part.a: $(CLI_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(BINDIR)/aiops: $(BUILD)/cli/aiops.o $(BUILD)/cli/part.a $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) -pthread -o $@ $^ $(LDLIBS_ALL)
$(BINDIR)/aiops-admin: $(BUILD)/cli/admin.o $(BUILD)/cli/part.a $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) -pthread -o $@ $^ $(LDLIBS_ALL)

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Everything we write is compiled with the full warning set; generated code is not ours.
$(BUILD)/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(WARN) -c -o $@ $<
$(BUILD)/gen/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Wall -Werror -c -o $@ $<

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(GEN)/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror -o $@ $<
$(MIGRATIONS_C): $(GEN)/embed $(MIGRATIONS)
	$(GEN)/embed migrations $(MIGRATIONS) > $@.tmp && mv $@.tmp $@
$(LEXICONS_C): $(GEN)/embed $(LEXICONS)
	$(GEN)/embed text_lexicons $(LEXICONS) > $@.tmp && mv $@.tmp $@
$(OPENAPI_C): $(GEN)/embed $(OPENAPI_SCHEMAS)
	$(GEN)/embed openapi_schema_files $(OPENAPI_SCHEMAS) > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/%: tests/unit/%.c $(PART_ARCHIVES) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(WARN) -Itests/unit -Igateway -o $@ $< $(PART_ARCHIVES) $(LIBA) $(LDSAN) $(LDLIBS_ALL)

unit: $(UNIT_BINS)

# The benchmark drivers are compiled by every `make test` (not run) so that a library change
# that breaks one fails here, not months later in a benchmark run.
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: bench/%.c $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(WARN) -Ibench -o $@ $< $(LIBA) $(LDSAN) $(LDLIBS_ALL)
bench-drivers: $(BENCH_BINS)

# The whole suite always runs against the sanitizer build. AIOPS_FAIL_ON_SKIP=1 in the
# environment (CI sets it) makes a skipped test (a missing dataset) fail the run.
test:
	scripts/check-layers.sh
	scripts/long-functions.py --check
	$(MAKE) SAN=1 all unit bench-drivers
	$(MAKE) fuzz-regress
	/usr/bin/python3 tests/run.py --build build/san

# The integration tests with every service under valgrind (release build).
test-valgrind: all
	AIOPS_VALGRIND=1 /usr/bin/python3 tests/run.py --build build/rel --integration-only

# --- fuzzing (clang/libFuzzer): each target links the library compiled with clang --------
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -D_GNU_SOURCE \
               -DAIOPS_VERSION=\"$(VERSION)\" -Ilib -I$(GEN) -I/usr/include/postgresql -Igateway
FUZZ_LIB_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC) $(gateway_SRC) $(svc-ingest_SRC)) \
                $(patsubst $(GEN)/%.c,build/fuzz/obj/gen/%.o,$(PROTO_C) $(EMBED_C))
build/fuzz/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -MMD -MP -Wall -Werror -c -o $@ $<
build/fuzz/obj/gen/%.o: $(GEN)/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
# (-MMD: the headers a target includes become prerequisites, rebuilt for; not inputs)
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	clang $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer -o $@ $(filter-out %.h,$^) $(LDLIBS_ALL)
# the objects are named here so that make keeps them (not intermediates) and rebuilds them
# when a header changes
fuzz: $(FUZZ_LIB_OBJ) $(FUZZ_BINS)
# Replays each target's checked-in corpus once (fast; part of make test).
fuzz-regress: fuzz
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  $$f -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>build/fuzz/$$n.log || \
	  { echo "fuzz regression failed: $$n (see build/fuzz/$$n.log)"; exit 1; }; done; \
	echo "fuzz corpora replayed: $(notdir $(FUZZ_BINS))"
# Explores for FUZZ_SECONDS per target, growing the corpus.
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) tests/fuzz/corpus/$$n || exit 1; done

up:
	scripts/up.sh
down:
	scripts/down.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

.PHONY: fuzz-regress
# generated sources are outputs, not intermediates: keep them
.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
