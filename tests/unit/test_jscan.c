/* Unit tests for lib/core/jscan.c: the token stream, escapes, numbers, skipping, and the error
 * position/line/column that a client sees in a 400. */
#include "unit.h"

#include "core/err.h"
#include "core/jscan.h"
#include "core/jsonx.h"

/* The tokens of text as one letter each ({}[]k s n t f z), "!" for an error. */
static void tokens(const char *text, char *out, size_t cap)
{
    struct jscan js;
    jscan_init(&js, text, strlen(text));
    size_t n = 0;
    for (;;) {
        enum jtok t = jscan_next(&js);
        static const char letter[] = "!.{}[]ksntfz";
        if (n + 1 < cap)
            out[n++] = letter[t + 1];
        if (t <= JT_END)
            break;
    }
    out[n] = '\0';
    jscan_free(&js);
}

/* Each text scans as the tokens want (as tokens() writes them). */
struct token_case {
    const char *text, *want;
};

static void check_tokens(const struct token_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char got[64];
        tokens(cases[i].text, got, sizeof got);
        if (strcmp(got, cases[i].want) != 0)
            UNIT_FAIL("\"%s\" scanned as \"%s\", expected \"%s\"", cases[i].text, got,
                      cases[i].want);
    }
}

/* The next token of js is the key `key`. */
static void check_key(struct jscan *js, const char *key)
{
    enum jtok t = jscan_next(js);
    if (t != JT_KEY || !jscan_is(js, key))
        UNIT_FAIL("expected the key \"%s\", got token %d", key, (int)t);
}

static void test_token_stream(void)
{
    static const struct token_case cases[] = {
        {"{\"a\": [1, \"x\", true, false, null], \"b\": {}}", "{k[nstfz]k{}}."},
        {"  42  ", "n."},
        {"[]", "[]."},
        {"[[[]],{}]", "[[[]]{}]."},
        /* strings: invalid UTF-8, a lone surrogate escape; \u0000 is refused as jansson
         * refuses it (the strings become C strings downstream) */
        {"\"\xff\"", "!"},
        {"\"\xc3\"", "!"},
        {"\"\\ud83d\"", "!"},
        {"\"\\u0000\"", "!"},
        /* a number out of double's range: an error, not infinity */
        {"1e400", "!"},
    };
    check_tokens(cases, sizeof cases / sizeof cases[0]);
}

static void test_syntax_errors(void)
{
    static const char *bad[] = {
        "", "   ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "[1 2]", "01", "1.",
        ".5", "-", "1e", "+1", "tru", "nul", "\"abc", "\"a\\q\"", "\"\\u12\"", "[1]]",
        "1 2", "\"tab\there\"", "NaN", "Infinity", "{\"a\":1}x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char got[64];
        tokens(bad[i], got, sizeof got);
        size_t n = strlen(got);
        if (n == 0 || got[n - 1] != '!')
            UNIT_FAIL("\"%s\" scanned as \"%s\", expected an error", bad[i], got);
    }
}

static void test_strings_and_escapes(void)
{
    const char *text = "[\"plain\", \"a\\\"b\\\\c\\/\\n\", \"\\u00e9\\ud83d\\ude00\", \"\xc3\xa9\"]";
    struct jscan js;
    jscan_init(&js, text, strlen(text));
    CHECK_INT(jscan_next(&js), JT_ARR_BEGIN);
    CHECK_INT(jscan_next(&js), JT_STRING);
    CHECK(jscan_is(&js, "plain"));
    CHECK(js.s > text && js.s < text + strlen(text)); /* unescaped: points into the input */
    CHECK_INT(jscan_next(&js), JT_STRING);
    CHECK_MEM(js.s, js.len, "a\"b\\c/\n", 7);
    CHECK_INT(jscan_next(&js), JT_STRING);
    CHECK_MEM(js.s, js.len, "\xc3\xa9\xf0\x9f\x98\x80", 6);
    CHECK_INT(jscan_next(&js), JT_STRING);
    CHECK_MEM(js.s, js.len, "\xc3\xa9", 2);
    CHECK_INT(jscan_next(&js), JT_ARR_END);
    CHECK_INT(jscan_next(&js), JT_END);
    jscan_free(&js);
    /* invalid strings: test_token_stream */
}

static void test_numbers(void)
{
    static const struct {
        const char *text;
        double want;
    } cases[] = {
        {"0", 0},        {"-0", -0.0},      {"1.5", 1.5},   {"-2e3", -2000},
        {"1E-2", 0.01},  {"0.1", 0.1},      {"123456789012345678", 123456789012345678.0},
        {"2.2250738585072014e-308", 2.2250738585072014e-308},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jscan js;
        jscan_init(&js, cases[i].text, strlen(cases[i].text));
        CHECK_INT(jscan_next(&js), JT_NUMBER);
        CHECK(js.num == cases[i].want); /* correctly rounded: exact equality */
        CHECK_INT(js.len, strlen(cases[i].text));
        CHECK_INT(jscan_next(&js), JT_END);
        jscan_free(&js);
    }
    /* out of double's range: test_token_stream */
}

static void test_skip(void)
{
    const char *text = "{\"skip\": {\"a\": [1, {\"b\": [[]]}], \"c\": \"}\"}, \"keep\": 7}";
    struct jscan js;
    jscan_init(&js, text, strlen(text));
    CHECK_INT(jscan_next(&js), JT_OBJ_BEGIN);
    check_key(&js, "skip");
    CHECK_INT(jscan_skip(&js, jscan_next(&js)), 0);
    check_key(&js, "keep");
    CHECK_INT(jscan_next(&js), JT_NUMBER);
    CHECK(js.num == 7);
    CHECK_INT(jscan_next(&js), JT_OBJ_END);
    CHECK_INT(jscan_next(&js), JT_END);
    jscan_free(&js);
}

static void test_depth_limit(void)
{
    char text[2 * JSCAN_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        text[n++] = '[';
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        text[n++] = ']';
    text[n] = '\0';
    char got[2 * JSCAN_MAX_DEPTH + 8];
    tokens(text, got, sizeof got);
    CHECK(got[strlen(got) - 1] == '.'); /* exactly the limit: fine */
    memmove(text + 1, text, n + 1);
    text[0] = '[';
    text[n + 1] = ']';
    text[n + 2] = '\0';
    tokens(text, got, sizeof got);
    CHECK(got[strlen(got) - 1] == '!');
}

static void test_error_position(void)
{
    const char *text = "{\"a\": 1,\n  \"b\": tru}";
    struct jscan js;
    jscan_init(&js, text, strlen(text));
    enum jtok t;
    while ((t = jscan_next(&js)) > JT_END)
        ;
    CHECK_INT(t, JT_ERROR);
    struct aiops_error e = AIOPS_ERROR_INIT;
    jscan_error(&js, &e);
    CHECK_INT(e.line, 2);
    CHECK_INT(e.offset, (long long)(strstr(text, "tru") - text));
    CHECK_INT(e.column, 8);
    CHECK(e.message[0] != '\0');
    CHECK(e.code == NULL && e.field[0] == '\0');
    /* a caller's own rule stops the scan the same way */
    jscan_init(&js, "{\"x\":1,\"x\":2}", 13);
    CHECK_INT(jscan_next(&js), JT_OBJ_BEGIN);
    check_key(&js, "x");
    CHECK_INT(jscan_next(&js), JT_NUMBER);
    check_key(&js, "x");
    jscan_fail(&js, "duplicate key");
    CHECK_INT(jscan_next(&js), JT_ERROR);
    jscan_error(&js, &e);
    CHECK_STR(e.message, "duplicate key");
    CHECK_INT(e.offset, 10);
    CHECK_INT(e.line, 1);
    CHECK_INT(e.column, 11);
    jscan_free(&js);
}

/* jsonx_parse_body (the jansson tree reader of request bodies) puts a syntax error where the
 * scanner does, so that one body gets one answer on every route. */
static void test_tree_reader_agrees_on_the_place(void)
{
    static const char *const bad[] = {
        "{not json",         "",     "{\"a\": [1, 2,]}", "{\"a\":\n  tru}",
        "{\"a\": \"\xff\"}", "{} x", "{\"a\" 1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct jscan js;
        enum jtok t;
        jscan_init(&js, bad[i], strlen(bad[i]));
        while ((t = jscan_next(&js)) > JT_END)
            ;
        struct aiops_error scan, tree;
        jscan_error(&js, &scan);
        jscan_free(&js);
        json_t *out = (json_t *)1;
        CHECK_INT(jsonx_parse_body(bad[i], strlen(bad[i]), 0, &out, &tree), AIOPS_EPARSE);
        CHECK(out == NULL);
        if (t != JT_ERROR || scan.offset != tree.offset || scan.line != tree.line ||
            scan.column != tree.column || tree.message[0] == '\0')
            UNIT_FAIL("%s: scanner at %ld (%ld:%ld), tree reader at %ld (%ld:%ld)", bad[i],
                      scan.offset, scan.line, scan.column, tree.offset, tree.line, tree.column);
    }
    /* what only the tree reader sees: a repeated key, a body that is not an object */
    struct aiops_error e;
    json_t *out;
    CHECK_INT(jsonx_parse_body("{\"a\":1,\"a\":2}", 13, 0, &out, &e), AIOPS_EPARSE);
    CHECK(e.offset > 0 && e.line == 1 && strstr(e.message, "duplicate") != NULL);
    CHECK_INT(jsonx_parse_body("[1]", 3, 0, &out, &e), AIOPS_EPARSE);
    CHECK_INT(e.offset, 0);
    CHECK_STR(e.message, "the body must be a JSON object");
    CHECK_INT(jsonx_parse_body("[1]", 3, 1, &out, &e), 0);
    CHECK(json_is_array(out));
    json_decref(out);
    CHECK_INT(jsonx_parse_body("{\"a\":1}", 7, 0, &out, NULL), 0);
    json_decref(out);
}

UNIT_MAIN(UNIT(test_token_stream), UNIT(test_syntax_errors), UNIT(test_strings_and_escapes),
          UNIT(test_numbers), UNIT(test_skip), UNIT(test_depth_limit), UNIT(test_error_position),
          UNIT(test_tree_reader_agrees_on_the_place))
