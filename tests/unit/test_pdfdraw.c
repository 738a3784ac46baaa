/* Unit tests for lib/report/pdfdraw.c's pdfw_flatten_cmap: after the rewrite, every code
 * point maps to the glyph libharu found for it before, on the report's own font. */
#include "unit.h"

#include <hpdf.h>
#include <hpdf_fontdef.h>
#include <stdlib.h>
#include <string.h>

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

/* Every primitive, with text that only it draws. */
static void draw_all(struct pdfw *w, void *arg)
{
    int *calls = arg;
    pdfw_page(w, "머리말");
    pdfw_section(w, "절 제목");
    pdfw_paragraph(w, 10, 0, PDFW_BLACK, 0,
                   "긴 문단은 여러 줄로 나뉩니다. 줄마다 다른 글자가 들어가도록 충분히 길게 "
                   "씁니다: 가나다라마바사아자차카타파하 거너더러머버서어저처커터퍼허.");
    const char *cells[] = {"열", "값", "정확도", "0.87"};
    pdfw_table(w, 2, (const float[]){100, 80}, 2, cells);
    struct pdfw_axes a = {80, 300, 200, 150, 0, 1, 0, 1};
    pdfw_axes(w, &a, "곡선", "가로축", "세로축");
    double xs[] = {0, 0.5, 1}, ys[] = {0, 0.8, 1};
    pdfw_line(w, &a, xs, ys, 3, PDFW_BLUE, 0);
    pdfw_legend(w, 300, 300, PDFW_BLUE, "범례");
    char label[64];
    snprintf(label, sizeof label, "%s", "잘리는 긴 이름표 잘리는 긴 이름표");
    pdfw_fit(w, label, 8, 40);
    pdfw_text(w, 50, 100, 8, 1, PDFW_BLACK, label);
    if (calls != NULL && ++*calls == 2)
        pdfw_text(w, 50, 80, 8, 0, PDFW_BLACK, "둘째에만"); /* not drawn the first time */
}

static void test_render_embeds_a_subset_that_covers_the_text(void)
{
    char path[512];
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (pdfw_find_font(path, sizeof path, &err) != 0) {
        UNIT_SKIP("no report font (%s): rendering is NOT checked", err.message);
        return;
    }
    unsigned long misses = pdfw_subset_misses();
    struct buf pdf = BUF_INIT;
    CHECK_INT(pdfw_render("제목", "바닥글", draw_all, NULL, &pdf, &err), 0);
    CHECK(pdf.len > 1000 && memcmp(pdf.data, "%PDF-", 5) == 0);
    CHECK(pdf.len < 60000); /* a subset: the whole font's tables alone are over 200 KB */
    CHECK_INT(pdfw_subset_misses(), misses);
    /* a drawing that draws more the second time is drawn again with the whole font */
    int calls = 0;
    struct buf again = BUF_INIT;
    CHECK_INT(pdfw_render("제목", "바닥글", draw_all, &calls, &again, &err), 0);
    CHECK_INT(pdfw_subset_misses(), misses + 1);
    CHECK_INT(calls, 3);
    CHECK(again.len > pdf.len && memcmp(again.data, "%PDF-", 5) == 0);
    buf_free(&pdf);
    buf_free(&again);
}

UNIT_MAIN(UNIT(test_flattened_cmap_gives_every_code_point_its_glyph),
          UNIT(test_render_embeds_a_subset_that_covers_the_text))
