/* Unit tests for lib/data/descriptions.c: the feature,description CSV (header, trimming,
 * Korean text, the place of each problem) and the checks of one pair. */

#include <string.h>

#include "core/err.h"
#include "data/descriptions.h"
#include "unit.h"

/* Reads text into *set (NULL columns: any feature) and returns descriptions_read_csv's. */
static int read_text(const char *text, size_t len, const json_t *columns, json_t **set,
                     struct aiops_error *err)
{
    struct csv_stream s;
    *set = json_object();
    int rv = csv_stream_open_mem(&s, text, len, &descriptions_csv);
    if (rv == 0) {
        rv = descriptions_read_csv(&s, columns, *set, err);
        csv_stream_close(&s);
    }
    return rv;
}

static void test_reads_korean_in_order(void)
{
    static const char text[] = "\xef\xbb\xbf"
                               "Feature , Description\r\n"
                               "x2, \xea\xb3\xa0\xea\xb0\x9d \xeb\x82\x98\xec\x9d\xb4 \r\n"
                               "\n"
                               "x1,\"a, \"\"b\"\"\"\n";
    json_t *set;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(read_text(text, sizeof text - 1, NULL, &set, &err), AIOPS_OK);
    CHECK_INT(json_object_size(set), 2);
    CHECK_STR(json_string_value(json_object_get(set, "x2")), "고객 나이");
    CHECK_STR(json_string_value(json_object_get(set, "x1")), "a, \"b\"");
    CHECK_STR(json_object_iter_key(json_object_iter(set)), "x2"); /* the order given */
    json_decref(set);
    /* a header alone: nothing, no error */
    CHECK_INT(read_text("feature,description\n", 20, NULL, &set, &err), AIOPS_OK);
    CHECK_INT(json_object_size(set), 0);
    json_decref(set);
}

/* descriptions_read_csv of text fails with rv, code (NULL: none), field ("" none), line. */
static void check_bad(const char *text, const json_t *columns, int rv, const char *code,
                      const char *field, long line)
{
    json_t *set;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(read_text(text, strlen(text), columns, &set, &err), rv);
    if (code)
        CHECK_STR(err.code, code);
    else
        CHECK(err.code == NULL);
    CHECK_STR(err.field, field);
    CHECK_INT(err.line, line);
    CHECK(err.message[0] != '\0');
    json_decref(set);
}

static void test_bad_inputs_say_where(void)
{
    json_t *columns = json_pack("{s:b, s:b}", "x1", 1, "x2", 1);
    check_bad("", columns, AIOPS_EPARSE, "invalid_csv", "", 0);
    check_bad("x1,a\n", columns, AIOPS_EPARSE, "invalid_csv", "", 1);
    check_bad("feature,description\nx1,a,b\n", columns, AIOPS_EPARSE, "ragged_row", "", 2);
    check_bad("feature,description\nx1\n", columns, AIOPS_EPARSE, "ragged_row", "", 2);
    check_bad("feature,description\nx1,\"a\n", columns, AIOPS_EPARSE, "unterminated_quote", "", 2);
    check_bad("feature,description\nx1,\xb0\xed\n", columns, AIOPS_EPARSE, "invalid_csv", "", 2);
    check_bad("feature,description\nx1,a\nx3,b\n", columns, AIOPS_EINVAL, NULL, "x3", 3);
    check_bad("feature,description\nx1,a\nx1,b\n", columns, AIOPS_EINVAL, NULL, "x1", 3);
    check_bad("feature,description\n ,a\n", columns, AIOPS_EINVAL, NULL, "feature", 2);
    check_bad("feature,description\nx2, \n", columns, AIOPS_EINVAL, NULL, "x2", 2);
    json_decref(columns);
}

static void test_limits(void)
{
    json_t *set = json_object();
    struct aiops_error err = AIOPS_ERROR_INIT;
    char text[DESCRIPTION_MAX_BYTES + 1];
    memset(text, 'a', sizeof text);
    CHECK_INT(descriptions_add(set, NULL, "f", text, DESCRIPTION_MAX_BYTES + 1, &err),
              AIOPS_EINVAL);
    CHECK_STR(err.field, "f");
    CHECK_INT(descriptions_add(set, NULL, "f", text, DESCRIPTION_MAX_BYTES, NULL), AIOPS_OK);
    char name[16];
    for (int i = 1; i < DESCRIPTIONS_MAX; i++) {
        snprintf(name, sizeof name, "f%d", i);
        CHECK_INT(descriptions_add(set, NULL, name, "d", 1, NULL), AIOPS_OK);
    }
    CHECK_INT(json_object_size(set), DESCRIPTIONS_MAX);
    CHECK_INT(descriptions_add(set, NULL, "one_more", "d", 1, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "one_more");
    json_decref(set);
}

UNIT_MAIN(UNIT(test_reads_korean_in_order), UNIT(test_bad_inputs_say_where), UNIT(test_limits))
