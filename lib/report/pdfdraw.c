#include "report/pdfdraw.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/env.h"
#include "report/ttfsubset.h"
#include "text/normalize.h"

/* libharu's own structures, for pdfw_flatten_cmap: the -dev package ships these headers and
 * they match the library of the same version (checked at compile time there). */
#include <hpdf_doc.h>
#include <hpdf_fontdef.h>
#include <hpdf_mmgr.h>
#include <hpdf_version.h>

/* the brand's blue-violet (seed 000: #2563eb to #7c3aed) */
const struct rgb PDFW_BLACK = {0.12f, 0.12f, 0.16f}, PDFW_GREY = {0.55f, 0.57f, 0.62f},
                 PDFW_BLUE = {0.145f, 0.388f, 0.922f}, PDFW_VIOLET = {0.486f, 0.227f, 0.929f},
                 PDFW_RED = {0.86f, 0.15f, 0.15f}, PDFW_GREEN = {0.09f, 0.60f, 0.35f},
                 PDFW_ORANGE = {0.92f, 0.50f, 0.10f};

#define HEADER_H 46.0f
#define FOOTER_Y 28.0f
/* bold text's outline, as a share of the font size */
#define BOLD_STROKE 0.035f

/* One libharu handle per thread, kept from one document to the next: libharu keeps a
 * handle's loaded fonts across HPDF_NewDoc, so the 4.6 MB font file is parsed (and its cmap
 * flattened) once per thread rather than once per PDF. Freed when the thread ends
 * (pthread key destructor) and dropped after any libharu error. */
struct pdfw_handle {
    HPDF_Doc doc;
    const char *font_name;     /* libharu's, valid while doc lives */
    char font_path[512];       /* the file it was loaded from */
    unsigned long *error_sink; /* the hpdf_error of the document being drawn */
    struct ttf_font ttf;       /* a font's bytes, for subsets; data NULL until read */
    char ttf_path[512];        /* the file ttf was read from */
    int ttf_unusable;          /* reading or checking it failed: no subsets */
};

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;
/* The same pointer as the key's value: a root LeakSanitizer sees in the main thread, whose
 * key destructors never run. */
static _Thread_local struct pdfw_handle *thread_handle;

static void handle_drop_doc(struct pdfw_handle *h)
{
    if (h->doc != NULL)
        HPDF_Free(h->doc);
    h->doc = NULL;
    h->font_name = NULL;
    h->font_path[0] = '\0';
}

static void handle_destroy(void *p)
{
    struct pdfw_handle *h = p;
    handle_drop_doc(h);
    ttf_font_free(&h->ttf);
    free(h);
    thread_handle = NULL;
}

static void handle_key_create(void)
{
    if (pthread_key_create(&handle_key, handle_destroy) != 0)
        abort(); /* only on exhausted keys at start-up */
}

static struct pdfw_handle *thread_pdf_handle(void)
{
    if (thread_handle != NULL)
        return thread_handle;
    pthread_once(&handle_once, handle_key_create);
    struct pdfw_handle *h = calloc(1, sizeof *h);
    if (h == NULL || pthread_setspecific(handle_key, h) != 0) {
        free(h);
        return NULL;
    }
    return thread_handle = h;
}

static void on_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    struct pdfw_handle *h = user_data;
    (void)detail_no;
    if (h->error_sink != NULL && *h->error_sink == 0)
        *h->error_sink = (unsigned long)error_no;
}

/* The same for a document's own handle: user_data is its hpdf_error. */
static void on_own_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    unsigned long *sink = user_data;
    (void)detail_no;
    if (*sink == 0)
        *sink = (unsigned long)error_no;
}

int pdfw_find_font(char *path, size_t cap, struct aiops_error *err)
{
    static const char *const regular[] = {"/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
                                          "/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"};
    const char *given = env_str("REPORT_FONT", "");
    path[0] = '\0';
    if (given[0] != '\0') {
        if (access(given, R_OK) != 0)
            return aiops_error_set(err, AIOPS_ENOTFOUND, "REPORT_FONT",
                                   "REPORT_FONT=%s cannot be read", given);
        snprintf(path, cap, "%s", given);
        return AIOPS_OK;
    }
    for (size_t i = 0; i < sizeof regular / sizeof regular[0]; i++)
        if (access(regular[i], R_OK) == 0) {
            snprintf(path, cap, "%s", regular[i]);
            return AIOPS_OK;
        }
    return aiops_error_set(err, AIOPS_ENOTFOUND, "REPORT_FONT",
                           "no Korean TrueType font: install Debian's fonts-nanum "
                           "(scripts/deps.sh run) or set REPORT_FONT to a .ttf file");
}

/* One code point through a parsed format-4 cmap exactly as libharu 2.3's
 * HPDF_TTFontDef_GetGlyphid reads segment i (except that an index past the glyph array is
 * glyph 0 where libharu would read one entry beyond it). */
static HPDF_UINT16 cmap_segment_glyph(const HPDF_TTF_CmapRange *c, unsigned nseg, unsigned i,
                                      unsigned u)
{
    if (c->id_range_offset[i] == 0)
        return (HPDF_UINT16)(u + (unsigned)(int)c->id_delta[i]);
    unsigned idx = c->id_range_offset[i] / 2u + (u - c->start_count[i]) - (nseg - i);
    if (idx >= c->glyph_id_array_count)
        return 0;
    return (HPDF_UINT16)(c->glyph_id_array[idx] + (unsigned)(int)c->id_delta[i]);
}

int pdfw_flatten_cmap(HPDF_Doc doc, const char *font_name)
{
#if HPDF_VERSION_ID == 20300
    HPDF_FontDef def = font_name ? HPDF_GetFontDef(doc, font_name) : NULL;
    if (def == NULL || def->type != HPDF_FONTDEF_TYPE_TRUETYPE || def->attr == NULL)
        return 0;
    HPDF_TTF_CmapRange *c = &((HPDF_TTFontDefAttr)def->attr)->cmap;
    unsigned nseg = c->seg_count_x2 / 2u;
    if (c->format != 4 || nseg == 0 || c->end_count == NULL || c->start_count == NULL ||
        c->id_delta == NULL || c->id_range_offset == NULL)
        return 0;
    enum { NCODES = 0xFFFF }; /* 0 .. 0xFFFE; 0xFFFF is the closing segment's */
    HPDF_UINT16 *glyph = HPDF_GetMem(def->mmgr, NCODES * sizeof *glyph);
    HPDF_UINT16 *end = HPDF_GetMem(def->mmgr, 2 * sizeof *end);
    HPDF_UINT16 *start = HPDF_GetMem(def->mmgr, 2 * sizeof *start);
    HPDF_INT16 *delta = HPDF_GetMem(def->mmgr, 2 * sizeof *delta);
    HPDF_UINT16 *range = HPDF_GetMem(def->mmgr, 2 * sizeof *range);
    if (glyph == NULL || end == NULL || start == NULL || delta == NULL || range == NULL) {
        void *got[] = {glyph, end, start, delta, range};
        for (size_t k = 0; k < sizeof got / sizeof got[0]; k++)
            if (got[k] != NULL)
                HPDF_FreeMem(def->mmgr, got[k]);
        return 0;
    }
    /* libharu takes the first segment whose end is >= u, and glyph 0 below its start */
    memset(glyph, 0, NCODES * sizeof *glyph);
    unsigned lo = 0;
    for (unsigned i = 0; i < nseg && lo < NCODES; i++) {
        unsigned e = c->end_count[i];
        if (e < lo)
            continue;
        for (unsigned u = lo > c->start_count[i] ? lo : c->start_count[i]; u <= e && u < NCODES;
             u++)
            glyph[u] = cmap_segment_glyph(c, nseg, i, u);
        lo = e + 1;
    }
    HPDF_FreeMem(def->mmgr, c->end_count);
    HPDF_FreeMem(def->mmgr, c->start_count);
    HPDF_FreeMem(def->mmgr, c->id_delta);
    HPDF_FreeMem(def->mmgr, c->id_range_offset);
    if (c->glyph_id_array != NULL)
        HPDF_FreeMem(def->mmgr, c->glyph_id_array);
    /* segment 0 covers 0 .. 0xFFFE through the array: its index works out to u itself
     * (id_range_offset / 2 - (segments - 0) == 0); segment 1 is the required 0xFFFF -> 0 */
    end[0] = NCODES - 1, start[0] = 0, delta[0] = 0, range[0] = 4;
    end[1] = 0xFFFF, start[1] = 0xFFFF, delta[1] = 1, range[1] = 0;
    c->end_count = end, c->start_count = start, c->id_delta = delta, c->id_range_offset = range;
    c->glyph_id_array = glyph, c->glyph_id_array_count = NCODES;
    c->seg_count_x2 = 4;
    return 1;
#else
    (void)doc, (void)font_name;
    return 0;
#endif
}

/* The thread's handle with a fresh document and the font at path loaded: reused when it
 * already holds that font, else made anew. AIOPS_ENOMEM, AIOPS_ECORRUPT (an unusable font). */
static int handle_new_document(struct pdfw_handle *h, const char *path, unsigned long *sink,
                               struct aiops_error *err)
{
    h->error_sink = sink;
    if (h->doc != NULL && strcmp(h->font_path, path) == 0) {
        if (HPDF_NewDoc(h->doc) == HPDF_OK && *sink == 0)
            return AIOPS_OK;
        *sink = 0;
    }
    handle_drop_doc(h);
    h->doc = HPDF_New(on_hpdf_error, h);
    if (h->doc == NULL)
        return aiops_error_set(err, AIOPS_ENOMEM, NULL, "out of memory");
    HPDF_UseUTFEncodings(h->doc);
    h->font_name = HPDF_LoadTTFontFromFile(h->doc, path, HPDF_TRUE);
    if (h->font_name == NULL || *sink != 0) {
        unsigned long code = *sink;
        handle_drop_doc(h);
        return aiops_error_set(err, AIOPS_ECORRUPT, "REPORT_FONT",
                               "the font %s cannot be used (libharu error 0x%04lx)", path, code);
    }
    pdfw_flatten_cmap(h->doc, h->font_name);
    snprintf(h->font_path, sizeof h->font_path, "%s", path);
    return AIOPS_OK;
}

int pdfw_open(struct pdfw *w, const char *title, struct aiops_error *err)
{
    memset(w, 0, sizeof *w);
    char path[512];
    int rv = pdfw_find_font(path, sizeof path, err);
    if (rv != 0)
        return rv;
    struct pdfw_handle *h = thread_pdf_handle();
    if (h == NULL)
        return aiops_error_set(err, AIOPS_ENOMEM, NULL, "out of memory");
    if ((rv = handle_new_document(h, path, &w->hpdf_error, err)) != 0)
        return rv;
    w->doc = h->doc;
    HPDF_SetCompressionMode(w->doc, HPDF_COMP_ALL);
    HPDF_SetInfoAttr(w->doc, HPDF_INFO_TITLE, title);
    HPDF_SetInfoAttr(w->doc, HPDF_INFO_CREATOR, "aiops svc-report " AIOPS_VERSION);
    w->font = HPDF_GetFont(w->doc, h->font_name, "UTF-8");
    if (w->font == NULL || w->hpdf_error != 0) {
        unsigned long code = w->hpdf_error;
        pdfw_abort(w);
        return aiops_error_set(err, AIOPS_ECORRUPT, "REPORT_FONT",
                               "the font %s cannot be used (libharu error 0x%04lx)", path, code);
    }
    return AIOPS_OK;
}

void pdfw_abort(struct pdfw *w)
{
    struct pdfw_handle *h = thread_handle;
    if (w->doc != NULL && w->own_doc) {
        HPDF_Free(w->doc);
    } else if (w->doc != NULL && h != NULL && h->doc == w->doc) {
        /* a handle libharu reported an error on is not trusted with the next document */
        if (w->hpdf_error != 0)
            handle_drop_doc(h);
        else
            HPDF_FreeDoc(h->doc);
        h->error_sink = NULL;
    }
    w->doc = NULL;
}

/* The graphics state setters skip what the page's state already holds (libharu tracks it
 * through GSave/GRestore): every libharu operator call clears a 512-byte buffer byte by byte
 * and formats its numbers, and a report sets the same colour, width and font hundreds of
 * times in a row. */
static void set_color(HPDF_Page p, struct rgb c, int fill)
{
    HPDF_RGBColor now = fill ? HPDF_Page_GetRGBFill(p) : HPDF_Page_GetRGBStroke(p);
    HPDF_ColorSpace cs = fill ? HPDF_Page_GetFillingColorSpace(p) : HPDF_Page_GetStrokingColorSpace(p);
    if (cs == HPDF_CS_DEVICE_RGB && now.r == c.r && now.g == c.g && now.b == c.b)
        return;
    if (fill)
        HPDF_Page_SetRGBFill(p, c.r, c.g, c.b);
    else
        HPDF_Page_SetRGBStroke(p, c.r, c.g, c.b);
}

static void set_line_width(HPDF_Page p, float width)
{
    if (HPDF_Page_GetLineWidth(p) != width)
        HPDF_Page_SetLineWidth(p, width);
}

static void set_font(HPDF_Page p, HPDF_Font font, float size)
{
    if (HPDF_Page_GetCurrentFont(p) != font || HPDF_Page_GetCurrentFontSize(p) != size)
        HPDF_Page_SetFontAndSize(p, font, size);
}

/* Notes text's code points in w->used (when noting). */
static void note_text(struct pdfw *w, const char *text)
{
    if ((w->used == NULL && w->covered == NULL) || text == NULL)
        return;
    for (size_t i = 0, n = strlen(text); i < n;) {
        uint32_t cp;
        i += text_utf8_next(text + i, n - i, &cp);
        if (cp >= 0x10000)
            continue;
        if (w->used != NULL)
            w->used[cp / 8] |= (uint8_t)(1u << (cp % 8));
        if (w->covered != NULL && !(w->covered[cp / 8] & (1u << (cp % 8))))
            w->uncovered++;
    }
}

void pdfw_text(struct pdfw *w, float x, float y, float size, int bold, struct rgb c,
               const char *text)
{
    note_text(w, text);
    if (w->page == NULL || text == NULL)
        return;
    if (bold) { /* the regular face filled and outlined: one embedded font instead of two */
        HPDF_Page_GSave(w->page);
        set_color(w->page, c, 0);
        set_line_width(w->page, size * BOLD_STROKE);
    }
    HPDF_Page_BeginText(w->page);
    set_font(w->page, w->font, size);
    set_color(w->page, c, 1);
    if (bold)
        HPDF_Page_SetTextRenderingMode(w->page, HPDF_FILL_THEN_STROKE);
    HPDF_Page_TextOut(w->page, x, y, text);
    HPDF_Page_EndText(w->page);
    if (bold)
        HPDF_Page_GRestore(w->page); /* the line width, stroke colour and rendering mode */
}

float pdfw_text_width(struct pdfw *w, float size, int bold, const char *text)
{
    (void)bold; /* bold is the same face outlined: the same advances */
    if (w->page == NULL) /* noting: no document, no widths */
        return 0;
    set_font(w->page, w->font, size);
    return HPDF_Page_TextWidth(w->page, text);
}

void pdfw_fit(struct pdfw *w, char *text, float size, float width)
{
    size_t n = strlen(text);
    while (n > 0 && pdfw_text_width(w, size, 0, text) > width) {
        do /* back over one whole UTF-8 character */
            n--;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80);
        text[n] = '\0';
    }
}

void pdfw_rect(struct pdfw *w, float x, float y, float wd, float ht, struct rgb fill, int outline)
{
    if (w->page == NULL)
        return;
    /* colours and widths are set before the path: libharu refuses them inside one */
    set_color(w->page, fill, 1);
    if (outline) {
        set_color(w->page, PDFW_GREY, 0);
        set_line_width(w->page, 0.5f);
    }
    HPDF_Page_Rectangle(w->page, x, y, wd, ht);
    if (outline) {
        HPDF_Page_FillStroke(w->page);
    } else {
        HPDF_Page_Fill(w->page);
    }
}

/* The header band: the brand gradient as a one-row image stretched over the band, made once
 * per document and drawn by every page (as 60 filled strips it was a fifth of each page's
 * operators). The band's colour where the image is missing. */
static void header_band(struct pdfw *w, const char *heading)
{
    enum { STEPS = 120 };
    if (w->band == NULL) {
        HPDF_BYTE rgb[3 * STEPS];
        for (int i = 0; i < STEPS; i++) {
            float t = (float)i / (float)(STEPS - 1);
            rgb[3 * i] = (HPDF_BYTE)lroundf(255 * (PDFW_BLUE.r + t * (PDFW_VIOLET.r - PDFW_BLUE.r)));
            rgb[3 * i + 1] = (HPDF_BYTE)lroundf(255 * (PDFW_BLUE.g + t * (PDFW_VIOLET.g - PDFW_BLUE.g)));
            rgb[3 * i + 2] = (HPDF_BYTE)lroundf(255 * (PDFW_BLUE.b + t * (PDFW_VIOLET.b - PDFW_BLUE.b)));
        }
        w->band = HPDF_LoadRawImageFromMem(w->doc, rgb, STEPS, 1, HPDF_CS_DEVICE_RGB, 8);
    }
    if (w->band != NULL)
        HPDF_Page_DrawImage(w->page, w->band, 0, PDFW_HEIGHT - HEADER_H, PDFW_WIDTH, HEADER_H);
    else
        pdfw_rect(w, 0, PDFW_HEIGHT - HEADER_H, PDFW_WIDTH, HEADER_H, PDFW_BLUE, 0);
    pdfw_text(w, PDFW_MARGIN, PDFW_HEIGHT - 30, 15, 1, (struct rgb){1, 1, 1}, heading);
}

void pdfw_page(struct pdfw *w, const char *heading)
{
    if (w->doc == NULL) { /* noting the text: a page is only its heading */
        note_text(w, heading);
        w->y = PDFW_HEIGHT - HEADER_H - 30;
        return;
    }
    if (w->npages == PDFW_MAX_PAGES) {
        if (w->hpdf_error == 0)
            w->hpdf_error = HPDF_PAGE_CANNOT_GET_ROOT_PAGES; /* "too many pages" */
        return;
    }
    w->page = HPDF_AddPage(w->doc);
    if (w->page == NULL)
        return;
    HPDF_Page_SetSize(w->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    w->pages[w->npages++] = w->page;
    if (heading != NULL)
        header_band(w, heading);
    w->y = PDFW_HEIGHT - HEADER_H - 30;
}

void pdfw_need(struct pdfw *w, float height, const char *heading)
{
    if (w->page == NULL || w->y - height < PDFW_MARGIN + 10)
        pdfw_page(w, heading);
}

void pdfw_section(struct pdfw *w, const char *title)
{
    pdfw_need(w, 60, NULL);
    w->y -= 6;
    pdfw_text(w, PDFW_MARGIN, w->y, 13, 1, PDFW_BLUE, title);
    w->y -= 8;
    if (w->page != NULL) {
        set_color(w->page, PDFW_BLUE, 0);
        set_line_width(w->page, 1);
        HPDF_Page_MoveTo(w->page, PDFW_MARGIN, w->y);
        HPDF_Page_LineTo(w->page, PDFW_WIDTH - PDFW_MARGIN, w->y);
        HPDF_Page_Stroke(w->page);
    }
    w->y -= 16;
}

void pdfw_paragraph(struct pdfw *w, float size, int bold, struct rgb c, float indent,
                    const char *text)
{
    float width = PDFW_WIDTH - 2 * PDFW_MARGIN - indent, lead = size * 1.45f;
    const char *p = text ? text : "";
    if (w->doc == NULL) { /* noting: the lines are cut from this text */
        note_text(w, p);
        return;
    }
    while (*p != '\0') {
        pdfw_need(w, lead, NULL);
        set_font(w->page, w->font, size);
        HPDF_REAL real;
        /* whole words first; a word longer than the line is cut where it must be */
        HPDF_UINT n = HPDF_Font_MeasureText(w->font, (const HPDF_BYTE *)p,
                                            (HPDF_UINT)strlen(p), width, size, 0, 0, HPDF_TRUE,
                                            &real);
        if (n == 0)
            n = HPDF_Font_MeasureText(w->font, (const HPDF_BYTE *)p,
                                      (HPDF_UINT)strlen(p), width, size, 0, 0, HPDF_FALSE, &real);
        if (n == 0) /* not even one character fits: give up on the rest */
            break;
        char line[1024];
        size_t len = n < sizeof line ? n : sizeof line - 1;
        /* never cut inside a UTF-8 sequence */
        while (len > 0 && ((unsigned char)p[len] & 0xC0) == 0x80)
            len--;
        if (len == 0)
            break;
        memcpy(line, p, len);
        line[len] = '\0';
        pdfw_text(w, PDFW_MARGIN + indent, w->y, size, bold, c, line);
        w->y -= lead;
        p += len;
        while (*p == ' ')
            p++;
    }
}

void pdfw_table(struct pdfw *w, size_t ncols, const float *widths, size_t nrows,
                const char *const *cells)
{
    const float row_h = 17, size = 9;
    for (size_t r = 0; r < nrows; r++) {
        pdfw_need(w, row_h + 4, NULL);
        float x = PDFW_MARGIN, total = 0;
        for (size_t c = 0; c < ncols; c++)
            total += widths[c];
        if (r == 0)
            pdfw_rect(w, x, w->y - 5, total, row_h, (struct rgb){0.90f, 0.92f, 0.99f}, 0);
        for (size_t c = 0; c < ncols; c++) {
            const char *t = cells[r * ncols + c];
            if (t != NULL)
                pdfw_text(w, x + 4, w->y, size, r == 0, PDFW_BLACK, t);
            x += widths[c];
        }
        if (w->page != NULL) {
            set_color(w->page, (struct rgb){0.85f, 0.86f, 0.9f}, 0);
            set_line_width(w->page, 0.4f);
            HPDF_Page_MoveTo(w->page, PDFW_MARGIN, w->y - 5);
            HPDF_Page_LineTo(w->page, PDFW_MARGIN + total, w->y - 5);
            HPDF_Page_Stroke(w->page);
        }
        w->y -= row_h;
    }
    w->y -= 8;
}

/* --- charts ----------------------------------------------------------------------------------- */

static float to_x(const struct pdfw_axes *a, double v)
{
    double t = a->x1 > a->x0 ? (v - a->x0) / (a->x1 - a->x0) : 0;
    return a->x + (float)(fmin(1, fmax(0, t))) * a->w;
}

static float to_y(const struct pdfw_axes *a, double v)
{
    double t = a->y1 > a->y0 ? (v - a->y0) / (a->y1 - a->y0) : 0;
    return a->y + (float)(fmin(1, fmax(0, t))) * a->h;
}

void pdfw_axes(struct pdfw *w, const struct pdfw_axes *a, const char *title, const char *xlabel,
               const char *ylabel)
{
    HPDF_Page p = w->page;
    pdfw_text(w, a->x, a->y + a->h + 8, 10, 1, PDFW_BLACK, title);
    note_text(w, ylabel); /* drawn rotated below, not through pdfw_text */
    if (p == NULL) { /* noting: the tick labels are numbers (ASCII is always kept) */
        note_text(w, xlabel);
        return;
    }
    set_color(p, (struct rgb){0.9f, 0.9f, 0.93f}, 0);
    set_line_width(p, 0.4f);
    for (int i = 0; i <= 4; i++) { /* grid at quarters */
        float gx = a->x + a->w * (float)i / 4, gy = a->y + a->h * (float)i / 4;
        HPDF_Page_MoveTo(p, gx, a->y);
        HPDF_Page_LineTo(p, gx, a->y + a->h);
        HPDF_Page_MoveTo(p, a->x, gy);
        HPDF_Page_LineTo(p, a->x + a->w, gy);
    }
    HPDF_Page_Stroke(p);
    set_color(p, PDFW_GREY, 0);
    set_line_width(p, 0.8f);
    HPDF_Page_Rectangle(p, a->x, a->y, a->w, a->h);
    HPDF_Page_Stroke(p);
    char t[32];
    for (int i = 0; i <= 4; i++) {
        double xv = a->x0 + (a->x1 - a->x0) * i / 4, yv = a->y0 + (a->y1 - a->y0) * i / 4;
        snprintf(t, sizeof t, "%.3g", xv);
        pdfw_text(w, a->x + a->w * (float)i / 4 - pdfw_text_width(w, 7, 0, t) / 2, a->y - 10, 7, 0,
                  PDFW_GREY, t);
        snprintf(t, sizeof t, "%.3g", yv);
        pdfw_text(w, a->x - 4 - pdfw_text_width(w, 7, 0, t), a->y + a->h * (float)i / 4 - 2, 7, 0,
                  PDFW_GREY, t);
    }
    if (xlabel)
        pdfw_text(w, a->x + a->w / 2 - pdfw_text_width(w, 8, 0, xlabel) / 2, a->y - 21, 8, 0,
                  PDFW_BLACK, xlabel);
    if (ylabel) {
        HPDF_Page_BeginText(p);
        set_font(p, w->font, 8);
        set_color(p, PDFW_BLACK, 1);
        /* rotated a quarter turn: read bottom to top beside the axis */
        HPDF_Page_SetTextMatrix(p, 0, 1, -1, 0, a->x - 26, a->y + a->h / 2 - pdfw_text_width(w, 8, 0, ylabel) / 2);
        HPDF_Page_ShowText(p, ylabel);
        HPDF_Page_EndText(p);
    }
}

void pdfw_line(struct pdfw *w, const struct pdfw_axes *a, const double *xs, const double *ys,
               size_t n, struct rgb c, int dashed)
{
    HPDF_Page p = w->page;
    static const HPDF_UINT16 dash[] = {3, 2};
    if (p == NULL)
        return;
    set_color(p, c, 0);
    set_line_width(p, 1.4f);
    if (dashed)
        HPDF_Page_SetDash(p, dash, 2, 0);
    int pen = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(xs[i]) || isnan(ys[i])) {
            pen = 0; /* a gap where a value is missing */
            continue;
        }
        if (pen)
            HPDF_Page_LineTo(p, to_x(a, xs[i]), to_y(a, ys[i]));
        else
            HPDF_Page_MoveTo(p, to_x(a, xs[i]), to_y(a, ys[i]));
        pen = 1;
    }
    HPDF_Page_Stroke(p);
    if (dashed)
        HPDF_Page_SetDash(p, NULL, 0, 0);
}

void pdfw_legend(struct pdfw *w, float x, float y, struct rgb c, const char *label)
{
    if (w->page == NULL) {
        note_text(w, label);
        return;
    }
    set_color(w->page, c, 0);
    set_line_width(w->page, 2);
    HPDF_Page_MoveTo(w->page, x, y + 3);
    HPDF_Page_LineTo(w->page, x + 14, y + 3);
    HPDF_Page_Stroke(w->page);
    pdfw_text(w, x + 18, y, 7.5f, 0, PDFW_BLACK, label);
}

struct rgb pdfw_diverging(double v)
{
    if (isnan(v))
        return (struct rgb){0.93f, 0.93f, 0.93f};
    float t = (float)fmin(1, fabs(v));
    struct rgb end = v < 0 ? PDFW_BLUE : PDFW_RED;
    return (struct rgb){1 + t * (end.r - 1), 1 + t * (end.g - 1), 1 + t * (end.b - 1)};
}

/* --- finishing ---------------------------------------------------------------------------------- */

/* Page numbers ("n / N") and the footer on every page. */
static void number_pages(struct pdfw *w)
{
    char num[64];
    for (size_t i = 0; i < w->npages; i++) {
        w->page = w->pages[i];
        snprintf(num, sizeof num, "%zu / %zu", i + 1, w->npages);
        pdfw_text(w, PDFW_WIDTH / 2 - pdfw_text_width(w, 8, 0, num) / 2, FOOTER_Y, 8, 0, PDFW_GREY,
                  num);
        if (w->footer != NULL)
            pdfw_text(w, PDFW_MARGIN, FOOTER_Y, 7, 0, PDFW_GREY, w->footer);
    }
}

/* Writes the numbered document into out and frees it. */
static int save_document(struct pdfw *w, struct buf *out, struct aiops_error *err)
{
    int rv = AIOPS_OK;
    if (w->hpdf_error == 0 && HPDF_SaveToStream(w->doc) == HPDF_OK) {
        HPDF_UINT32 size = HPDF_GetStreamSize(w->doc);
        if (buf_reserve(out, size) != 0) {
            rv = aiops_error_set(err, AIOPS_ENOMEM, NULL, "out of memory");
        } else {
            HPDF_ResetStream(w->doc);
            HPDF_UINT32 got = size;
            if (HPDF_ReadFromStream(w->doc, (HPDF_BYTE *)out->data + out->len, &got) != HPDF_OK &&
                got != size)
                rv = aiops_error_set(err, AIOPS_EIO, NULL, "the PDF stream could not be read");
            out->len += got;
            out->data[out->len] = '\0';
        }
    }
    if (rv == 0 && w->hpdf_error != 0)
        rv = aiops_error_set(err, AIOPS_EIO, NULL, "libharu error 0x%04lx", w->hpdf_error);
    pdfw_abort(w);
    return rv;
}

int pdfw_finish(struct pdfw *w, struct buf *out, struct aiops_error *err)
{
    number_pages(w);
    return save_document(w, out, err);
}

/* A document of its own handle with the font file at path (the subset), as pdfw_open. */
static int open_own(struct pdfw *w, const char *title, const char *path)
{
    memset(w, 0, sizeof *w);
    w->own_doc = 1;
    w->doc = HPDF_New(on_own_hpdf_error, &w->hpdf_error);
    if (w->doc == NULL)
        return AIOPS_ENOMEM;
    HPDF_UseUTFEncodings(w->doc);
    HPDF_SetCompressionMode(w->doc, HPDF_COMP_ALL);
    HPDF_SetInfoAttr(w->doc, HPDF_INFO_TITLE, title);
    HPDF_SetInfoAttr(w->doc, HPDF_INFO_CREATOR, "aiops svc-report " AIOPS_VERSION);
    const char *name = HPDF_LoadTTFontFromFile(w->doc, path, HPDF_TRUE);
    pdfw_flatten_cmap(w->doc, name);
    w->font = name ? HPDF_GetFont(w->doc, name, "UTF-8") : NULL;
    if (w->font == NULL || w->hpdf_error != 0) {
        pdfw_abort(w);
        return AIOPS_ECORRUPT;
    }
    return AIOPS_OK;
}

/* The subset of the font at path for the code points in used, as a file libharu can open
 * (an anonymous memory file, seen through /proc/self/fd): its descriptor, or -1 when the
 * font cannot be cut. The thread keeps the font's bytes between documents. */
static int subset_font_file(struct pdfw_handle *h, const char *path, const uint8_t *used)
{
    if (strcmp(h->ttf_path, path) != 0) {
        ttf_font_free(&h->ttf);
        struct aiops_error ignored = AIOPS_ERROR_INIT;
        h->ttf_unusable = ttf_font_load(&h->ttf, path, &ignored) != 0;
        snprintf(h->ttf_path, sizeof h->ttf_path, "%s", path);
    }
    if (h->ttf_unusable)
        return -1;
    struct buf font = BUF_INIT;
    int fd = -1;
    if (ttf_subset(&h->ttf, used, &font) == 0 && (fd = memfd_create("aiops-font", MFD_CLOEXEC)) >= 0 &&
        write(fd, font.data, font.len) != (ssize_t)font.len) {
        close(fd);
        fd = -1;
    }
    buf_free(&font);
    return fd;
}

/* The characters draw(arg) will draw, into used: the drawing run without a document, its
 * text noted (always with printable ASCII: page numbers, tick labels). */
static void note_document(const char *footer, pdfw_draw_fn *draw, void *arg, uint8_t *used)
{
    struct pdfw w;
    memset(&w, 0, sizeof w);
    w.used = used;
    for (unsigned cp = 0x20; cp < 0x7F; cp++)
        used[cp / 8] |= (uint8_t)(1u << (cp % 8));
    note_text(&w, footer);
    draw(&w, arg);
}

static _Atomic unsigned long subset_misses;

unsigned long pdfw_subset_misses(void)
{
    return subset_misses;
}

int pdfw_render(const char *title, const char *footer, pdfw_draw_fn *draw, void *arg,
                struct buf *out, struct aiops_error *err)
{
    char path[512];
    int rv = pdfw_find_font(path, sizeof path, err);
    if (rv != 0)
        return rv;
    struct pdfw_handle *h = thread_pdf_handle();
    uint8_t *used = calloc(8192, 1);
    if (h == NULL || used == NULL) {
        free(used);
        return aiops_error_set(err, AIOPS_ENOMEM, NULL, "out of memory");
    }
    note_document(footer, draw, arg, used);
    int fd = subset_font_file(h, path, used);
    struct pdfw w;
    if (fd >= 0) {
        char fdpath[64];
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
        rv = open_own(&w, title, fdpath);
        close(fd); /* libharu holds its own open file */
        if (rv == 0) {
            w.footer = footer;
            w.covered = used;
            draw(&w, arg);
            number_pages(&w);
            if (w.uncovered == 0) {
                free(used);
                return save_document(&w, out, err);
            }
            subset_misses++;
            pdfw_abort(&w);
        }
    }
    free(used);
    /* no subset: the whole font, as the thread's handle keeps it */
    if ((rv = pdfw_open(&w, title, err)) != 0)
        return rv;
    w.footer = footer;
    draw(&w, arg);
    return pdfw_finish(&w, out, err);
}
