/* callfeat.c -- see callfeat.h. */
#include "ml/callfeat.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/encode.h"
#include "text/featurize.h"
#include "text/lexicon.h"
#include "text/normalize.h"

#define TOP_NOUNS 5

static size_t cp_count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0u) != 0x80u;
    return k;
}

static int is_space_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The speaker a tag names; -1 when it is not a tag. */
static int speaker_of(const char *s, size_t n)
{
    static const struct {
        const char *tag;
        enum call_speaker who;
    } tags[] = {{"상담사", CALL_COUNSELOR},
                {"상담원", CALL_COUNSELOR},
                {"고객", CALL_CUSTOMER},
                {"고객님", CALL_CUSTOMER}};
    while (n > 0 && is_space_byte(s[n - 1]))
        n--;
    for (size_t k = 0; k < sizeof tags / sizeof tags[0]; k++)
        if (strlen(tags[k].tag) == n && memcmp(tags[k].tag, s, n) == 0)
            return (int)tags[k].who;
    return -1;
}

int call_turns(const char *content, size_t len, struct call_turn **turns, size_t *n,
               struct aiops_error *err)
{
    *turns = NULL;
    *n = 0;
    size_t bad = 0;
    if (!utf8_valid(content, len, &bad))
        return aiops_error_set(err, AIOPS_EPARSE, "consulting_content",
                               "consulting_content is not valid UTF-8 (byte %zu)", bad);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += content[i] == '\n';
    struct call_turn *t = calloc(lines, sizeof *t);
    if (t == NULL)
        return AIOPS_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(content + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - content) : len;
        size_t a = i, b = e;
        while (a < b && is_space_byte(content[a]))
            a++;
        while (b > a && is_space_byte(content[b - 1]))
            b--;
        enum call_speaker who = CALL_UNKNOWN;
        /* a tag is a short prefix before ':' */
        const char *colon = memchr(content + a, ':', b - a < 24 ? b - a : 24);
        if (colon != NULL) {
            int s = speaker_of(content + a, (size_t)(colon - (content + a)));
            if (s >= 0) {
                who = (enum call_speaker)s;
                a = (size_t)(colon - content) + 1;
                while (a < b && is_space_byte(content[a]))
                    a++;
            }
        }
        if (b > a)
            t[k++] = (struct call_turn){who, content + a, b - a};
        i = e + 1;
    }
    *turns = t;
    *n = k;
    return 0;
}

/* --- words ------------------------------------------------------------------------------- */

static int is_ascii_punct(unsigned char c)
{
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

/* Calls fn for each word of normalised text s (ASCII punctuation trimmed from its ends). */
static void for_words(const char *s, size_t n, void (*fn)(void *ctx, const char *w, size_t len),
                      void *ctx)
{
    for (size_t at = 0, a, b; text_next_word(s, n, &at, &a, &b);) {
        while (a < b && is_ascii_punct((unsigned char)s[a]))
            a++;
        while (b > a && is_ascii_punct((unsigned char)s[b - 1]))
            b--;
        if (b > a)
            fn(ctx, s + a, b - a);
    }
}

/* 1 when w ends with an item of lex (the whole word included). */
static int ends_with_item(const struct lexicon *lex, const char *w, size_t n)
{
    size_t maxl = lexicon_max_len(lex);
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)w[i] & 0xC0u) == 0x80u || n - i > maxl)
            continue;
        if (lexicon_has(lex, w + i, n - i))
            return 1;
    }
    return 0;
}

/* 1 when w starts with an item of lex. */
static int starts_with_item(const struct lexicon *lex, const char *w, size_t n)
{
    size_t maxl = lexicon_max_len(lex);
    for (size_t e = 1; e <= n && e <= maxl; e++) {
        if (e < n && ((unsigned char)w[e] & 0xC0u) == 0x80u)
            continue;
        if (lexicon_has(lex, w, e))
            return 1;
    }
    return 0;
}

/* s without its spaces, into out (reset first). */
static int squeeze(const char *s, size_t n, struct buf *out)
{
    buf_reset(out);
    int rv = buf_reserve(out, n + 1);
    for (size_t i = 0; rv == 0 && i < n; i++)
        if (s[i] != ' ')
            out->data[out->len++] = s[i];
    if (rv == 0)
        out->data[out->len] = '\0';
    return rv;
}

/* 1 when the squeezed turn contains a squeezed item of lex. */
static int contains_phrase(const struct lexicon *lex, const char *squeezed, struct buf *tmp)
{
    for (size_t k = 0; k < lexicon_size(lex); k++) {
        size_t len;
        const char *item = lexicon_item(lex, k, &len);
        if (squeeze(item, len, tmp) != 0)
            return 0;
        if (tmp->len > 0 && strstr(squeezed, tmp->data) != NULL)
            return 1;
    }
    return 0;
}

struct noun {
    const char *s;
    size_t len, count, first;
};

struct word_stats {
    size_t words, positive, negative, honorific_words, order;
    struct noun *nouns;
    size_t nnouns, cap;
    int failed;
};

static void count_word(void *ctx, const char *w, size_t n)
{
    struct word_stats *W = ctx;
    W->words++;
    W->positive += (size_t)starts_with_item(lexicon_get("positive"), w, n);
    W->negative += (size_t)starts_with_item(lexicon_get("negative"), w, n);
    W->honorific_words += (size_t)ends_with_item(lexicon_get("honorific"), w, n);
    /* the word itself when it is a noun ("복지", not 복 + the particle 지), else its stem */
    const struct lexicon *nouns = lexicon_get("nouns");
    size_t stem = n;
    if (!lexicon_has(nouns, w, n)) {
        stem = text_stem(w, n);
        stem = lexicon_has(nouns, w, stem) ? stem : 0;
    }
    if (stem == 0 || cp_count(w, stem) < 2)
        return;
    for (size_t k = 0; k < W->nnouns; k++)
        if (W->nouns[k].len == stem && memcmp(W->nouns[k].s, w, stem) == 0) {
            W->nouns[k].count++;
            return;
        }
    if (W->nnouns == W->cap) {
        size_t nc = W->cap ? 2 * W->cap : 16;
        struct noun *nn = realloc(W->nouns, nc * sizeof *nn);
        if (nn == NULL) {
            W->failed = 1;
            return;
        }
        W->nouns = nn;
        W->cap = nc;
    }
    W->nouns[W->nnouns++] = (struct noun){w, stem, 1, W->order++};
}

static int noun_cmp(const void *a, const void *b)
{
    const struct noun *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

static size_t count_runs(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c && (i == 0 || s[i - 1] != c);
    return k;
}

/* The word before "입니다" in s when it names a place (see callfeat.h); NULL otherwise. */
static json_t *place_of(const char *s, size_t n)
{
    static const char *const suffixes[] = {"청", "센터", "은행", "공단", "사무소", "지점", "원",
                                           "소", "관",   "서",   "실",   "사",     "부",   "과"};
    const char *ending = "입니다";
    size_t el = strlen(ending);
    for (size_t i = 0; i + el <= n; i++) {
        if (memcmp(s + i, ending, el) != 0)
            continue;
        size_t a = i;
        while (a > 0 && s[a - 1] != ' ')
            a--;
        while (a < i && is_ascii_punct((unsigned char)s[a]))
            a++;
        if (a == i)
            continue;
        for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
            size_t sl = strlen(suffixes[k]);
            if (i - a > sl && memcmp(s + i - sl, suffixes[k], sl) == 0)
                return json_stringn(s + a, i - a);
        }
    }
    return NULL;
}

static json_t *sentiment_json(const struct sentiment *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "overall_sentiment", json_real(s->overall));
    char key[32];
    for (int k = 0; k < 5; k++) {
        snprintf(key, sizeof key, "emo_%d_star_score", k + 1);
        json_object_set_new(o, key, json_real(s->star[k]));
    }
    json_object_set_new(o, "sent_label", json_string(s->label));
    return o;
}

const char *call_instruction(const json_t *instructions, const char *category)
{
    size_t i, j;
    const json_t *ins, *d;
    if (json_is_array(instructions))
        json_array_foreach(instructions, i, ins)
        {
            json_array_foreach(json_object_get(ins, "data"), j, d)
            {
                const char *cat = json_string_value(json_object_get(d, "task_category"));
                const char *out = json_string_value(json_object_get(d, "output"));
                if (cat != NULL && out != NULL && strcmp(cat, category) == 0)
                    return out;
            }
        }
    return NULL;
}

int call_session_id_valid(const char *id)
{
    size_t n = 0;
    for (; id[n] != '\0'; n++)
        if (n == CALL_SESSION_ID_MAX ||
            !((id[n] >= 'A' && id[n] <= 'Z') || (id[n] >= 'a' && id[n] <= 'z') ||
              (id[n] >= '0' && id[n] <= '9') || id[n] == '-' || id[n] == '_'))
            return 0;
    return n > 0;
}

int call_session_read(const json_t *obj, const char *id, struct call_session *out,
                      struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return aiops_error_set(err, AIOPS_EINVAL, "data", "a session must be an object");
    const json_t *jid = json_object_get(obj, "session_id");
    const char *own = json_string_value(jid);
    if (jid != NULL && own == NULL)
        return aiops_error_set(err, AIOPS_EINVAL, "session_id", "session_id must be text");
    out->session_id = id ? id : own;
    if (out->session_id == NULL)
        return aiops_error_set(err, AIOPS_EINVAL, "session_id", "session_id is required");
    if (!call_session_id_valid(out->session_id))
        return aiops_error_set(err, AIOPS_EINVAL, "session_id",
                               "session_id must be 1 to %d characters of A-Z a-z 0-9 - _",
                               CALL_SESSION_ID_MAX);
    if (id != NULL && own != NULL && strcmp(id, own) != 0)
        return aiops_error_set(err, AIOPS_EINVAL, "session_id",
                               "data.session_id differs from the request's session_id");
    const json_t *content = json_object_get(obj, "consulting_content");
    if (content == NULL)
        return aiops_error_set(err, AIOPS_EINVAL, "consulting_content",
                               "consulting_content is required");
    if (!json_is_string(content))
        return aiops_error_set(err, AIOPS_EINVAL, "consulting_content",
                               "consulting_content must be text");
    out->content = json_string_value(content);
    out->content_len = json_string_length(content);
    size_t points = 0;
    for (size_t i = 0; i < out->content_len; i++) /* jansson keeps strings valid UTF-8 */
        points += ((unsigned char)out->content[i] & 0xC0) != 0x80;
    if (points > CALL_CONTENT_MAX)
        return aiops_error_set(err, AIOPS_EINVAL, "consulting_content",
                               "consulting_content has %zu characters; at most %d are accepted",
                               points, CALL_CONTENT_MAX);
    const json_t *ins = json_object_get(obj, "instructions");
    if (ins != NULL && !json_is_null(ins) && !json_is_array(ins))
        return aiops_error_set(err, AIOPS_EINVAL, "instructions",
                               "instructions must be an array of {tuning_type, data}");
    out->instructions = json_is_array(ins) ? ins : NULL;
    out->outcome = call_instruction(out->instructions, "상담 결과");
    return AIOPS_OK;
}

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *categories_json(const json_t *instructions, json_t *place)
{
    json_t *o = json_object();
    json_object_set_new(o, "mid_category",
                        text_or_null(call_instruction(instructions, "상담 주제")));
    json_object_set_new(o, "content_category",
                        text_or_null(call_instruction(instructions, "상담 내용")));
    json_object_set_new(o, "rec_place", place ? place : json_null());
    return o;
}

/* The outcome model's columns: where each is in call_features' object. */
static const struct {
    const char *column, *group, *sub, *key;
} row_columns[] = {
    {"speech_count", "basic_stats", NULL, "speech_count"},
    {"avg_sentence_length", "basic_stats", NULL, "avg_sentence_length"},
    {"total_characters", "basic_stats", NULL, "total_characters"},
    {"counselor_count", "basic_stats", NULL, "counselor_count"},
    {"customer_count", "basic_stats", NULL, "customer_count"},
    {"unknown_count", "basic_stats", NULL, "unknown_count"},
    {"overall_sentiment", "sentiment_analysis", NULL, "overall_sentiment"},
    {"emo_1_star_score", "sentiment_analysis", NULL, "emo_1_star_score"},
    {"emo_2_star_score", "sentiment_analysis", NULL, "emo_2_star_score"},
    {"emo_3_star_score", "sentiment_analysis", NULL, "emo_3_star_score"},
    {"emo_4_star_score", "sentiment_analysis", NULL, "emo_4_star_score"},
    {"emo_5_star_score", "sentiment_analysis", NULL, "emo_5_star_score"},
    {"sent_label", "sentiment_analysis", NULL, "sent_label"},
    {"counselor_sentiment", "sentiment_analysis", "counselor", "overall_sentiment"},
    {"customer_sentiment", "sentiment_analysis", "customer", "overall_sentiment"},
    {"honorific_ratio", "text_features", NULL, "honorific_ratio"},
    {"positive_word_ratio", "text_features", NULL, "positive_word_ratio"},
    {"negative_word_ratio", "text_features", NULL, "negative_word_ratio"},
    {"question_count", "text_features", NULL, "question_count"},
    {"exclamation_count", "text_features", NULL, "exclamation_count"},
    {"script_phrase_ratio", "dialogue_patterns", NULL, "script_phrase_ratio"},
    {"confirmation_ratio", "dialogue_patterns", NULL, "confirmation_ratio"},
    {"empathy_ratio", "dialogue_patterns", NULL, "empathy_ratio"},
    {"apology_ratio", "dialogue_patterns", NULL, "apology_ratio"},
    {"solution_offer_count", "dialogue_patterns", NULL, "solution_offer_count"},
    {"mid_category", "categories", NULL, "mid_category"},
    {"content_category", "categories", NULL, "content_category"},
    {"rec_place", "categories", NULL, "rec_place"},
};

size_t call_row_columns(const char **names, size_t cap)
{
    size_t n = sizeof row_columns / sizeof row_columns[0];
    for (size_t i = 0; i < n && i < cap; i++)
        names[i] = row_columns[i].column;
    return n;
}

json_t *call_feature_row(const json_t *features)
{
    json_t *row = json_object();
    for (size_t i = 0; row != NULL && i < sizeof row_columns / sizeof row_columns[0]; i++) {
        const json_t *v = json_object_get(features, row_columns[i].group);
        if (row_columns[i].sub != NULL)
            v = json_object_get(v, row_columns[i].sub);
        v = json_object_get(v, row_columns[i].key);
        if (json_object_set_new(row, row_columns[i].column,
                                v ? json_incref((json_t *)v) : json_null()) != 0) {
            json_decref(row);
            row = NULL;
        }
    }
    return row;
}

/* Appends a turn to a speaker's whole text, a space between turns. */
static int append_turn(struct buf *b, const char *s, size_t n)
{
    if (b->len > 0 && buf_putc(b, ' ') != 0)
        return AIOPS_ENOMEM;
    return buf_append(b, s, n) != 0 ? AIOPS_ENOMEM : 0;
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

int call_features(const char *content, size_t len, const json_t *instructions,
                  const struct sentiment_model *sm, json_t **out, struct aiops_error *err)
{
    *out = NULL;
    struct call_turn *turns = NULL;
    size_t n = 0;
    int rv = call_turns(content, len, &turns, &n, err);
    if (rv != 0)
        return rv;
    /* each turn normalised, side by side in one buffer */
    struct buf norm = BUF_INIT, sq = BUF_INIT, tmp = BUF_INIT;
    size_t *off = calloc(n + 1, sizeof *off);
    struct buf whole[3] = {BUF_INIT, BUF_INIT, BUF_INIT}; /* all, counselor, customer */
    struct word_stats W = {0};
    if (off == NULL)
        rv = AIOPS_ENOMEM;
    size_t chars = 0, per[3] = {0, 0, 0}, honorific_turns = 0, questions = 0, excls = 0;
    size_t tagged = 0;
    for (size_t i = 0; rv == 0 && i < n; i++) {
        off[i] = norm.len;
        rv = text_normalize(turns[i].text, turns[i].len, &norm, NULL);
        per[turns[i].speaker]++;
        tagged += turns[i].speaker != CALL_UNKNOWN;
        chars += cp_count(turns[i].text, turns[i].len);
    }
    if (rv == 0)
        off[n] = norm.len;
    size_t pattern_turns = 0, script = 0, confirm = 0, empathy = 0, apology = 0, solution = 0;
    json_t *place = NULL;
    for (size_t i = 0; rv == 0 && i < n; i++) {
        const char *s = norm.data + off[i];
        size_t sl = off[i + 1] - off[i];
        size_t before = W.honorific_words;
        for_words(s, sl, count_word, &W);
        honorific_turns += W.honorific_words > before;
        questions += count_runs(s, sl, '?');
        excls += count_runs(s, sl, '!');
        int slot = turns[i].speaker == CALL_COUNSELOR  ? 1
                   : turns[i].speaker == CALL_CUSTOMER ? 2
                                                       : 0;
        rv = append_turn(&whole[0], s, sl);
        if (rv == 0 && slot != 0)
            rv = append_turn(&whole[slot], s, sl);
        if (rv != 0)
            break;
        int counselor_turn = tagged ? turns[i].speaker == CALL_COUNSELOR : 1;
        if (!counselor_turn)
            continue;
        if (place == NULL && pattern_turns == 0)
            place = place_of(s, sl);
        pattern_turns++;
        if ((rv = squeeze(s, sl, &sq)) != 0)
            break;
        script += (size_t)contains_phrase(lexicon_get("script"), sq.data, &tmp);
        confirm += (size_t)contains_phrase(lexicon_get("confirmation"), sq.data, &tmp);
        empathy += (size_t)contains_phrase(lexicon_get("empathy"), sq.data, &tmp);
        apology += (size_t)contains_phrase(lexicon_get("apology"), sq.data, &tmp);
        solution += (size_t)contains_phrase(lexicon_get("solution"), sq.data, &tmp);
    }
    if (W.failed)
        rv = AIOPS_ENOMEM;
    json_t *o = NULL;
    if (rv == 0) {
        o = json_object();
        json_t *basic = json_pack(
            "{s:I, s:f, s:I, s:I, s:I, s:I}", "speech_count", (json_int_t)n, "avg_sentence_length",
            n ? (double)chars / (double)n : 0.0, "total_characters", (json_int_t)chars,
            "counselor_count", (json_int_t)per[CALL_COUNSELOR], "customer_count",
            (json_int_t)per[CALL_CUSTOMER], "unknown_count", (json_int_t)per[CALL_UNKNOWN]);
        json_object_set_new(o, "basic_stats", basic);
        json_t *sent = json_null();
        if (sm != NULL) {
            const char *texts[3];
            size_t lens[3];
            for (int w = 0; w < 3; w++) {
                texts[w] = whole[w].len ? whole[w].data : NULL;
                lens[w] = whole[w].len;
            }
            texts[0] = whole[0].data ? whole[0].data : "";
            struct sentiment s[3];
            if ((rv = sentiment_score(sm, texts, lens, 3, s)) == 0) {
                json_decref(sent);
                sent = sentiment_json(&s[0]);
                json_object_set_new(sent, "counselor",
                                    whole[1].len ? sentiment_json(&s[1]) : json_null());
                json_object_set_new(sent, "customer",
                                    whole[2].len ? sentiment_json(&s[2]) : json_null());
            }
        }
        json_object_set_new(o, "sentiment_analysis", sent);
        if (W.nnouns > 1) /* qsort must not see the NULL of an empty list */
            qsort(W.nouns, W.nnouns, sizeof *W.nouns, noun_cmp);
        json_t *top = json_array();
        for (size_t k = 0; k < W.nnouns && k < TOP_NOUNS; k++)
            json_array_append_new(top, json_stringn(W.nouns[k].s, W.nouns[k].len));
        json_object_set_new(
            o, "text_features",
            json_pack("{s:o, s:f, s:f, s:f, s:I, s:I}", "top_nouns", top, "honorific_ratio",
                      ratio(honorific_turns, n), "positive_word_ratio", ratio(W.positive, W.words),
                      "negative_word_ratio", ratio(W.negative, W.words), "question_count",
                      (json_int_t)questions, "exclamation_count", (json_int_t)excls));
        json_object_set_new(o, "dialogue_patterns",
                            json_pack("{s:f, s:f, s:f, s:f, s:I}", "script_phrase_ratio",
                                      ratio(script, pattern_turns), "confirmation_ratio",
                                      ratio(confirm, pattern_turns), "empathy_ratio",
                                      ratio(empathy, pattern_turns), "apology_ratio",
                                      ratio(apology, pattern_turns), "solution_offer_count",
                                      (json_int_t)solution));
        json_object_set_new(o, "categories", categories_json(instructions, place));
        place = NULL;
        if (rv != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    json_decref(place);
    free(W.nouns);
    for (int w = 0; w < 3; w++)
        buf_free(&whole[w]);
    buf_free(&norm);
    buf_free(&sq);
    buf_free(&tmp);
    free(off);
    free(turns);
    *out = o;
    return rv;
}
