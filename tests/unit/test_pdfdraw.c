/* Unit tests for lib/report/pdfdraw.c's pdfw_flatten_cmap: after the rewrite, every code
 * point maps to the glyph libharu found for it before, on the report's own font. */
#include "unit.h"

#include <hpdf.h>
#include <hpdf_fontdef.h>
#include <stdlib.h>

#include "report/pdfdraw.h"

static void on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    (void)detail_no;
    *(HPDF_STATUS *)user_data = error_no;
}

static void test_flattened_cmap_gives_every_code_point_its_glyph(void)
{
    char path[512];
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (pdfw_find_font(path, sizeof path, &err) != 0) {
        UNIT_SKIP("no report font (%s): the cmap rewrite is NOT checked", err.message);
        return;
    }
    HPDF_STATUS hpdf_error = 0;
    HPDF_Doc doc = HPDF_New(on_error, &hpdf_error);
    CHECK(doc != NULL);
    const char *name = HPDF_LoadTTFontFromFile(doc, path, HPDF_TRUE);
    CHECK(name != NULL);
    HPDF_FontDef def = HPDF_GetFontDef(doc, name);
    CHECK(def != NULL);
    uint16_t *before = malloc(65536 * sizeof *before);
    for (unsigned u = 0; u < 65536; u++)
        before[u] = HPDF_TTFontDef_GetGlyphid(def, (HPDF_UINT16)u);
    CHECK_INT(pdfw_flatten_cmap(doc, name), 1);
    size_t differ = 0, mapped = 0;
    for (unsigned u = 0; u < 65536; u++) {
        uint16_t g = HPDF_TTFontDef_GetGlyphid(def, (HPDF_UINT16)u);
        differ += g != before[u];
        mapped += g != 0;
    }
    CHECK_INT(differ, 0);
    CHECK(mapped > 11172); /* at least every Hangul syllable */
    CHECK(HPDF_TTFontDef_GetGlyphid(def, 0xAC00) != 0);   /* 가 */
    CHECK(HPDF_TTFontDef_GetGlyphid(def, 'A') != HPDF_TTFontDef_GetGlyphid(def, 'B'));
    /* a font that is not a loaded TrueType font is left alone */
    CHECK_INT(pdfw_flatten_cmap(doc, "Helvetica"), 0);
    CHECK_INT(pdfw_flatten_cmap(doc, NULL), 0);
    /* the document still draws and saves with the rewritten font */
    HPDF_UseUTFEncodings(doc);
    HPDF_Font font = HPDF_GetFont(doc, name, "UTF-8");
    CHECK(font != NULL);
    HPDF_Page page = HPDF_AddPage(doc);
    HPDF_Page_BeginText(page);
    HPDF_Page_SetFontAndSize(page, font, 12);
    HPDF_Page_TextOut(page, 50, 700, "모델 정확도 0.87");
    HPDF_Page_EndText(page);
    CHECK(HPDF_Page_TextWidth(page, "가나다") > 0);
    CHECK_INT(HPDF_SaveToStream(doc), HPDF_OK);
    CHECK(HPDF_GetStreamSize(doc) > 1000);
    CHECK_INT(hpdf_error, 0);
    free(before);
    HPDF_Free(doc);
}

UNIT_MAIN(UNIT(test_flattened_cmap_gives_every_code_point_its_glyph))
