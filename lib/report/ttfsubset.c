#include "report/ttfsubset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TrueType is big-endian throughout. */
static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* The table `tag`: its offset and length, checked to lie in the file; 0 when absent. */
static int find_table(const uint8_t *d, size_t len, const char *tag, size_t *off, size_t *tlen)
{
    size_t n = be16(d + 4);
    if (12 + 16 * n > len)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = d + 12 + 16 * i;
        if (memcmp(e, tag, 4) != 0)
            continue;
        size_t o = be32(e + 8), l = be32(e + 12);
        if (o > len || l > len - o)
            return 0;
        *off = o;
        *tlen = l;
        return 1;
    }
    return 0;
}

/* The Windows Unicode BMP (3,1) or Unicode (0,3) format-4 subtable, checked whole. */
static int find_cmap4(const uint8_t *d, size_t len, size_t cmap, size_t cmap_len, size_t *out)
{
    if (cmap_len < 4)
        return 0;
    size_t n = be16(d + cmap + 2);
    if (4 + 8 * n > cmap_len)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = d + cmap + 4 + 8 * i;
        uint16_t pid = be16(e), eid = be16(e + 2);
        size_t o = cmap + be32(e + 4);
        if (!((pid == 3 && eid == 1) || (pid == 0 && eid == 3)) || o + 14 > len ||
            be16(d + o) != 4)
            continue;
        size_t sublen = be16(d + o + 2), segs = be16(d + o + 6) / 2u;
        if (segs == 0 || o + sublen > len || 16 + 8 * segs > sublen)
            continue;
        *out = o;
        return 1;
    }
    return 0;
}

static int corrupt(struct aiops_error *err, const char *path, const char *why)
{
    return aiops_error_set(err, AIOPS_ECORRUPT, "REPORT_FONT", "%s: %s", path, why);
}

static int read_whole(const char *path, uint8_t **data, size_t *len, struct aiops_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return aiops_error_set(err, errno == ENOENT ? AIOPS_ENOTFOUND : AIOPS_EIO, "REPORT_FONT",
                               "%s cannot be read", path);
    long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    uint8_t *d = size > 0 && size < (64L << 20) ? malloc((size_t)size) : NULL;
    int ok = d != NULL && fseek(fp, 0, SEEK_SET) == 0 &&
             fread(d, 1, (size_t)size, fp) == (size_t)size;
    fclose(fp);
    if (!ok) {
        free(d);
        return size <= 0 || size >= (64L << 20) ? corrupt(err, path, "not a font of a sane size")
                                                : aiops_error_set(err, AIOPS_EIO, "REPORT_FONT",
                                                                  "%s cannot be read", path);
    }
    *data = d;
    *len = (size_t)size;
    return AIOPS_OK;
}

int ttf_font_parse(struct ttf_font *f, uint8_t *d, size_t len, const char *name,
                   struct aiops_error *err)
{
    memset(f, 0, sizeof *f);
    size_t head, head_len, maxp, maxp_len, hhea, hhea_len, cmap, cmap_len, loca, loca_len;
    if (len < 12 || be32(d) != 0x00010000u || !find_table(d, len, "head", &head, &head_len) ||
        head_len < 54 || !find_table(d, len, "maxp", &maxp, &maxp_len) || maxp_len < 6 ||
        !find_table(d, len, "hhea", &hhea, &hhea_len) || hhea_len < 36 ||
        !find_table(d, len, "cmap", &cmap, &cmap_len) ||
        !find_table(d, len, "loca", &loca, &loca_len) ||
        !find_table(d, len, "glyf", &f->glyf, &f->glyf_len) ||
        !find_table(d, len, "hmtx", &f->hmtx, &f->hmtx_len) ||
        !find_cmap4(d, len, cmap, cmap_len, &f->cmap4)) {
        free(d);
        memset(f, 0, sizeof *f);
        return corrupt(err, name, "not a TrueType font with a Unicode cmap");
    }
    f->nglyphs = be16(d + maxp + 4);
    f->nmetrics = be16(d + hhea + 34);
    f->long_loca = be16(d + head + 50) == 1;
    f->loca = loca;
    if (f->nglyphs == 0 || f->nmetrics == 0 || f->nmetrics > f->nglyphs ||
        loca_len < ((size_t)f->nglyphs + 1) * (f->long_loca ? 4u : 2u) ||
        f->hmtx_len < 4u * f->nmetrics + 2u * (size_t)(f->nglyphs - f->nmetrics)) {
        free(d);
        memset(f, 0, sizeof *f);
        return corrupt(err, name, "inconsistent glyph tables");
    }
    f->data = d;
    f->len = len;
    return AIOPS_OK;
}

int ttf_font_load(struct ttf_font *f, const char *path, struct aiops_error *err)
{
    memset(f, 0, sizeof *f);
    uint8_t *d = NULL;
    size_t len = 0;
    int rv = read_whole(path, &d, &len, err);
    return rv != 0 ? rv : ttf_font_parse(f, d, len, path, err);
}

void ttf_font_free(struct ttf_font *f)
{
    free(f->data);
    memset(f, 0, sizeof *f);
}

uint16_t ttf_glyph(const struct ttf_font *f, uint32_t cp)
{
    if (cp > 0xFFFF)
        return 0;
    const uint8_t *t = f->data + f->cmap4;
    size_t segs = be16(t + 6) / 2u, lo = 0, hi = segs;
    const uint8_t *ends = t + 14, *starts = ends + 2 * segs + 2, *deltas = starts + 2 * segs,
                  *ranges = deltas + 2 * segs;
    while (lo < hi) { /* the first segment whose end is >= cp */
        size_t mid = (lo + hi) / 2;
        if (be16(ends + 2 * mid) < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == segs || be16(starts + 2 * lo) > cp)
        return 0;
    uint16_t delta = be16(deltas + 2 * lo), range = be16(ranges + 2 * lo);
    if (range == 0)
        return (uint16_t)(cp + delta);
    /* idRangeOffset counts from its own place in the table */
    size_t at = (size_t)(ranges + 2 * lo - f->data) + range + 2 * (cp - be16(starts + 2 * lo));
    if (at + 2 > f->cmap4 + be16(t + 2))
        return 0;
    uint16_t g = be16(f->data + at);
    return g == 0 ? 0 : (uint16_t)(g + delta);
}

/* Glyph g's bytes in glyf: [*off, *off + *len). 0 when loca points outside the table. */
static int glyph_span(const struct ttf_font *f, uint16_t g, size_t *off, size_t *len)
{
    const uint8_t *l = f->data + f->loca;
    size_t a = f->long_loca ? be32(l + 4 * g) : 2u * be16(l + 2 * g);
    size_t b = f->long_loca ? be32(l + 4 * g + 4) : 2u * be16(l + 2 * g + 2);
    if (b < a || b > f->glyf_len)
        return 0;
    *off = f->glyf + a;
    *len = b - a;
    return 1;
}

/* Calls fn(arg, place of the glyph index) for each component of the composite glyph at
 * p[0..len) and, when last is not NULL, sets *last to the offset of the last component's flags
 * (its WE_HAVE_INSTRUCTIONS bit says instructions follow); 0 when the glyph is damaged. A
 * simple glyph has none (*last is then left alone). */
static int for_components(uint8_t *p, size_t len, void (*fn)(void *, uint8_t *), void *arg,
                          size_t *last)
{
    if (len < 10 || (int16_t)be16(p) >= 0)
        return 1;
    size_t at = 10;
    for (;;) {
        if (at + 4 > len)
            return 0;
        uint16_t flags = be16(p + at);
        if (fn)
            fn(arg, p + at + 2);
        if (last)
            *last = at;
        at += (flags & 0x0001) ? 8u : 6u; /* the index, then ARG_1_AND_2_ARE_WORDS */
        if (flags & 0x0008)                  /* WE_HAVE_A_SCALE */
            at += 2;
        else if (flags & 0x0040) /* WE_HAVE_AN_X_AND_Y_SCALE */
            at += 4;
        else if (flags & 0x0080) /* WE_HAVE_A_TWO_BY_TWO */
            at += 8;
        if (!(flags & 0x0020)) /* MORE_COMPONENTS */
            return at <= len;
    }
}

/* Appends glyph p[0..len) without its instructions (see the header for why): a simple
 * glyph's instructionLength becomes 0, a composite loses WE_HAVE_INSTRUCTIONS and what
 * followed its components. AIOPS_ECORRUPT when the lengths do not fit in the glyph. */
static int append_unhinted(struct buf *glyf, const uint8_t *p, size_t len)
{
    if (len < 10) /* an empty glyph (a space) */
        return buf_append(glyf, p, len) != 0 ? AIOPS_ENOMEM : AIOPS_OK;
    int16_t contours = (int16_t)be16(p);
    if (contours < 0) {
        size_t last = 0, start = glyf->len;
        if (!for_components((uint8_t *)p, len, NULL, NULL, &last))
            return AIOPS_ECORRUPT;
        uint16_t flags = be16(p + last);
        size_t end = last + ((flags & 0x0001) ? 8u : 6u) +
                     ((flags & 0x0008) ? 2u : (flags & 0x0040) ? 4u : (flags & 0x0080) ? 8u : 0u);
        if (buf_append(glyf, p, end) != 0)
            return AIOPS_ENOMEM;
        put16((uint8_t *)glyf->data + start + last, (uint16_t)(flags & ~0x0100u));
        return AIOPS_OK;
    }
    size_t at = 10 + 2u * (size_t)contours; /* endPtsOfContours, then instructionLength */
    if (at + 2 > len || at + 2 + be16(p + at) > len)
        return AIOPS_ECORRUPT;
    static const uint8_t none[2] = {0};
    size_t rest = at + 2 + be16(p + at);
    return buf_append(glyf, p, at) != 0 || buf_append(glyf, none, 2) != 0 ||
                   buf_append(glyf, p + rest, len - rest) != 0
               ? AIOPS_ENOMEM
               : AIOPS_OK;
}

struct keep {
    const struct ttf_font *f;
    int32_t *newid; /* old glyph -> new glyph, -1 when not kept */
    uint16_t *queue;
    size_t nqueue, nkept;
};

static void keep_glyph(struct keep *k, uint16_t g)
{
    if (g >= k->f->nglyphs || k->newid[g] >= 0)
        return;
    k->newid[g] = 0; /* numbered below, in old order */
    k->queue[k->nqueue++] = g;
    k->nkept++;
}

static void keep_component(void *arg, uint8_t *at)
{
    keep_glyph(arg, be16(at));
}

static void renumber_component(void *arg, uint8_t *at)
{
    const struct keep *k = arg;
    uint16_t g = be16(at);
    put16(at, g < k->f->nglyphs && k->newid[g] >= 0 ? (uint16_t)k->newid[g] : 0);
}

/* The next used code point from cp on (a bitmap walk that skips empty bytes), or 65536. */
static uint32_t next_used(const uint8_t used[8192], uint32_t cp)
{
    while (cp < 65536) {
        if (used[cp / 8] == 0) {
            cp = (cp / 8 + 1) * 8;
            continue;
        }
        if (used[cp / 8] & (1u << (cp % 8)))
            return cp;
        cp++;
    }
    return cp;
}

/* The kept glyphs: .notdef, those of the used code points, and their components. */
static int choose_glyphs(struct keep *k, const uint8_t used[8192])
{
    keep_glyph(k, 0);
    for (uint32_t cp = next_used(used, 0); cp < 65536; cp = next_used(used, cp + 1))
        keep_glyph(k, ttf_glyph(k->f, cp));
    for (size_t i = 0; i < k->nqueue; i++) { /* the queue grows as components are found */
        size_t off, len;
        if (!glyph_span(k->f, k->queue[i], &off, &len) ||
            !for_components(k->f->data + off, len, keep_component, k, NULL))
            return AIOPS_ECORRUPT;
    }
    int32_t next = 0;
    for (size_t g = 0; g < k->f->nglyphs; g++)
        if (k->newid[g] >= 0)
            k->newid[g] = next++;
    return AIOPS_OK;
}

struct table {
    char tag[5];
    int present; /* written, even when empty (a font of .notdef alone has no outlines) */
    struct buf data;
};

/* glyf, loca and hmtx of the kept glyphs, in new order. */
static int write_glyphs(const struct keep *k, struct table *glyf, struct table *loca,
                        struct table *hmtx)
{
    const struct ttf_font *f = k->f;
    const uint8_t *hm = f->data + f->hmtx;
    for (size_t g = 0; g < f->nglyphs; g++) {
        if (k->newid[g] < 0)
            continue;
        uint8_t off4[4], metric[4];
        put32(off4, (uint32_t)glyf->data.len);
        size_t off, len;
        if (!glyph_span(f, (uint16_t)g, &off, &len))
            return AIOPS_ECORRUPT;
        size_t at = glyf->data.len;
        static const uint8_t pad[4] = {0};
        if (buf_append(&loca->data, off4, 4) != 0)
            return AIOPS_ENOMEM;
        int rv = append_unhinted(&glyf->data, f->data + off, len);
        if (rv != 0)
            return rv;
        size_t written = glyf->data.len - at;
        if (buf_append(&glyf->data, pad, (4 - written % 4) % 4) != 0)
            return AIOPS_ENOMEM;
        if (!for_components((uint8_t *)glyf->data.data + at, written, renumber_component,
                            (void *)k, NULL))
            return AIOPS_ECORRUPT;
        size_t m = g < f->nmetrics ? g : f->nmetrics - 1u;
        memcpy(metric, hm + 4 * m, 2); /* advance width */
        if (g < f->nmetrics)
            memcpy(metric + 2, hm + 4 * g + 2, 2);
        else
            memcpy(metric + 2, hm + 4u * f->nmetrics + 2 * (g - f->nmetrics), 2);
        if (buf_append(&hmtx->data, metric, 4) != 0)
            return AIOPS_ENOMEM;
    }
    uint8_t end[4];
    put32(end, (uint32_t)glyf->data.len);
    return buf_append(&loca->data, end, 4) != 0 ? AIOPS_ENOMEM : AIOPS_OK;
}

/* A format-4 cmap of the used code points: one segment per run of consecutive code points
 * with consecutive glyphs (idDelta), then the closing 0xFFFF segment. */
static int write_cmap(const struct keep *k, const uint8_t used[8192], struct table *cmap)
{
    size_t most = 1; /* segments at most: one per used code point, and the closing one */
    for (size_t b = 0; b < 8192; b++)
        most += (size_t)__builtin_popcount(used[b]);
    uint16_t *start = malloc(most * sizeof *start), *end = malloc(most * sizeof *end);
    int16_t *delta = malloc(most * sizeof *delta);
    size_t n = 0;
    int rv = start && end && delta ? AIOPS_OK : AIOPS_ENOMEM;
    for (uint32_t cp = next_used(used, 0); rv == 0 && cp < 0xFFFF; cp = next_used(used, cp + 1)) {
        uint16_t g = ttf_glyph(k->f, cp);
        if (g == 0 || g >= k->f->nglyphs || k->newid[g] < 0)
            continue;
        uint16_t ng = (uint16_t)k->newid[g];
        if (n > 0 && end[n - 1] + 1u == cp && (uint16_t)(cp + (uint16_t)delta[n - 1]) == ng) {
            end[n - 1] = (uint16_t)cp;
            continue;
        }
        start[n] = end[n] = (uint16_t)cp;
        delta[n++] = (int16_t)(uint16_t)(ng - cp);
    }
    if (rv == 0) {
        start[n] = end[n] = 0xFFFF;
        delta[n++] = 1;
        size_t sublen = 16 + 8 * n, pow2 = 1, log2 = 0;
        while (pow2 * 2 <= n)
            pow2 *= 2, log2++;
        rv = buf_reserve(&cmap->data, 12 + sublen);
        if (rv == 0) {
            uint8_t *p = (uint8_t *)cmap->data.data;
            memset(p, 0, 12 + sublen);
            put16(p + 2, 1); /* one subtable: (3,1) at 12 */
            put16(p + 4, 3);
            put16(p + 6, 1);
            put32(p + 8, 12);
            uint8_t *s = p + 12;
            put16(s, 4);
            put16(s + 2, (uint16_t)sublen);
            put16(s + 6, (uint16_t)(2 * n));
            put16(s + 8, (uint16_t)(2 * pow2));
            put16(s + 10, (uint16_t)log2);
            put16(s + 12, (uint16_t)(2 * n - 2 * pow2));
            for (size_t i = 0; i < n; i++) {
                put16(s + 14 + 2 * i, end[i]);
                put16(s + 16 + 2 * n + 2 * i, start[i]);
                put16(s + 16 + 4 * n + 2 * i, (uint16_t)delta[i]);
                /* idRangeOffset 0: left zero by the memset */
            }
            cmap->data.len = 12 + sublen;
        }
    }
    free(start);
    free(end);
    free(delta);
    return rv;
}

/* A table copied from the font (at least min_len bytes); an absent one stays empty and is
 * left out. */
static int copy_table(const struct ttf_font *f, const char *tag, struct table *t, size_t min_len)
{
    size_t off, len;
    snprintf(t->tag, sizeof t->tag, "%s", tag);
    if (!find_table(f->data, f->len, tag, &off, &len))
        return AIOPS_OK;
    if (len < min_len)
        return AIOPS_ECORRUPT;
    t->present = 1;
    return buf_append(&t->data, f->data + off, len) != 0 ? AIOPS_ENOMEM : AIOPS_OK;
}

static uint32_t table_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint8_t w[4] = {0};
        memcpy(w, p + i, len - i < 4 ? len - i : 4);
        sum += be32(w);
    }
    return sum;
}

/* The font file: the offset table, the directory (tags sorted) and the tables, each padded
 * to four bytes. */
static int write_font(struct table *t, size_t n, struct buf *out)
{
    size_t count = 0, pow2 = 1, log2 = 0;
    for (size_t i = 0; i < n; i++)
        count += t[i].present ? 1u : 0u;
    while (pow2 * 2 <= count)
        pow2 *= 2, log2++;
    uint8_t head[12];
    put32(head, 0x00010000u);
    put16(head + 4, (uint16_t)count);
    put16(head + 6, (uint16_t)(16 * pow2));
    put16(head + 8, (uint16_t)log2);
    put16(head + 10, (uint16_t)(16 * count - 16 * pow2));
    if (buf_append(out, head, 12) != 0)
        return AIOPS_ENOMEM;
    size_t at = 12 + 16 * count;
    for (size_t i = 0; i < n; i++) { /* t is in tag order */
        if (!t[i].present)
            continue;
        uint8_t e[16];
        memcpy(e, t[i].tag, 4);
        put32(e + 4, table_checksum((const uint8_t *)t[i].data.data, t[i].data.len));
        put32(e + 8, (uint32_t)at);
        put32(e + 12, (uint32_t)t[i].data.len);
        if (buf_append(out, e, 16) != 0)
            return AIOPS_ENOMEM;
        at += (t[i].data.len + 3) & ~(size_t)3;
    }
    static const uint8_t pad[4] = {0};
    for (size_t i = 0; i < n; i++)
        if (t[i].present && (buf_append(out, t[i].data.data, t[i].data.len) != 0 ||
                                  buf_append(out, pad, (4 - t[i].data.len % 4) % 4) != 0))
            return AIOPS_ENOMEM;
    return AIOPS_OK;
}

int ttf_subset(const struct ttf_font *f, const uint8_t used[8192], struct buf *out)
{
    /* in tag order, as the directory lists them */
    enum { OS2, CMAP, GLYF, HEAD, HHEA, HMTX, LOCA, MAXP, NAME, POST, NT };
    static const char *const tags[NT] = {"OS/2", "cmap", "glyf", "head", "hhea",
                                         "hmtx", "loca", "maxp", "name", "post"};
    struct table t[NT];
    for (size_t i = 0; i < NT; i++) {
        snprintf(t[i].tag, sizeof t[i].tag, "%s", tags[i]);
        t[i].present = i == CMAP || i == GLYF || i == LOCA || i == HMTX; /* written anew */
        t[i].data = (struct buf)BUF_INIT;
    }
    struct keep k = {f, malloc(f->nglyphs * sizeof *k.newid),
                     malloc(f->nglyphs * sizeof *k.queue), 0, 0};
    int rv = k.newid && k.queue ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0) {
        memset(k.newid, 0xFF, f->nglyphs * sizeof *k.newid);
        rv = choose_glyphs(&k, used);
    }
    if (rv == 0)
        rv = write_glyphs(&k, &t[GLYF], &t[LOCA], &t[HMTX]);
    if (rv == 0)
        rv = write_cmap(&k, used, &t[CMAP]);
    static const size_t copied[] = {OS2, NAME, HEAD, HHEA, MAXP, POST};
    static const size_t min_len[] = {0, 0, 54, 36, 6, 32};
    for (size_t i = 0; rv == 0 && i < sizeof copied / sizeof copied[0]; i++)
        rv = copy_table(f, tags[copied[i]], &t[copied[i]], min_len[i]);
    if (rv == 0 && (!t[HEAD].present || !t[HHEA].present || !t[MAXP].present))
        rv = AIOPS_ECORRUPT;
    if (rv == 0) {
        uint16_t kept = (uint16_t)k.nkept;
        put32((uint8_t *)t[HEAD].data.data + 8, 0); /* checkSumAdjustment: not kept up */
        put16((uint8_t *)t[HEAD].data.data + 50, 1); /* long loca */
        put16((uint8_t *)t[HHEA].data.data + 34, kept);
        put16((uint8_t *)t[MAXP].data.data + 4, kept);
        if (t[MAXP].data.len >= 28) /* version 1.0: maxSizeOfInstructions */
            put16((uint8_t *)t[MAXP].data.data + 26, 0);
        if (t[POST].present) { /* version 3: no glyph names (they were by old ids) */
            t[POST].data.len = 32;
            put32((uint8_t *)t[POST].data.data, 0x00030000u);
        }
        rv = write_font(t, NT, out);
    }
    for (size_t i = 0; i < NT; i++)
        buf_free(&t[i].data);
    free(k.newid);
    free(k.queue);
    return rv;
}
