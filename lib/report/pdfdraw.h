/* pdfdraw.h -- drawing a report with libharu: A4 pages with a header band and page numbers,
 * wrapped UTF-8 text in an embedded TrueType font (Korean included), tables, and vector
 * charts (lines, bars, heat maps) on axes.
 *
 * The font is a Korean TrueType font found at run time: REPORT_FONT (a .ttf path) when
 * set, else Debian's fonts-nanum (NanumGothic, installed by scripts/deps.sh); bold text is
 * that face filled and outlined, so one font is embedded (libharu embeds the glyphs the
 * document uses). Each thread keeps its libharu handle with the font parsed between
 * documents (freed when the thread ends).
 *
 * Coordinates are PDF points from the bottom left. A struct pdfw is used by one thread;
 * drawing calls never fail one by one: libharu's errors are recorded and pdfw_finish
 * reports the first. */
#ifndef AIOPS_REPORT_PDFDRAW_H
#define AIOPS_REPORT_PDFDRAW_H

#include <hpdf.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define PDFW_MAX_PAGES 64
#define PDFW_WIDTH 595.28f
#define PDFW_HEIGHT 841.89f
#define PDFW_MARGIN 50.0f

struct pdfw {
    HPDF_Doc doc;
    HPDF_Font font;
    HPDF_Page page;
    HPDF_Page pages[PDFW_MAX_PAGES];
    size_t npages;
    float y;                  /* where the next block goes (top down) */
    unsigned long hpdf_error; /* the first libharu error, 0 when none */
    uint8_t *used;            /* when not NULL, the code points drawn (a 65,536-bit map) */
    const uint8_t *covered;   /* when not NULL, the code points the font has (subset) */
    size_t uncovered;         /* characters drawn that covered lacks */
    int own_doc;              /* doc is this document's own handle (freed with it) */
    const char *footer;       /* left of the page number, borrowed */
    HPDF_Image band;          /* the header's gradient: one image every page draws */
};

/* A colour as 0..1 components. */
struct rgb {
    float r, g, b;
};

/* The font file: REPORT_FONT or the first fonts-nanum file present into path[cap].
 * AIOPS_ENOTFOUND (err says what to install) when none is. */
int pdfw_find_font(char *path, size_t cap, struct aiops_error *err);

/* Makes the TrueType font `font_name` (loaded into doc) look code points up in one step:
 * libharu 2.3 scans a cmap's segments one by one, and creating a UTF-8 font looks up all
 * 65,536 code points -- with NanumGothic's 3,832 segments, 60% of a report's time. The
 * parsed copy of the cmap is rewritten as one segment over a 65,535-entry glyph array
 * giving every code point the glyph it had; the embedded font is written from the file,
 * not from this copy. 1 when rewritten; 0 (nothing changed, lookups stay slow but right)
 * for another libharu version, a font that is not TrueType with a format-4 cmap, or no
 * memory. Call it after HPDF_LoadTTFontFromFile and before HPDF_GetFont. */
int pdfw_flatten_cmap(HPDF_Doc doc, const char *font_name);

/* A new document with the font loaded. AIOPS_ENOTFOUND without a font, AIOPS_ENOMEM. */
int pdfw_open(struct pdfw *w, const char *title, struct aiops_error *err);
/* Draws one document: draw(w, arg) makes its pages (pdfw_page and the drawing calls; it may
 * set nothing else but w->y), then each page gets its number and `footer` (borrowed), and the
 * PDF is appended to out. Drawn twice: first with the whole font, noting the characters
 * used; then with a subset font of just those glyphs (lib/report/ttfsubset.h), which is
 * what the PDF embeds -- a fraction of the bytes to compress and store. draw must draw the
 * same text both times. The first drawing has no document (its text is only noted, widths
 * are 0); a second drawing that draws a character the first did not is drawn again with the
 * whole font, as is every document when the font cannot be cut (not a TrueType font with
 * a Unicode cmap).
 * AIOPS_ENOTFOUND (no font), AIOPS_ENOMEM, AIOPS_ECORRUPT, AIOPS_EIO as pdfw_open/finish. */
typedef void pdfw_draw_fn(struct pdfw *w, void *arg);
int pdfw_render(const char *title, const char *footer, pdfw_draw_fn *draw, void *arg,
                struct buf *out, struct aiops_error *err);
/* How many documents so far drew a character their subset lacked (draw did not draw the
 * same text twice) and were drawn again with the whole font: 0 unless pdfdraw is wrong. */
unsigned long pdfw_subset_misses(void);

/* Adds page numbers ("n / N") and the footer to every page, writes the document into out
 * and frees it. AIOPS_EIO (err has libharu's code) when any drawing failed. */
int pdfw_finish(struct pdfw *w, struct buf *out, struct aiops_error *err);
/* Frees a document without writing it (after a failure). */
void pdfw_abort(struct pdfw *w);

/* A new page with a header band carrying `heading`; y goes below it. */
void pdfw_page(struct pdfw *w, const char *heading);
/* A new page when less than `height` points are left above the bottom margin. */
void pdfw_need(struct pdfw *w, float height, const char *heading);

/* One line of text at (x, y) (baseline), in size points, bold or not, coloured. */
void pdfw_text(struct pdfw *w, float x, float y, float size, int bold, struct rgb c,
               const char *text);
/* Width of text in the font at size points. */
float pdfw_text_width(struct pdfw *w, float size, int bold, const char *text);
/* Shortens text in place (at a character boundary) until it is at most width wide. */
void pdfw_fit(struct pdfw *w, char *text, float size, float width);
/* Text wrapped to width from the left margin at the current y, going down (new pages
 * as needed); y ends below it. */
void pdfw_paragraph(struct pdfw *w, float size, int bold, struct rgb c, float indent,
                    const char *text);
/* A section title at the current y. */
void pdfw_section(struct pdfw *w, const char *title);

/* A table from the left margin at the current y: ncols columns of the given widths, the
 * first row bold on a tinted band; cells[r * ncols + c] (NULL: empty). */
void pdfw_table(struct pdfw *w, size_t ncols, const float *widths, size_t nrows,
                const char *const *cells);

/* Charts. An axis box at (x, y) (bottom left) of w x h with the data ranges, ticks and
 * labels, and a title above it. */
struct pdfw_axes {
    float x, y, w, h;
    double x0, x1, y0, y1;
};
void pdfw_axes(struct pdfw *w, const struct pdfw_axes *a, const char *title, const char *xlabel,
               const char *ylabel);
/* A polyline of n points in data units on axes a; dashed or not. */
void pdfw_line(struct pdfw *w, const struct pdfw_axes *a, const double *xs, const double *ys,
               size_t n, struct rgb c, int dashed);
/* A legend entry (a short line and its label) at (x, y). */
void pdfw_legend(struct pdfw *w, float x, float y, struct rgb c, const char *label);
/* A filled rectangle, optionally outlined. */
void pdfw_rect(struct pdfw *w, float x, float y, float wd, float ht, struct rgb fill, int outline);
/* The colour of v in [-1, 1] on a blue - white - red scale. */
struct rgb pdfw_diverging(double v);

extern const struct rgb PDFW_BLACK, PDFW_GREY, PDFW_BLUE, PDFW_VIOLET, PDFW_RED, PDFW_GREEN,
    PDFW_ORANGE;

#endif
