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

#endif
