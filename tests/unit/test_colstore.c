/* Unit tests for lib/data/colstore.c: bit-exact round trips of every CSV under shared/data
 * and of synthetic tables that exercise each encoding, and rejection of corrupt chunks. */

#include <dirent.h>
#include <jansson.h>

#include "core/bytes.h"
#include "core/err.h"
#include "data/colstore.h"
#include "data/ingest.h"
#include "testdata.h"
#include "unit.h"

struct stored {
    int col, chunk;
    uint8_t *data;
    size_t len;
};

struct store {
    struct stored *v;
    size_t n, cap;
    size_t bytes;
};

static int store_all(const struct table *t, struct store *s)
{
    memset(s, 0, sizeof *s);
    struct colstore_encoder e;
    colstore_encoder_init(&e, t);
    struct colstore_chunk c;
    int rv;
    while ((rv = colstore_encoder_next(&e, &c)) == 0 && c.data != NULL) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            s->v = realloc(s->v, s->cap * sizeof *s->v);
        }
        struct stored *x = &s->v[s->n++];
        x->col = c.col_index;
        x->chunk = c.chunk_index;
        x->len = c.len;
        x->data = malloc(c.len);
        memcpy(x->data, c.data, c.len);
        s->bytes += c.len;
    }
    colstore_encoder_free(&e);
    return rv;
}

static void store_free(struct store *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].data);
    free(s->v);
}

/* Deterministic shuffle: chunks arrive in any order. */
static void shuffle(struct store *s, uint64_t seed)
{
    for (size_t i = s->n; i > 1; i--) {
        size_t j = (size_t)(lcg_next(&seed) >> 33) % i;
        struct stored tmp = s->v[i - 1];
        s->v[i - 1] = s->v[j];
        s->v[j] = tmp;
    }
}

/* Decodes s into *out (skeleton from the schema JSON of t); returns the first error. */
static int load_all(const struct table *t, const struct store *s, struct table *out)
{
    json_t *schema;
    int rv = colstore_schema_json(t, &schema);
    if (rv != 0)
        return rv;
    char *text = json_dumps(schema, 0);
    json_decref(schema);
    json_t *parsed = json_loads(text, 0, NULL);
    free(text);
    rv = colstore_schema_parse(parsed, t->nrows, out);
    json_decref(parsed);
    if (rv != 0)
        return rv;
    struct colstore_decoder d;
    if ((rv = colstore_decode_begin(&d, out)) != 0)
        return rv;
    for (size_t i = 0; i < s->n && rv == 0; i++)
        rv = colstore_decode_chunk(&d, s->v[i].col, s->v[i].chunk, s->v[i].data, s->v[i].len);
    if (rv != 0) {
        colstore_decoder_free(&d);
        return rv;
    }
    return colstore_decode_end(&d);
}

/* 1 when b holds exactly a's values (bits of doubles, codes, dictionary strings). */
static int same_table(const struct table *a, const struct table *b)
{
    if (a->nrows != b->nrows || a->ncols != b->ncols)
        return 0;
    for (size_t c = 0; c < a->ncols; c++) {
        const struct column *x = &a->cols[c], *y = &b->cols[c];
        if (strcmp(x->name, y->name) != 0 || x->type != y->type || x->storage != y->storage) {
            UNIT_FAIL("column %zu: schema differs", c);
            return 0;
        }
        if (x->storage == COL_F64) {
            if (a->nrows && memcmp(x->f64, y->f64, a->nrows * sizeof *x->f64) != 0) {
                UNIT_FAIL("column %s: values differ", x->name);
                return 0;
            }
            continue;
        }
        if (a->nrows && memcmp(x->codes, y->codes, a->nrows * sizeof *x->codes) != 0) {
            UNIT_FAIL("column %s: codes differ", x->name);
            return 0;
        }
        if (x->dict.count != y->dict.count) {
            UNIT_FAIL("column %s: %u strings, decoded %u", x->name, x->dict.count, y->dict.count);
            return 0;
        }
        for (uint32_t k = 0; k < x->dict.count; k++) {
            if (strdict_len(&x->dict, k) != strdict_len(&y->dict, k) ||
                memcmp(strdict_str(&x->dict, k), strdict_str(&y->dict, k),
                       strdict_len(&x->dict, k) + 1) != 0) {
                UNIT_FAIL("column %s: string %u differs", x->name, k);
                return 0;
            }
        }
    }
    return 1;
}

static void roundtrip(const struct table *t, const char *what, size_t *bytes)
{
    struct store s;
    CHECK_INT(store_all(t, &s), 0);
    shuffle(&s, 42);
    struct table back;
    int rv = load_all(t, &s, &back);
    if (rv != 0)
        UNIT_FAIL("%s: decoding failed: %d", what, rv);
    else if (!same_table(t, &back))
        UNIT_FAIL("%s: round trip differs", what);
    if (bytes)
        *bytes = s.bytes;
    table_free(&back);
    store_free(&s);
}

static void test_real_datasets(void)
{
    const char *root = test_data_dir_or_skip();
    if (root == NULL)
        return;
    DIR *d = opendir(root);
    CHECK(d != NULL);
    if (d == NULL)
        return;
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", root, de->d_name);
        DIR *d2 = opendir(sub);
        if (d2 == NULL)
            continue;
        struct dirent *f;
        while ((f = readdir(d2)) != NULL) {
            size_t n = strlen(f->d_name);
            if (n < 5 || strcmp(f->d_name + n - 4, ".csv") != 0)
                continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", sub, f->d_name);
            struct ingest_result r;
            CHECK_INT(ingest_csv_file(path, NULL, &r), 0);
            CHECK_INT(r.n_errors, 0);
            size_t bytes = 0;
            roundtrip(&r.table, path, &bytes);
            /* compact: never more than the raw doubles/codes plus headers */
            size_t raw = 0;
            for (size_t c = 0; c < r.table.ncols; c++)
                raw += r.table.nrows * (r.table.cols[c].storage == COL_F64 ? 8 : 4) +
                       r.table.cols[c].dict.bytes_len + 4 * (size_t)r.table.cols[c].dict.count;
            CHECK(bytes <= raw + 4096 * r.table.ncols);
            ingest_result_free(&r);
            files++;
        }
        closedir(d2);
    }
    closedir(d);
    CHECK(files >= 18);
}

static struct table make_table(size_t nrows, size_t ncols)
{
    struct table t = {.nrows = nrows, .ncols = ncols};
    t.cols = calloc(ncols, sizeof *t.cols);
    for (size_t c = 0; c < ncols; c++) {
        char name[32];
        snprintf(name, sizeof name, "c%zu", c);
        t.cols[c].name = strdup(name);
    }
    return t;
}

static void set_f64(struct table *t, size_t c, enum col_type type)
{
    t->cols[c].storage = COL_F64;
    t->cols[c].type = type;
    t->cols[c].f64 = malloc((t->nrows ? t->nrows : 1) * sizeof(double));
}

static void set_dict(struct table *t, size_t c, enum col_type type)
{
    t->cols[c].storage = COL_DICT;
    t->cols[c].type = type;
    t->cols[c].codes = malloc((t->nrows ? t->nrows : 1) * sizeof(uint32_t));
    strdict_init(&t->cols[c].dict);
}

static void test_encodings(void)
{
    size_t n = 150000; /* three row chunks, the last one short */
    struct table t = make_table(n, 10);
    for (size_t c = 0; c < 8; c++)
        set_f64(&t, c, COL_NUMERIC);
    double nan2;
    uint64_t odd_nan = 0x7ff8000000000123ull;
    memcpy(&nan2, &odd_nan, 8);
    for (size_t r = 0; r < n; r++) {
        t.cols[0].f64[r] = (double)(r % 200);                             /* int8 */
        t.cols[1].f64[r] = r % 7 == 0 ? NAN : (double)(r * 3) - 100000.0; /* int32 + validity */
        t.cols[2].f64[r] = (double)((long)(r % 1000) - 500) / 1000.0;     /* 3 decimals */
        t.cols[3].f64[r] = 42.0;                                          /* constant */
        t.cols[4].f64[r] = NAN;                                           /* all missing */
        t.cols[5].f64[r] = (double)r * 0.1234567891234 + 1e-7;            /* raw */
        t.cols[6].f64[r] = r == 5 ? -0.0 : r == 6 ? INFINITY : r == 7 ? nan2 : (double)r;
        t.cols[7].f64[r] = (double)(r % 60000) + 1.5e15; /* big base */
    }
    set_dict(&t, 8, COL_CATEGORICAL);
    set_dict(&t, 9, COL_TEXT);
    uint32_t code;
    char s[64];
    for (int i = 0; i < 300; i++) { /* 300 strings: 2-byte codes */
        snprintf(s, sizeof s, "level %d", i);
        strdict_intern(&t.cols[8].dict, s, strlen(s), &code);
    }
    strdict_intern(&t.cols[8].dict, "", 0, &code);     /* an empty string */
    strdict_intern(&t.cols[8].dict, "a\0b", 3, &code); /* with a NUL byte */
    for (size_t r = 0; r < n; r++) {
        t.cols[8].codes[r] = r % 11 == 0 ? TABLE_MISSING : (uint32_t)(r % 302);
        snprintf(s, sizeof s, "distinct text value number %zu", r);
        strdict_intern(&t.cols[9].dict, s, strlen(s), &t.cols[9].codes[r]);
    }
    for (size_t c = 8; c < 10; c++)
        strdict_freeze(&t.cols[c].dict);
    CHECK_INT(table_summarize(&t), 0);
    size_t bytes;
    roundtrip(&t, "synthetic", &bytes);
    struct store st;
    CHECK_INT(store_all(&t, &st), 0);
    size_t per_col[10] = {0}, dict_pieces = 0;
    for (size_t i = 0; i < st.n; i++) {
        per_col[st.v[i].col] += st.v[i].len;
        dict_pieces += st.v[i].col == 9 && st.v[i].chunk < 0;
        CHECK(st.v[i].len <= (size_t)4 << 20);
    }
    CHECK(per_col[0] < n + 200);     /* one byte per row */
    CHECK(per_col[2] < 2 * n + 200); /* scaled decimals in two bytes */
    CHECK(per_col[3] < 200);         /* constant: headers only */
    CHECK(per_col[4] < n / 8 + 200); /* validity only */
    CHECK(per_col[5] >= 8 * n);      /* raw doubles */
    CHECK(per_col[7] < 2 * n + 200); /* base + 2-byte offsets */
    CHECK(dict_pieces >= 4);         /* ~5 MB of strings in 1 MiB pieces */
    store_free(&st);
    table_free(&t);

    /* no rows at all, with an empty and a non-empty dictionary */
    t = make_table(0, 3);
    set_f64(&t, 0, COL_NUMERIC);
    set_dict(&t, 1, COL_CATEGORICAL);
    set_dict(&t, 2, COL_CATEGORICAL);
    strdict_intern(&t.cols[2].dict, "x", 1, &code);
    roundtrip(&t, "empty", NULL);
    table_free(&t);
}

/* Re-seals a tampered chunk with a valid checksum. */
static void reseal(uint8_t *p, size_t len)
{
    uint32_t crc = crc32c(0, p, 44);
    crc = crc32c(crc, p + COLSTORE_HEADER_BYTES, len - COLSTORE_HEADER_BYTES);
    for (int i = 0; i < 4; i++)
        p[44 + i] = (uint8_t)(crc >> (8 * i));
}

static int decode_store(const struct table *t, const struct store *s)
{
    struct table back;
    int rv = load_all(t, s, &back);
    table_free(&back);
    return rv;
}

static void test_corruption(void)
{
    struct table t = make_table(70000, 2);
    set_f64(&t, 0, COL_NUMERIC);
    set_dict(&t, 1, COL_CATEGORICAL);
    uint32_t code;
    strdict_intern(&t.cols[1].dict, "a", 1, &code);
    strdict_intern(&t.cols[1].dict, "b", 1, &code);
    for (size_t r = 0; r < t.nrows; r++) {
        t.cols[0].f64[r] = (double)r * 0.5;
        t.cols[1].codes[r] = (uint32_t)(r & 1);
    }
    struct store s;
    CHECK_INT(store_all(&t, &s), 0);
    CHECK_INT(s.n, 5); /* 2 + 2 row chunks, 1 dictionary piece */
    CHECK_INT(decode_store(&t, &s), 0);

    /* a flipped bit is caught: every bit of the headers, a sample of the payloads */
    for (size_t i = 0; i < s.n; i++) {
        for (size_t b = 0; b < s.v[i].len * 8;
             b += b < COLSTORE_HEADER_BYTES * 8 ? 3 : s.v[i].len / 3 + 1) {
            s.v[i].data[b / 8] ^= (uint8_t)(1u << (b % 8));
            if (decode_store(&t, &s) != AIOPS_ECORRUPT)
                UNIT_FAIL("chunk %zu: flipped bit %zu not detected", i, b);
            s.v[i].data[b / 8] ^= (uint8_t)(1u << (b % 8));
        }
    }
    /* a wrong version with a valid checksum */
    s.v[0].data[4] = 2;
    reseal(s.v[0].data, s.v[0].len);
    CHECK_INT(decode_store(&t, &s), AIOPS_ECORRUPT);
    s.v[0].data[4] = COLSTORE_VERSION;
    reseal(s.v[0].data, s.v[0].len);
    CHECK_INT(decode_store(&t, &s), 0);

    /* truncated */
    s.v[1].len--;
    CHECK_INT(decode_store(&t, &s), AIOPS_ECORRUPT);
    s.v[1].len++;

    /* a code outside the dictionary (resealed) */
    for (size_t i = 0; i < s.n; i++) {
        if (s.v[i].col == 1 && s.v[i].chunk == 0) {
            s.v[i].data[COLSTORE_HEADER_BYTES + 3] = 2;
            reseal(s.v[i].data, s.v[i].len);
            CHECK_INT(decode_store(&t, &s), AIOPS_ECORRUPT);
            s.v[i].data[COLSTORE_HEADER_BYTES + 3] = 1;
            reseal(s.v[i].data, s.v[i].len);
        }
    }
    CHECK_INT(decode_store(&t, &s), 0);

    /* missing, duplicated and misplaced chunks */
    s.n--;
    CHECK_INT(decode_store(&t, &s), AIOPS_ECORRUPT);
    s.n++;
    struct store dup = s;
    dup.v = malloc((s.n + 1) * sizeof *dup.v);
    memcpy(dup.v, s.v, s.n * sizeof *dup.v);
    dup.v[s.n] = s.v[2];
    dup.n = s.n + 1;
    CHECK_INT(decode_store(&t, &dup), AIOPS_ECORRUPT);
    dup.n = s.n;
    int saved = dup.v[0].chunk;
    dup.v[0].chunk = saved + 7;
    CHECK_INT(decode_store(&t, &dup), AIOPS_ECORRUPT);
    dup.v[0].chunk = saved;
    dup.v[0].col = 5;
    CHECK_INT(decode_store(&t, &dup), AIOPS_ECORRUPT);
    free(dup.v);

    /* a skeleton that does not match: a dictionary chunk for a numeric column */
    struct table other = make_table(70000, 2);
    set_f64(&other, 0, COL_NUMERIC);
    set_f64(&other, 1, COL_NUMERIC);
    for (size_t r = 0; r < other.nrows; r++)
        other.cols[1].f64[r] = other.cols[0].f64[r] = 0;
    CHECK_INT(decode_store(&other, &s), AIOPS_ECORRUPT);
    table_free(&other);

    /* bad schemas */
    struct table sk;
    json_t *bad =
        json_loads("[{\"name\":\"a\",\"type\":\"numeric\",\"storage\":\"int\"}]", 0, NULL);
    CHECK_INT(colstore_schema_parse(bad, 1, &sk), AIOPS_EINVAL);
    json_decref(bad);
    bad = json_loads("{\"name\":\"a\"}", 0, NULL);
    CHECK_INT(colstore_schema_parse(bad, 1, &sk), AIOPS_EINVAL);
    json_decref(bad);
    store_free(&s);
    table_free(&t);
}

static void test_crc32c(void)
{
    /* RFC 3720 test vectors */
    CHECK_INT(crc32c(0, "123456789", 9), 0xe3069283);
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    CHECK_INT(crc32c(0, zeros, 32), 0x8a9136aa);
    CHECK_INT(crc32c(0, ones, 32), 0x62a8ab43);
    /* continuing equals one pass */
    CHECK_INT(crc32c(crc32c(0, "12345", 5), "6789", 4), 0xe3069283);
}

UNIT_MAIN(UNIT(test_real_datasets), UNIT(test_encodings), UNIT(test_corruption), UNIT(test_crc32c))
