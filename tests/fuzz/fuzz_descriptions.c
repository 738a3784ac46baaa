/* libFuzzer target for lib/data/descriptions.c: the feature,description CSV reader.
 *
 * Input: 1 byte (bit 0: check the features against a few column names), then the CSV bytes.
 * Checked: it returns one of its documented codes; on success every description is a
 * string of valid UTF-8 within the limits, of a feature that is a column when columns are
 * given, at most DESCRIPTIONS_MAX of them; on failure it says what, and an AIOPS_EPARSE
 * names the API error it is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "core/err.h"
#include "data/descriptions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_t *columns =
        (data[0] & 1) ? json_pack("{s:b, s:b, s:b}", "x1", 1, "x2", 1, "나이", 1) : NULL;
    data++;
    size--;
    struct csv_stream s;
    struct aiops_error err = AIOPS_ERROR_INIT;
    json_t *set = json_object();
    if (set == NULL || csv_stream_open_mem(&s, (const char *)data, size, &descriptions_csv) != 0)
        abort();
    int rv = descriptions_read_csv(&s, columns, set, &err);
    csv_stream_close(&s);
    if (rv == AIOPS_OK) {
        if (json_object_size(set) > DESCRIPTIONS_MAX)
            abort();
        const char *feature;
        json_t *v;
        json_object_foreach(set, feature, v)
        {
            size_t len = json_string_length(v);
            if (!json_is_string(v) || len == 0 || len > DESCRIPTION_MAX_BYTES ||
                !utf8_valid(json_string_value(v), len, NULL) || feature[0] == '\0' ||
                (columns != NULL && json_object_get(columns, feature) == NULL))
                abort();
        }
    } else if (rv == AIOPS_EPARSE || rv == AIOPS_EINVAL) {
        if (err.message[0] == '\0' || (rv == AIOPS_EPARSE && err.code == NULL) ||
            (rv == AIOPS_EINVAL && err.field[0] == '\0'))
            abort();
    } else if (rv != AIOPS_ENOMEM) {
        abort();
    }
    json_decref(set);
    json_decref(columns);
    return 0;
}
