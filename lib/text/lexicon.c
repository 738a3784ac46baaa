/* lexicon.c -- see lexicon.h. Items point into the embedded bytes (nothing is copied);
 * each list is a sorted array searched by bisection. */
#include "text/lexicon.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct item {
    const char *s;
    size_t len;
};

struct lexicon {
    char name[64];
    struct item *items;
    size_t n, max_len;
    /* an open-addressing hash index over items (slot = item index + 1, 0 empty): the
     * tokenizer asks about every suffix of every word, so lookups must be O(1) */
    uint32_t *slots;
    size_t mask;
};

static uint32_t item_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static struct lexicon *all_lexicons;
static size_t all_count;
static pthread_once_t lexicons_once = PTHREAD_ONCE_INIT;

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int parse(struct lexicon *lex, const struct embedded_file *f)
{
    size_t lines = 1;
    for (unsigned long i = 0; i < f->len; i++)
        lines += f->data[i] == '\n';
    lex->items = malloc(lines * sizeof *lex->items);
    if (lex->items == NULL)
        return -1;
    const char *p = f->data, *end = f->data + f->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *a = p, *b = e;
        /* trim spaces, tabs and a CR (lists edited on any system) */
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (b > a && *a != '#') {
            lex->items[lex->n].s = a;
            lex->items[lex->n].len = (size_t)(b - a);
            if ((size_t)(b - a) > lex->max_len)
                lex->max_len = (size_t)(b - a);
            lex->n++;
        }
        p = nl ? nl + 1 : end;
    }
    qsort(lex->items, lex->n, sizeof *lex->items, item_cmp);
    /* drop repeated items (the upstream lists have a few) */
    size_t o = 0;
    for (size_t i = 0; i < lex->n; i++)
        if (o == 0 || item_cmp(&lex->items[o - 1], &lex->items[i]) != 0)
            lex->items[o++] = lex->items[i];
    lex->n = o;
    size_t cap = 16;
    while (cap < 2 * lex->n)
        cap *= 2;
    lex->slots = calloc(cap, sizeof *lex->slots);
    if (lex->slots == NULL)
        return -1;
    lex->mask = cap - 1;
    for (size_t i = 0; i < lex->n; i++) {
        size_t h = item_hash(lex->items[i].s, lex->items[i].len) & lex->mask;
        while (lex->slots[h] != 0)
            h = (h + 1) & lex->mask;
        lex->slots[h] = (uint32_t)i + 1;
    }
    return 0;
}

static void load_all(void)
{
    struct lexicon *l = calloc(text_lexicons_count ? text_lexicons_count : 1, sizeof *l);
    if (l == NULL)
        return;
    size_t n = 0;
    for (unsigned long i = 0; i < text_lexicons_count; i++) {
        const struct embedded_file *f = &text_lexicons[i];
        size_t len = strlen(f->name);
        if (len < 5 || strcmp(f->name + len - 4, ".txt") != 0 || len - 4 >= sizeof l[n].name)
            continue;
        memcpy(l[n].name, f->name, len - 4);
        if (parse(&l[n], f) != 0)
            break;
        n++;
    }
    all_lexicons = l;
    all_count = n;
}

const struct lexicon *lexicon_get(const char *name)
{
    pthread_once(&lexicons_once, load_all);
    for (size_t i = 0; name != NULL && i < all_count; i++)
        if (strcmp(all_lexicons[i].name, name) == 0)
            return &all_lexicons[i];
    return NULL;
}

int lexicon_has(const struct lexicon *lex, const char *s, size_t n)
{
    if (lex == NULL || n > lex->max_len)
        return 0;
    for (size_t h = item_hash(s, n) & lex->mask; lex->slots[h] != 0; h = (h + 1) & lex->mask) {
        const struct item *it = &lex->items[lex->slots[h] - 1];
        if (it->len == n && memcmp(it->s, s, n) == 0)
            return 1;
    }
    return 0;
}

size_t lexicon_size(const struct lexicon *lex)
{
    return lex ? lex->n : 0;
}

const char *lexicon_item(const struct lexicon *lex, size_t i, size_t *len)
{
    if (lex == NULL || i >= lex->n) {
        *len = 0;
        return NULL;
    }
    *len = lex->items[i].len;
    return lex->items[i].s;
}

size_t lexicon_max_len(const struct lexicon *lex)
{
    return lex ? lex->max_len : 0;
}
