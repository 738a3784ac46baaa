/* Unit tests for lib/http/apierr.c: the catalogue is well formed (unique codes, real
 * statuses, messages), AIOPS_E* codes map onto the rows the API promises, the bodies built
 * from it are the suite's error body, and every error the CSV reader reports is a row. */
#include "unit.h"

#include <ctype.h>

#include "core/err.h"
#include "core/jsonx.h"
#include "data/ingest.h"
#include "http/apierr.h"

static int snake_case(const char *s)
{
    if (s == NULL || !islower((unsigned char)s[0]))
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return 0;
    return s[-1] != '_';
}

static void test_rows_are_well_formed(void)
{
    for (int i = 0; i < API_ERROR_COUNT; i++) {
        const struct api_error_def *d = apierr_def((enum api_error)i);
        if (!snake_case(d->code))
            UNIT_FAIL("row %d: code \"%s\" is not lower_snake_case", i, d->code ? d->code : "-");
        if (d->status < 400 || d->status > 599)
            UNIT_FAIL("row %d (%s): status %d is not an error status", i, d->code, d->status);
        if (d->message == NULL || d->message[0] == '\0')
            UNIT_FAIL("row %d (%s): no message", i, d->code);
        for (const char *p = d->message; p && *p; p++)
            if ((unsigned char)*p < 0x20)
                UNIT_FAIL("row %d (%s): control character in the message", i, d->code);
        for (int j = 0; j < i; j++)
            if (strcmp(apierr_def((enum api_error)j)->code, d->code) == 0)
                UNIT_FAIL("rows %d and %d share the code %s", j, i, d->code);
        /* a row is not given twice under one enum value either: find comes back to it */
        enum api_error back;
        CHECK_INT(apierr_find(d->code, &back), AIOPS_OK);
        CHECK_INT(back, i);
    }
    enum api_error e = API_BAD_REQUEST;
    CHECK_INT(apierr_find("no_such_code", &e), AIOPS_ENOTFOUND);
    CHECK_INT(e, API_BAD_REQUEST);
    /* out of range: the internal error's row, never NULL */
    CHECK_STR(apierr_def(API_ERROR_COUNT)->code, "internal_error");
    CHECK_STR(apierr_def((enum api_error) - 1)->code, "internal_error");
}

static void test_status_of_well_known_codes(void)
{
    static const struct {
        enum api_error e;
        const char *code;
        int status;
    } want[] = {
        {API_INVALID_REQUEST, "invalid_request", 422},
        {API_INVALID_PARAMETER, "invalid_parameter", 422},
        {API_INVALID_JSON, "invalid_json", 400},
        {API_NOT_FOUND, "not_found", 404},
        {API_MODEL_NOT_FOUND, "model_not_found", 404},
        {API_PAYLOAD_TOO_LARGE, "payload_too_large", 413},
        {API_OUT_OF_MEMORY, "out_of_memory", 503},
        {API_SERVICE_TIMEOUT, "service_timeout", 504},
        {API_HTTP_VERSION_NOT_SUPPORTED, "http_version_not_supported", 505},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_STR(apierr_def(want[i].e)->code, want[i].code);
        CHECK_INT(apierr_def(want[i].e)->status, want[i].status);
    }
}

static void test_aiops_errors_map_onto_rows(void)
{
    static const struct {
        int err;
        const char *code;
        int status;
    } want[] = {
        {AIOPS_ENOTFOUND, "not_found", 404},
        {AIOPS_EUNAVAIL, "dependency_unavailable", 503},
        {AIOPS_ETIMEDOUT, "deadline_exceeded", 504},
        {AIOPS_ETOOBIG, "payload_too_large", 413},
        {AIOPS_EINVAL, "invalid_request", 422},
        {AIOPS_EPARSE, "bad_request", 400},
        {AIOPS_EEXIST, "already_exists", 409},
        {AIOPS_ENOMEM, "out_of_memory", 503},
        {AIOPS_ECORRUPT, "corrupt_data", 500},
        {AIOPS_EAUTH, "unauthorized", 401},
        {AIOPS_EUNSUPPORTED, "not_implemented", 501},
        {AIOPS_EDB, "internal_error", 500},
        {AIOPS_EIO, "internal_error", 500},
        {AIOPS_ERPC, "internal_error", 500},
        {AIOPS_ECANCELED, "internal_error", 500},
        {AIOPS_OK, "internal_error", 500}, /* a failure reply without a failure is a bug */
        {AIOPS_ERR_COUNT, "internal_error", 500},
    };
    int seen[AIOPS_ERR_COUNT] = {0};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct api_error_def *d = apierr_def(apierr_from_err(want[i].err));
        if (strcmp(d->code, want[i].code) != 0 || d->status != want[i].status)
            UNIT_FAIL("%s: %d %s, expected %d %s", aiops_strerror(want[i].err), d->status, d->code,
                      want[i].status, want[i].code);
        if (want[i].err < AIOPS_ERR_COUNT)
            seen[want[i].err] = 1;
    }
    /* a code added to err.h gets a deliberate answer here */
    for (int e = 0; e < AIOPS_ERR_COUNT; e++)
        if (!seen[e])
            UNIT_FAIL("%s has no expected answer in this test", aiops_strerror(e));
}

static void test_error_body(void)
{
    json_t *b = apierr_body(API_MODEL_NOT_FOUND, NULL, NULL);
    json_t *err = json_object_get(b, "error");
    CHECK_INT(json_object_size(b), 1);
    CHECK_STR(json_string_value(json_object_get(err, "code")), "model_not_found");
    CHECK_STR(json_string_value(json_object_get(err, "message")),
              apierr_def(API_MODEL_NOT_FOUND)->message);
    CHECK(json_is_object(json_object_get(err, "details")));
    CHECK_INT(json_object_size(json_object_get(err, "details")), 0);
    json_decref(b);
    /* the caller's message (even one that is not UTF-8) and details */
    b = apierr_body(API_INVALID_REQUEST, "rounds \xff must be positive",
                    json_pack("{s:s}", "field", "rounds"));
    err = json_object_get(b, "error");
    CHECK(strstr(json_string_value(json_object_get(err, "message")), "must be positive") != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(err, "details"), "field")),
              "rounds");
    json_decref(b);
}

/* The allocation-free body is the same JSON as the built one, for every row. */
static void test_static_body(void)
{
    for (int i = 0; i < API_ERROR_COUNT; i++) {
        char text[512];
        size_t n = apierr_body_static((enum api_error)i, text, sizeof text);
        CHECK(n > 0 && n == strlen(text));
        json_t *got = json_loadb(text, n, 0, NULL),
               *want = apierr_body((enum api_error)i, NULL, NULL);
        if (got == NULL || !json_equal(got, want))
            UNIT_FAIL("row %d: %s", i, text);
        json_decref(got);
        json_decref(want);
    }
    char tiny[16];
    CHECK_INT(apierr_body_static(API_OUT_OF_MEMORY, tiny, sizeof tiny), 0);
    CHECK_STR(tiny, "");
}

static void test_catalogue_json(void)
{
    json_t *a = apierr_catalogue_json();
    CHECK_INT(json_array_size(a), API_ERROR_COUNT);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const struct api_error_def *d = apierr_def((enum api_error)i);
        json_t *row = json_array_get(a, i);
        CHECK_STR(json_string_value(json_object_get(row, "code")), d->code);
        CHECK_INT(json_integer_value(json_object_get(row, "status")), d->status);
        CHECK_STR(json_string_value(json_object_get(row, "message")), d->message);
    }
    json_decref(a);
}

/* The upload answers the CSV reader's first error with the error's own code: every such
 * code must be a row (400, or 422 for a target the request named). */
static void test_csv_errors_are_rows(void)
{
    static const struct {
        const char *csv, *target, *code;
        size_t max_columns, max_field;
        int status;
    } cases[] = {
        {"", NULL, "empty_file", 0, 0, 400},
        {"a,b\n1,2\n\xff\xfe,3\n", NULL, "invalid_utf8", 0, 0, 400},
        {"a,b,c\n1,2,3\n4,5\n", NULL, "ragged_row", 0, 0, 400},
        {"a,b\n\"open,1\n2,3\n", NULL, "unterminated_quote", 0, 0, 400},
        {"a,b,a\n1,2,3\n", NULL, "duplicate_header", 0, 0, 400},
        {"a,b,c\n1,2,3\n", NULL, "too_many_columns", 2, 0, 400},
        {"a,b\n1,22222222222222222222\n", NULL, "field_too_long", 0, 8, 400},
        {"a,b\n1,2\n", "zz", "unknown_target", 0, 0, 422},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ingest_options opt;
        memset(&opt, 0, sizeof opt);
        opt.target = cases[i].target;
        opt.max_columns = cases[i].max_columns;
        opt.max_field_bytes = cases[i].max_field;
        struct ingest_result r;
        CHECK_INT(ingest_csv(cases[i].csv, strlen(cases[i].csv), &opt, &r), 0);
        const char *code = r.n_errors > 0 && r.n_issues > 0 ? r.issues[0].code : "(none)";
        enum api_error e;
        if (strcmp(code, cases[i].code) != 0)
            UNIT_FAIL("case %zu: first error %s, expected %s", i, code, cases[i].code);
        else if (apierr_find(code, &e) != 0)
            UNIT_FAIL("the CSV error %s is not in the catalogue", code);
        else
            CHECK_INT(apierr_def(e)->status, cases[i].status);
        ingest_result_free(&r);
    }
}

/* The detail struct turned into "details": only what it holds. */
static void test_error_details(void)
{
    struct aiops_error e = AIOPS_ERROR_INIT;
    json_t *d = jsonx_error_details(&e);
    CHECK_INT(json_object_size(d), 0);
    json_decref(d);
    CHECK_INT(aiops_error_set(&e, AIOPS_EINVAL, "rounds", "rounds must be %s", "positive"),
              AIOPS_EINVAL);
    e.code = "bad_rounds";
    e.offset = 0;
    e.line = 3;
    d = jsonx_error_details(&e);
    CHECK_STR(json_string_value(json_object_get(d, "field")), "rounds");
    CHECK_STR(json_string_value(json_object_get(d, "reason")), "rounds must be positive");
    CHECK_STR(json_string_value(json_object_get(d, "code")), "bad_rounds");
    CHECK_INT(json_integer_value(json_object_get(d, "offset")), 0);
    CHECK_INT(json_integer_value(json_object_get(d, "line")), 3);
    CHECK(json_object_get(d, "column") == NULL);
    json_decref(d);
    aiops_error_clear(&e);
    CHECK(e.code == NULL && e.field[0] == '\0' && e.message[0] == '\0' && e.offset == -1);
    CHECK_INT(aiops_error_set(NULL, AIOPS_EPARSE, NULL, "ignored"), AIOPS_EPARSE);
    /* truncated, never overrun */
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    aiops_error_set(&e, 0, longname, "%s", longname);
    CHECK_INT(strlen(e.field), AIOPS_ERROR_FIELD - 1);
    CHECK_INT(strlen(e.message), AIOPS_ERROR_MESSAGE - 1);
}

static void test_reason_phrases(void)
{
    CHECK_STR(http_reason_phrase(422), "Unprocessable Content");
    CHECK_STR(http_reason_phrase(429), "Too Many Requests");
    CHECK_STR(http_reason_phrase(200), "OK");
    CHECK_STR(http_reason_phrase(499), "Client Error");
    CHECK_STR(http_reason_phrase(599), "Server Error");
    /* every status of the catalogue has its own phrase, not the class's */
    for (int e = 0; e < API_ERROR_COUNT; e++) {
        const char *p = http_reason_phrase(apierr_def((enum api_error)e)->status);
        CHECK(strcmp(p, "Client Error") != 0 && strcmp(p, "Server Error") != 0);
    }
}

UNIT_MAIN(UNIT(test_rows_are_well_formed), UNIT(test_status_of_well_known_codes),
          UNIT(test_aiops_errors_map_onto_rows), UNIT(test_error_body), UNIT(test_static_body),
          UNIT(test_catalogue_json), UNIT(test_csv_errors_are_rows), UNIT(test_error_details),
          UNIT(test_reason_phrases))
