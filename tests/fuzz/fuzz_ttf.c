/* libFuzzer target for lib/report/ttfsubset.c: the input as a font file (REPORT_FONT may name
 * any file), looked up for a spread of code points and cut to a subset of some of them; the
 * subset, when made, must parse again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/ttfsubset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    struct ttf_font f;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (ttf_font_parse(&f, copy, size, "fuzz", &err) != 0)
        return 0;
    static uint8_t used[8192];
    memset(used, 0, sizeof used);
    for (uint32_t cp = 0; cp < 0x10000; cp += 97) {
        (void)ttf_glyph(&f, cp);
        used[cp / 8] |= (uint8_t)(1u << (cp % 8));
    }
    used[0x41 / 8] |= 1u << (0x41 % 8);
    struct buf out = BUF_INIT;
    if (ttf_subset(&f, used, &out) == 0) {
        uint8_t *again = malloc(out.len ? out.len : 1);
        struct ttf_font g;
        if (again != NULL) {
            memcpy(again, out.data, out.len);
            if (ttf_font_parse(&g, again, out.len, "subset", &err) != 0)
                abort(); /* our own output must read back */
            ttf_font_free(&g);
        }
    }
    buf_free(&out);
    ttf_font_free(&f);
    return 0;
}
