/* Unit tests for lib/report/ttfsubset.c: a subset of the report's font maps the used code
 * points, and only those, to glyphs with the original's outline bytes and advance widths
 * (composites with their components, renumbered), libharu accepts it, and damaged fonts are
 * refused without reading out of bounds. */
#include "unit.h"

#include <hpdf.h>
#include <stdlib.h>
#include <string.h>

#include "report/pdfdraw.h"
#include "report/ttfsubset.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Glyph g's outline bytes and advance width, read through the struct's table offsets. */
static const uint8_t *outline(const struct ttf_font *f, uint16_t g, size_t *len)
{
    const uint8_t *l = f->data + f->loca;
    size_t a = f->long_loca ? be32(l + 4 * g) : 2u * be16(l + 2 * g);
    size_t b = f->long_loca ? be32(l + 4 * g + 4) : 2u * be16(l + 2 * g + 2);
    *len = b - a;
    return f->data + f->glyf + a;
}

static int has_table(const struct ttf_font *f, const char *tag)
{
    size_t n = be16(f->data + 4);
    for (size_t i = 0; i < n && 12 + 16 * i + 16 <= f->len; i++)
        if (memcmp(f->data + 12 + 16 * i, tag, 4) == 0)
            return 1;
    return 0;
}

/* A simple glyph o1 is o0 without its instructions (hinting), padded to four bytes. */
static int same_outline(const uint8_t *o0, size_t n0, const uint8_t *o1, size_t n1)
{
    if (n0 < 10) /* empty */
        return n1 == n0;
    size_t at = 10 + 2u * be16(o0), ninstr = be16(o0 + at), rest = n0 - at - 2 - ninstr;
    return n1 >= n0 - ninstr && n1 - (n0 - ninstr) < 4 && memcmp(o0, o1, at) == 0 &&
           be16(o1 + at) == 0 && memcmp(o0 + at + 2 + ninstr, o1 + at + 2, rest) == 0;
}

static uint16_t advance(const struct ttf_font *f, uint16_t g)
{
    return be16(f->data + f->hmtx + 4 * (g < f->nmetrics ? g : f->nmetrics - 1u));
}

static void mark(uint8_t *used, const char *cps)
{
    for (const char *p = cps; *p; p++)
        used[(unsigned char)*p / 8] |= (uint8_t)(1u << ((unsigned char)*p % 8));
}

static void test_subset_keeps_the_used_glyphs_exactly(void)
{
    char path[512];
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (pdfw_find_font(path, sizeof path, &err) != 0) {
        UNIT_SKIP("no report font (%s): subsetting is NOT checked", err.message);
        return;
    }
    struct ttf_font full, sub;
    CHECK_INT(ttf_font_load(&full, path, &err), 0);
    uint8_t *used = calloc(8192, 1);
    mark(used, "Model AUC 0.93 %/");
    static const uint32_t hangul[] = {0xAC00, 0xB098, 0xB2E4, 0xD7A3, 0x00E9, 0x00C5};
    for (size_t i = 0; i < sizeof hangul / sizeof hangul[0]; i++)
        used[hangul[i] / 8] |= (uint8_t)(1u << (hangul[i] % 8));
    struct buf font = BUF_INIT;
    CHECK_INT(ttf_subset(&full, used, &font), 0);
    CHECK(font.len > 1000 && font.len < 100000);
    uint8_t *copy = malloc(font.len);
    memcpy(copy, font.data, font.len);
    CHECK_INT(ttf_font_parse(&sub, copy, font.len, "subset", &err), 0);
    CHECK(sub.nglyphs < 40);
    size_t checked = 0, hinted = 0;
    for (uint32_t cp = 0; cp < 0xFFFF; cp++) {
        int in = (used[cp / 8] >> (cp % 8)) & 1;
        uint16_t g0 = ttf_glyph(&full, cp), g1 = ttf_glyph(&sub, cp);
        if (!in || g0 == 0) {
            CHECK_INT(g1, 0); /* nothing else is mapped */
            continue;
        }
        CHECK(g1 != 0 && g1 < sub.nglyphs);
        CHECK_INT(advance(&sub, g1), advance(&full, g0));
        size_t n0, n1;
        const uint8_t *o0 = outline(&full, g0, &n0), *o1 = outline(&sub, g1, &n1);
        if (n0 >= 10 && (int16_t)be16(o0) < 0) {
            /* a composite: the same bytes but for the components' glyph numbers, each a kept
             * glyph with the original component's outline */
            CHECK_INT(memcmp(o0, o1, 10), 0);
            size_t c0, c1;
            const uint8_t *k0 = outline(&full, be16(o0 + 12), &c0);
            const uint8_t *k1 = outline(&sub, be16(o1 + 12), &c1);
            CHECK(be16(o1 + 12) < sub.nglyphs);
            CHECK(same_outline(k0, c0, k1, c1));
        } else {
            CHECK(same_outline(o0, n0, o1, n1));
            hinted += n0 >= 10 && be16(o0 + 10 + 2u * be16(o0)) > 0;
        }
        checked++;
    }
    CHECK_INT(checked, 20); /* 14 distinct ASCII + 6 others */
    CHECK(hinted > 10);     /* NanumGothic is hinted: the instructions were really dropped */
    for (size_t i = 0; i < 3; i++) /* and the tables that only hinting reads */
        CHECK(!has_table(&sub, (const char *[]){"cvt ", "fpgm", "prep"}[i]));
    /* libharu takes it: the subset draws and saves */
    HPDF_Doc doc = HPDF_New(NULL, NULL);
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL && fwrite(font.data, 1, font.len, tmp) == font.len && fflush(tmp) == 0);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fileno(tmp));
    const char *name = HPDF_LoadTTFontFromFile(doc, fdpath, HPDF_TRUE);
    CHECK(name != NULL);
    HPDF_UseUTFEncodings(doc);
    HPDF_Font f = name ? HPDF_GetFont(doc, name, "UTF-8") : NULL;
    CHECK(f != NULL);
    HPDF_Page page = HPDF_AddPage(doc);
    HPDF_Page_SetFontAndSize(page, f, 12);
    CHECK(HPDF_Page_TextWidth(page, "가나다") > 0);
    CHECK_INT(HPDF_SaveToStream(doc), HPDF_OK);
    HPDF_Free(doc);
    fclose(tmp);
    ttf_font_free(&sub);
    /* damaged copies: every truncation and a few overwritten bytes are refused or cut
     * without reading past the data (the sanitizer build checks) */
    for (size_t cut = 0; cut < font.len; cut += font.len / 97 + 1) {
        uint8_t *d = malloc(cut ? cut : 1);
        memcpy(d, font.data, cut);
        if (ttf_font_parse(&sub, d, cut, "cut", &err) == 0) {
            struct buf again = BUF_INIT;
            ttf_subset(&sub, used, &again);
            buf_free(&again);
            ttf_font_free(&sub);
        }
    }
    buf_free(&font);
    free(used);
    ttf_font_free(&full);
}

UNIT_MAIN(UNIT(test_subset_keeps_the_used_glyphs_exactly))
