/* test_callfeat.c -- call features (lib/ml/callfeat.h) of hand-checked dialogues. Each
 * expected number is counted by hand in the comments. */
#include "core/err.h"
#include "ml/callfeat.h"
#include "unit.h"

/* 6 turns: counselor 3, customer 2 ("고객님" too), one untagged line. Code points per turn
 * (tags and the space after them excluded): 30, 33, 31, 6, 33, 5 = 138; mean 23. */
static const char dialogue[] =
    "상담사: 안녕하세요, 광진구청입니다. 어떤 도움이 필요하신가요?\n"
    "고객: 네, 안녕하세요. 복지 서비스 관련해서 문의드리고 싶습니다.\n"
    "상담사: 네, 복지 서비스 신청 문의시군요. 확인해 드리겠습니다.\r\n"
    "고객님: 감사합니다!\n"
    "\n"
    "상담사: 불편을 드려 죄송합니다. 신청하시면 일주일 안에 처리됩니다.\n"
    "그냥 메모\n";

static double num(const json_t *o, const char *group, const char *key)
{
    return json_number_value(json_object_get(json_object_get(o, group), key));
}

static void test_counts_and_patterns(void)
{
    json_t *o = NULL;
    struct aiops_error err = {0};
    json_t *ins =
        json_loads("[{\"tuning_type\": \"분류\", \"data\": ["
                   "{\"task_category\": \"상담 주제\", \"output\": \"복지 서비스\"},"
                   "{\"task_category\": \"상담 내용\", \"output\": \"복지 서비스 신청 문의\"}]}]",
                   0, NULL);
    CHECK(ins != NULL);
    CHECK_INT(call_features(dialogue, sizeof dialogue - 1, ins, NULL, &o, &err), 0);
    if (o == NULL)
        return;
    CHECK_INT(num(o, "basic_stats", "speech_count"), 6);
    CHECK_INT(num(o, "basic_stats", "total_characters"), 138);
    CHECK_NEAR(num(o, "basic_stats", "avg_sentence_length"), 23.0, 1e-12);
    CHECK_INT(num(o, "basic_stats", "counselor_count"), 3);
    CHECK_INT(num(o, "basic_stats", "customer_count"), 2);
    CHECK_INT(num(o, "basic_stats", "unknown_count"), 1);
    CHECK(json_is_null(json_object_get(o, "sentiment_analysis"))); /* no model given */
    /* honorific: every turn but "그냥 메모" has a word ending in 세요 / 습니다 / 합니다 */
    CHECK_NEAR(num(o, "text_features", "honorific_ratio"), 5.0 / 6, 1e-12);
    /* 29 words; positive: 도움이, 감사합니다; negative: 불편을 */
    CHECK_NEAR(num(o, "text_features", "positive_word_ratio"), 2.0 / 29, 1e-12);
    CHECK_NEAR(num(o, "text_features", "negative_word_ratio"), 1.0 / 29, 1e-12);
    CHECK_INT(num(o, "text_features", "question_count"), 1);
    CHECK_INT(num(o, "text_features", "exclamation_count"), 1);
    /* 복지 and 서비스 twice each; then in order of first use 도움(이), 신청, 확인(해) */
    const json_t *top = json_object_get(json_object_get(o, "text_features"), "top_nouns");
    CHECK_INT(json_array_size(top), 5);
    const char *want[] = {"복지", "서비스", "도움", "신청", "확인"};
    for (size_t k = 0; k < 5; k++)
        CHECK_STR(json_string_value(json_array_get(top, k)), want[k]);
    /* over the counselor's 3 turns: 안녕하세요 (script), 확인해 드리겠습니다 (confirmation),
     * 불편을 드려 / 죄송합니다 (apology, one turn), 신청하시면 (solution); no empathy */
    CHECK_NEAR(num(o, "dialogue_patterns", "script_phrase_ratio"), 1.0 / 3, 1e-12);
    CHECK_NEAR(num(o, "dialogue_patterns", "confirmation_ratio"), 1.0 / 3, 1e-12);
    CHECK_NEAR(num(o, "dialogue_patterns", "empathy_ratio"), 0.0, 1e-12);
    CHECK_NEAR(num(o, "dialogue_patterns", "apology_ratio"), 1.0 / 3, 1e-12);
    CHECK_INT(num(o, "dialogue_patterns", "solution_offer_count"), 1);
    const json_t *cat = json_object_get(o, "categories");
    CHECK_STR(json_string_value(json_object_get(cat, "mid_category")), "복지 서비스");
    CHECK_STR(json_string_value(json_object_get(cat, "content_category")), "복지 서비스 신청 문의");
    CHECK_STR(json_string_value(json_object_get(cat, "rec_place")), "광진구청");
    json_decref(o);
    json_decref(ins);
}

static void test_untagged_and_sentiment(void)
{
    /* no tags: every turn is the counselor's for the patterns (2 turns, 1 with an apology
     * and an empathy phrase); no place ("네" is not one) */
    const char *d = "그러셨군요 정말 죄송합니다\n네 알겠습니다";
    json_t *o = NULL;
    struct aiops_error err = {0};
    struct sentiment_model *sm = NULL;
    CHECK_INT(sentiment_model_load("models/" SENTIMENT_MODEL_FILE, &sm, &err), 0);
    CHECK_INT(call_features(d, strlen(d), NULL, sm, &o, &err), 0);
    if (o == NULL) {
        sentiment_model_free(sm);
        return;
    }
    CHECK_INT(num(o, "basic_stats", "speech_count"), 2);
    CHECK_INT(num(o, "basic_stats", "unknown_count"), 2);
    CHECK_NEAR(num(o, "dialogue_patterns", "empathy_ratio"), 0.5, 1e-12);
    CHECK_NEAR(num(o, "dialogue_patterns", "apology_ratio"), 0.5, 1e-12);
    CHECK(json_is_null(json_object_get(json_object_get(o, "categories"), "rec_place")));
    CHECK(json_is_null(json_object_get(json_object_get(o, "categories"), "mid_category")));
    const json_t *s = json_object_get(o, "sentiment_analysis");
    CHECK(json_is_object(s));
    double sum = 0;
    for (int k = 1; k <= 5; k++) {
        char key[32];
        snprintf(key, sizeof key, "emo_%d_star_score", k);
        sum += json_number_value(json_object_get(s, key));
    }
    CHECK_NEAR(sum, 1.0, 1e-9);
    double overall = json_number_value(json_object_get(s, "overall_sentiment"));
    CHECK(overall >= 1 && overall <= 5);
    CHECK_STR(json_string_value(json_object_get(s, "sent_label")), sentiment_label(overall));
    CHECK(json_is_null(json_object_get(s, "counselor"))); /* no tagged turns */
    json_decref(o);
    sentiment_model_free(sm);
}

static void test_hostile_input(void)
{
    json_t *o = NULL;
    struct aiops_error err = {0};
    static const char bad[] = "상담사: a\xff";
    CHECK_INT(call_features(bad, sizeof bad - 1, NULL, NULL, &o, &err), AIOPS_EPARSE);
    CHECK(o == NULL);
    CHECK_STR(err.field, "consulting_content");
    /* empty: zero turns, every ratio 0 */
    CHECK_INT(call_features("", 0, NULL, NULL, &o, &err), 0);
    CHECK_INT(num(o, "basic_stats", "speech_count"), 0);
    CHECK_NEAR(num(o, "basic_stats", "avg_sentence_length"), 0, 0);
    CHECK_NEAR(num(o, "text_features", "honorific_ratio"), 0, 0);
    json_decref(o);
    /* a tag alone is no turn; an unknown tag stays part of the text */
    CHECK_INT(call_features("상담사:\n손님: 네", strlen("상담사:\n손님: 네"), NULL, NULL, &o, &err),
              0);
    CHECK_INT(num(o, "basic_stats", "speech_count"), 1);
    CHECK_INT(num(o, "basic_stats", "unknown_count"), 1);
    CHECK_INT(num(o, "basic_stats", "total_characters"), 5); /* "손님: 네": 손 님 : space 네 */
    json_decref(o);
}

UNIT_MAIN(UNIT(test_counts_and_patterns), UNIT(test_untagged_and_sentiment),
          UNIT(test_hostile_input))
