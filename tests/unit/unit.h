/* unit.h -- the unit-test harness: one program per module, TAP output.
 *
 *   static void test_parse_quotes(void) { CHECK_STR(got, "a,b"); }
 *   UNIT_MAIN(UNIT(test_parse_quotes), UNIT(test_other))
 *
 * A program prints "ok N - name" / "not ok N - name" per test and exits non-zero when any
 * check failed; tests/run.py counts the lines. Run one test with `prog NAME`.
 *
 * A test that cannot run (its dataset is missing) calls UNIT_SKIP("why") and returns: it is
 * reported as "ok N - name # SKIP why", which tests/run.py counts as skipped (and as failed
 * under --fail-on-skip). A failed check in the same test still makes it "not ok". */
#ifndef AIOPS_UNIT_H
#define AIOPS_UNIT_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failed_checks;

#define UNIT_FAIL(...)                                                                        \
    do {                                                                                      \
        unit_failed_checks++;                                                                 \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                     \
        fprintf(stderr, __VA_ARGS__);                                                         \
        fputc('\n', stderr);                                                                  \
    } while (0)

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c))                                                                             \
            UNIT_FAIL("CHECK(%s)", #c);                                                       \
    } while (0)

#define CHECK_INT(a, b)                                                                       \
    do {                                                                                      \
        long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);                         \
        if (unit_a_ != unit_b_)                                                               \
            UNIT_FAIL("%s == %lld, expected %s == %lld", #a, unit_a_, #b, unit_b_);           \
    } while (0)

#define CHECK_STR(a, b)                                                                       \
    do {                                                                                      \
        const char *unit_a_ = (a), *unit_b_ = (b);                                            \
        if (unit_a_ == NULL || unit_b_ == NULL || strcmp(unit_a_, unit_b_) != 0)              \
            UNIT_FAIL("%s == \"%s\", expected \"%s\"", #a, unit_a_ ? unit_a_ : "(null)",      \
                      unit_b_ ? unit_b_ : "(null)");                                          \
    } while (0)

#define CHECK_MEM(a, alen, b, blen)                                                           \
    do {                                                                                      \
        size_t unit_al_ = (size_t)(alen), unit_bl_ = (size_t)(blen);                          \
        if (unit_al_ != unit_bl_ || memcmp((a), (b), unit_al_) != 0)                          \
            UNIT_FAIL("%s (%zu bytes) differs from %s (%zu bytes)", #a, unit_al_, #b,         \
                      unit_bl_);                                                              \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                                 \
    do {                                                                                      \
        double unit_a_ = (double)(a), unit_b_ = (double)(b);                                  \
        if (!(fabs(unit_a_ - unit_b_) <= (eps)))                                              \
            UNIT_FAIL("%s == %.17g, expected %.17g (within %g)", #a, unit_a_, unit_b_,        \
                      (double)(eps));                                                         \
    } while (0)

/* Relative closeness: |a - b| <= rel * |b| (+ a tiny absolute floor for values near 0). */
#define CHECK_REL(a, b, rel) CHECK_NEAR((a), (b), (rel)*fabs((double)(b)) + 1e-300)

static char unit_skip_reason[256]; /* "" unless the running test called UNIT_SKIP */

/* Marks the running test skipped; the first reason given wins. A TAP line holds no line
 * break, so line breaks in the reason become spaces. */
__attribute__((format(printf, 1, 2))) static inline void unit_skip(const char *fmt, ...)
{
    if (unit_skip_reason[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(unit_skip_reason, sizeof unit_skip_reason, fmt, ap);
    va_end(ap);
    for (char *p = unit_skip_reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (unit_skip_reason[0] == '\0')
        strcpy(unit_skip_reason, "skipped");
}

#define UNIT_SKIP(...) unit_skip(__VA_ARGS__)

struct unit_case {
    const char *name;
    void (*fn)(void);
};

#define UNIT(fn) {#fn, fn}

#define UNIT_MAIN(...)                                                                        \
    int main(int argc, char **argv)                                                           \
    {                                                                                         \
        static const struct unit_case cases[] = {__VA_ARGS__};                                \
        size_t n = sizeof cases / sizeof cases[0];                                            \
        int failed = 0, ran = 0;                                                              \
        for (size_t i = 0; i < n; i++) {                                                      \
            if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)                              \
                continue;                                                                     \
            int before = unit_failed_checks;                                                  \
            unit_skip_reason[0] = '\0';                                                       \
            cases[i].fn();                                                                    \
            ran++;                                                                            \
            int ok = unit_failed_checks == before;                                            \
            failed += !ok;                                                                    \
            if (ok && unit_skip_reason[0] != '\0')                                            \
                printf("ok %d - %s # SKIP %s\n", ran, cases[i].name, unit_skip_reason);       \
            else                                                                              \
                printf("%sok %d - %s\n", ok ? "" : "not ", ran, cases[i].name);               \
            fflush(stdout);                                                                   \
        }                                                                                     \
        printf("1..%d\n", ran);                                                               \
        return failed ? 1 : 0;                                                                \
    }

#endif
