/* callfeat.h -- the features of a counseling call (seed 004's extracted_features) from its
 * transcript: `consulting_content`, one turn a line, "상담사: ..." / "고객: ..." (also
 * "상담원", "고객님"; a line without a known tag is a turn of an unknown speaker), and the
 * session's `instructions` (for the categories).
 *
 *   basic_stats        speech_count (turns: non-empty lines), avg_sentence_length (code
 *                      points per turn, tags excluded), total_characters (code points of
 *                      the turns), counselor_count, customer_count, unknown_count
 *   sentiment_analysis the shipped model (lib/ml/sentiment.h) on the whole dialogue:
 *                      overall_sentiment, emo_1_star_score .. emo_5_star_score, sent_label;
 *                      the same per speaker under "counselor" and "customer" (null without
 *                      turns of that speaker); the whole object null without a model
 *   text_features      top_nouns (up to 5 nouns of data/lexicons/nouns.txt, particles
 *                      stripped, at least 2 code points, most frequent first, ties by first
 *                      use), honorific_ratio (turns with a word ending in an honorific
 *                      ending / turns), positive_word_ratio and negative_word_ratio (words
 *                      starting with a listed word / words), question_count and
 *                      exclamation_count (runs of '?' / '!'; full-width ones too)
 *   dialogue_patterns  over the counselor's turns (every turn when no line is tagged):
 *                      script_phrase_ratio, confirmation_ratio, empathy_ratio,
 *                      apology_ratio (turns containing a listed phrase / turns, spaces
 *                      ignored), solution_offer_count (turns offering a solution)
 *   categories         mid_category / content_category: the `output` of the instruction
 *                      data whose task_category is "상담 주제" / "상담 내용"; rec_place: the
 *                      word before "입니다" in the counselor's first turn ("광진구청입니다"),
 *                      when it names a place (ends in 청, 센터, 은행, 공단, 사무소, 지점,
 *                      원, 소, 관, 서, 실, 사, 부, 과); null when absent
 * Ratios are 0 when their denominator is. Text is normalised first (lib/text/normalize.h). */
#ifndef AIOPS_CALLFEAT_H
#define AIOPS_CALLFEAT_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "ml/sentiment.h"

enum call_speaker { CALL_UNKNOWN, CALL_COUNSELOR, CALL_CUSTOMER };

struct call_turn {
    enum call_speaker speaker;
    const char *text; /* the turn after its tag, spaces trimmed (points into the input) */
    size_t len;
};

/* Splits content into turns (*turns: the caller frees; *n of them). Invalid UTF-8:
 * AIOPS_EPARSE with err naming "consulting_content" and the byte offset. AIOPS_ENOMEM. */
int call_turns(const char *content, size_t len, struct call_turn **turns, size_t *n,
               struct aiops_error *err);

/* The features above as a JSON object (*out: the caller owns it). instructions may be NULL;
 * sm may be NULL (sentiment_analysis is then null). Errors as call_turns. */
int call_features(const char *content, size_t len, const json_t *instructions,
                  const struct sentiment_model *sm, json_t **out, struct aiops_error *err);

/* Seed 004's limits on a session. */
#define CALL_SESSION_ID_MAX 50 /* characters of A-Z a-z 0-9 - _ */
#define CALL_CONTENT_MAX 10000 /* code points of consulting_content */

/* A session as a request carries it (all borrowed from the JSON object it was read from). */
struct call_session {
    const char *session_id;
    const char *content;        /* consulting_content */
    size_t content_len;         /* bytes */
    const json_t *instructions; /* NULL when absent */
    const char *outcome; /* the "상담 결과" of instructions: a labeled session; else NULL */
};

/* Reads and checks a session object {session_id, consulting_content, instructions?};
 * session_id may instead come from the caller (id, not NULL: a request's own member, which the
 * object's must then equal when it has one). AIOPS_EINVAL with err's field ("session_id",
 * "consulting_content", "instructions") and message for: a missing or non-text member, an id
 * that is empty, longer than CALL_SESSION_ID_MAX or has another character, content over
 * CALL_CONTENT_MAX code points, instructions that are not an array. */
int call_session_read(const json_t *obj, const char *id, struct call_session *out,
                      struct aiops_error *err);
/* 1 when id is a valid session id. */
int call_session_id_valid(const char *id);

/* The output of the instruction data whose task_category is category (seed 004: "상담 주제",
 * "상담 내용", and "상담 결과" -- the outcome of a labeled session), or NULL; borrowed from
 * instructions. */
const char *call_instruction(const json_t *instructions, const char *category);

/* The outcome model's row: call_features' numbers, labels and categories flattened into one
 * object of columns (a missing member is null), the same for training and prediction. NULL
 * without memory. */
json_t *call_feature_row(const json_t *features);
/* The row's column names, in order, into names[cap]; returns how many there are. */
size_t call_row_columns(const char **names, size_t cap);

#endif
