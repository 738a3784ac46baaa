/* report_pdf_bench.c -- times the PDF stage of a report alone: the measured inputs of
 * MODEL on DATA are computed once (as svc-report keeps them per run), then report_pdf draws
 * the whole document RUNS times (a new libharu document each time: font loaded, every
 * page, compressed, written into memory) -- what ReportLab does in bench/report_reportlab.py.
 * Built by `make bench-drivers`, run by bench/report_bench.sh.
 *
 *   report_pdf_bench MODEL DATA.csv RUNS [OUT.pdf]
 *
 * Prints one JSON object: inputs_s (computing the inputs once), pdf_mean_s, pdf_best_s,
 * bytes, runs. */
#include <stdio.h>
#include <stdlib.h>

#include "core/time.h"
#include "data/ingest.h"
#include "ml/model.h"
#include "report/card.h"
#include "report/inputs.h"
#include "report/pdf.h"
#include "report/writer.h"

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "report_pdf_bench: %s: %s\n", what, why);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: report_pdf_bench MODEL DATA.csv RUNS [OUT.pdf]\n");
        return 2;
    }
    int runs = atoi(argv[3]);
    if (runs < 1)
        return fail("RUNS", "must be at least 1");
    struct aiops_error err = AIOPS_ERROR_INIT;
    struct model *m;
    if (model_load_file(argv[1], &m, &err) != 0)
        return fail(argv[1], err.message);
    struct ingest_result r;
    if (ingest_csv_file(argv[2], NULL, &r) != 0 || r.n_errors > 0)
        return fail(argv[2], "cannot be read");
    uint64_t t0 = time_mono_ns();
    struct report_source src = {m, &r.table, NULL, 0, "given", NULL, NULL};
    json_t *in = NULL, *ai = NULL, *card = NULL;
    struct report_assumptions a;
    report_assumptions_default(&a);
    struct card_identity id = {argv[1], 0, NULL, NULL};
    if (report_inputs_compute(&src, &in, &err) != 0)
        return fail("inputs", err.message);
    if (report_write(in, &a, REPORT_KO, &ai) != 0 ||
        report_card(in, &id, NULL, NULL, REPORT_KO, &card) != 0)
        return fail("report", "cannot be written");
    double inputs_s = (double)(time_mono_ns() - t0) / 1e9, total = 0, best = 1e30;
    struct buf pdf = BUF_INIT;
    for (int i = 0; i < runs; i++) {
        buf_free(&pdf);
        struct report_pdf_options opt = {1, 1, 1, REPORT_KO, NULL};
        uint64_t s = time_mono_ns();
        if (report_pdf(in, ai, card, &opt, &pdf, &err) != 0)
            return fail("pdf", err.message);
        double e = (double)(time_mono_ns() - s) / 1e9;
        total += e;
        best = e < best ? e : best;
    }
    if (argc > 4) {
        FILE *f = fopen(argv[4], "wb");
        if (f == NULL || fwrite(pdf.data, 1, pdf.len, f) != pdf.len || fclose(f) != 0)
            return fail(argv[4], "cannot be written");
    }
    printf("{\"inputs_s\": %.6f, \"pdf_mean_s\": %.6f, \"pdf_best_s\": %.6f, \"bytes\": %zu, "
           "\"runs\": %d}\n",
           inputs_s, total / runs, best, pdf.len, runs);
    buf_free(&pdf);
    json_decref(in);
    json_decref(ai);
    json_decref(card);
    model_free(m);
    ingest_result_free(&r);
    return 0;
}
