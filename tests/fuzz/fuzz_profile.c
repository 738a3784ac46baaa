/* libFuzzer target: CSV bytes -> ingest_csv -> profile_compute -> our JSON writer. The first
 * byte picks the options (target column, bins, top-k, threads), so every statistic runs on
 * hostile tables: empty, constant, all-missing, huge and tiny values, odd UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/jsonx.h"
#include "data/ingest.h"
#include "data/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    uint8_t sel = data[0];
    struct ingest_options io;
    memset(&io, 0, sizeof io);
    io.max_issues = 5;
    struct ingest_result r;
    if (ingest_csv((const char *)data + 1, size - 1, &io, &r) == 0 && r.n_errors == 0) {
        long target = r.target;
        if (sel & 1)
            target = r.table.ncols ? (long)(sel >> 1) % (long)r.table.ncols : -1;
        struct profile_options po;
        memset(&po, 0, sizeof po);
        po.hist_bins = (size_t)(sel % 7);
        po.top_k = (size_t)(sel % 5);
        po.threads = 1u + (sel >> 7);
        json_t *doc = NULL;
        if (profile_compute(&r.table, target, &po, &doc) == 0) {
            char *s = jsonx_to_string(doc, NULL);
            if (s == NULL)
                abort();
            free(s);
            json_decref(doc);
        }
    }
    ingest_result_free(&r);
    return 0;
}
