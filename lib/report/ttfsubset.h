/* ttfsubset.h -- a TrueType font cut down to the glyphs of the code points a document draws,
 * renumbered, as PDF writers embed fonts: libharu 2.3 embeds a font's whole loca, hmtx and
 * cmap whatever it uses (NanumGothic: 20,138 glyphs), so a report carried 200 KB of font
 * tables to compress for a few hundred characters.
 *
 * The subset keeps each kept glyph's outline and advance width unchanged (text measures and
 * draws exactly as with the whole font); it holds glyph 0 (.notdef), the glyphs of the given
 * code points and every component of a composite among them. Tables: cmap (format 4), glyf,
 * loca (long), hmtx, hhea, maxp, head, post (version 3, no names) are written anew; OS/2 and
 * name are copied; the rest (kerning, layout) dropped.
 *
 * Hinting is dropped too (each glyph's instructions, cvt, fpgm, prep): it fits outlines to the
 * pixel grid at a few screen sizes, which PDF viewers, zooming freely, mostly leave off
 * (poppler renders through FreeType unhinted unless asked); NanumGothic's instructions were
 * 41% of a report's glyph bytes, and every byte embedded is a byte compressed.
 *
 * A struct ttf_font owns the file's bytes; it is read-only after ttf_font_load, so threads may
 * share one. Every offset read from the file is bounds-checked: a damaged or unsupported font
 * (no Windows Unicode format-4 cmap, a collection, CFF outlines) is AIOPS_ECORRUPT, never a
 * read past the data. */
#ifndef AIOPS_REPORT_TTFSUBSET_H
#define AIOPS_REPORT_TTFSUBSET_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct ttf_font {
    uint8_t *data; /* the whole file, owned */
    size_t len;
    uint16_t nglyphs, nmetrics; /* maxp.numGlyphs, hhea.numberOfHMetrics */
    int long_loca;              /* head.indexToLocFormat */
    size_t cmap4;               /* offset of the (3,1) or (0,3) format-4 subtable */
    size_t glyf, glyf_len, loca, hmtx, hmtx_len;
};

/* Reads and checks the font file at path. AIOPS_ENOTFOUND/AIOPS_EIO (err says), AIOPS_ENOMEM,
 * AIOPS_ECORRUPT (not a TrueType font this code can cut). On failure f holds nothing. */
int ttf_font_load(struct ttf_font *f, const char *path, struct aiops_error *err);
/* The same for a font already in memory: takes d[len] (malloc'ed) whatever the outcome; name
 * is what err calls it. */
int ttf_font_parse(struct ttf_font *f, uint8_t *d, size_t len, const char *name,
                   struct aiops_error *err);
void ttf_font_free(struct ttf_font *f);

/* The glyph of code point cp (0: none). */
uint16_t ttf_glyph(const struct ttf_font *f, uint32_t cp);

/* Appends to out the subset font for the code points whose bit is set in used (a bitmap of
 * 65,536 bits, bit cp % 8 of byte cp / 8). AIOPS_ENOMEM; AIOPS_ECORRUPT (a glyph's data is
 * out of its table). out may hold a partial font on failure: the caller drops it. */
int ttf_subset(const struct ttf_font *f, const uint8_t used[8192], struct buf *out);

#endif
