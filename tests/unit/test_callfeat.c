/* test_callfeat.c -- call features (lib/ml/callfeat.h) of hand-checked dialogues. Each
 * expected number is counted by hand in the comments. */
#include <stdlib.h>
#include <string.h>

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

/* The outcome model's row: every column, numbers and labels where call_features put them,
 * null where it has none (no sentiment model: the sentiment columns). */
static void test_feature_row(void)
{
    json_t *o = NULL, *ins = json_loads("[{\"data\": [{\"task_category\": \"상담 주제\", "
                                        "\"output\": \"세금\"}]}]",
                                        0, NULL);
    struct aiops_error err = {0};
    CHECK_INT(call_features(dialogue, sizeof dialogue - 1, ins, NULL, &o, &err), 0);
    json_t *row = call_feature_row(o);
    const char *names[64];
    size_t n = call_row_columns(names, 64);
    CHECK_INT(n, 28);
    CHECK_INT(json_object_size(row), n);
    for (size_t i = 0; i < n; i++)
        CHECK(json_object_get(row, names[i]) != NULL);
    CHECK_INT(json_integer_value(json_object_get(row, "speech_count")), 6);
    CHECK_NEAR(json_real_value(json_object_get(row, "honorific_ratio")), 5.0 / 6, 1e-12);
    CHECK_STR(json_string_value(json_object_get(row, "mid_category")), "세금");
    CHECK_STR(json_string_value(json_object_get(row, "rec_place")), "광진구청");
    CHECK(json_is_null(json_object_get(row, "content_category")));
    CHECK(json_is_null(json_object_get(row, "overall_sentiment")));
    CHECK(json_is_null(json_object_get(row, "customer_sentiment")));
    json_decref(row);
    json_decref(o);
    json_decref(ins);
}

/* Seed 004's limits on a session, each naming its field; the outcome of a labeled one. */
static void test_session_read(void)
{
    struct call_session s;
    struct aiops_error err = {0};
    json_t *ok = json_loads("{\"session_id\": \"session_40001\", \"consulting_content\": "
                            "\"상담사: 네\", \"instructions\": [{\"data\": [{\"task_category\": "
                            "\"상담 결과\", \"output\": \"만족\"}]}]}",
                            0, NULL);
    CHECK_INT(call_session_read(ok, NULL, &s, &err), 0);
    CHECK_STR(s.session_id, "session_40001");
    CHECK_STR(s.outcome, "만족");
    CHECK_INT(s.content_len, strlen("상담사: 네"));
    CHECK_INT(call_session_read(ok, "session_40001", &s, &err), 0); /* the request's, equal */
    CHECK_INT(call_session_read(ok, "other", &s, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "session_id");
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"consulting_content\": \"x\"}", "session_id"},
        {"{\"session_id\": 7, \"consulting_content\": \"x\"}", "session_id"},
        {"{\"session_id\": \"a b\", \"consulting_content\": \"x\"}", "session_id"},
        {"{\"session_id\": \"a\"}", "consulting_content"},
        {"{\"session_id\": \"a\", \"consulting_content\": 1}", "consulting_content"},
        {"{\"session_id\": \"a\", \"consulting_content\": \"x\", \"instructions\": {}}",
         "instructions"},
        {"[]", "data"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i].json, 0, NULL);
        CHECK_INT(call_session_read(j, NULL, &s, &err), AIOPS_EINVAL);
        CHECK_STR(err.field, bad[i].field);
        json_decref(j);
    }
    /* 50 characters of the id and 10,000 code points of content are the most */
    char id[52], *text = malloc(3 * 10001 + 1);
    memset(id, 'a', 51);
    id[51] = '\0';
    CHECK(!call_session_id_valid(id));
    id[50] = '\0';
    CHECK(call_session_id_valid(id));
    CHECK(!call_session_id_valid(""));
    for (size_t i = 0; i < 10001; i++)
        memcpy(text + 3 * i, "가", 3);
    text[3 * 10001] = '\0';
    json_t *big = json_pack("{s:s, s:s}", "session_id", id, "consulting_content", text);
    CHECK_INT(call_session_read(big, NULL, &s, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "consulting_content");
    text[3 * 10000] = '\0';
    json_object_set_new(big, "consulting_content", json_string(text));
    CHECK_INT(call_session_read(big, NULL, &s, &err), 0);
    CHECK(s.outcome == NULL);
    json_decref(big);
    free(text);
    json_decref(ok);
}

UNIT_MAIN(UNIT(test_counts_and_patterns), UNIT(test_untagged_and_sentiment),
          UNIT(test_hostile_input), UNIT(test_feature_row), UNIT(test_session_read))
