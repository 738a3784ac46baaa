"""Seeded counseling sessions in seed 004's shape, for the issue 10 tests and benchmark: a
dialogue of 상담사/고객 turns whose wording depends on the outcome (the customer thanks and the
counselor offers a way forward when 만족; apologies and refusals when 해결 불가; vague answers
and complaints when 미흡; questions and a promised follow-up when 추가 상담 필요), with a share of
turns drawn from the other outcomes so that no class is certain from the words alone, a topic
in instructions and, for labeled sessions, the outcome as "상담 결과"."""
import random

OUTCOMES = ["만족", "해결 불가", "미흡", "추가 상담 필요"]
PLACES = ["광진구청", "서초구청", "국민연금공단", "고객센터", "주민센터"]
TOPICS = [("복지 서비스", "기초생활수급자 신청 문의"), ("세금", "재산세 납부 기한 문의"),
          ("교통", "버스 노선 변경 문의"), ("연금", "연금 수령 시기 문의")]
COUNSELOR = {
    "만족": ["필요한 서류를 안내해 드릴게요.", "신청은 주민센터에서 바로 가능합니다.",
             "네, 그렇게 처리해 드리겠습니다.", "말씀하신 내용으로 해결 방법을 알려드리겠습니다."],
    "해결 불가": ["죄송합니다, 정책상 그 부분은 어렵습니다.", "불편을 드려 정말 죄송합니다.",
               "현재 시스템 장애로 처리가 불가능합니다.", "규정상 변경이 불가합니다, 양해 부탁드립니다."],
    "미흡": ["그건 잘 모르겠습니다.", "담당 부서에 물어보셔야 할 것 같아요.",
             "글쎄요, 확인이 어렵네요.", "그냥 홈페이지를 보세요."],
    "추가 상담 필요": ["확인 후 다시 연락드리겠습니다.", "담당자가 검토한 뒤 안내해 드리겠습니다.",
                  "추가 서류가 필요할 수 있어 다시 상담이 필요합니다.", "내일 다시 전화 주시겠어요?"],
}
CUSTOMER = {
    "만족": ["네, 감사합니다. 정말 도움이 됐어요!", "친절하게 알려주셔서 고맙습니다.",
             "알겠습니다. 감사합니다!", "좋네요, 바로 신청할게요."],
    "해결 불가": ["그럼 방법이 전혀 없는 건가요?", "너무 답답하네요.", "정말 안 되는 건가요?",
               "어쩔 수 없네요."],
    "미흡": ["제대로 된 답변을 듣고 싶어요.", "그게 무슨 말씀이세요?", "불만이 많습니다.",
             "이해가 안 돼요, 다시 설명해 주세요."],
    "추가 상담 필요": ["언제쯤 연락 주실 수 있나요?", "다른 서류도 필요한가요?",
                  "그럼 다시 전화드리면 되나요?", "결과는 어떻게 확인하나요?"],
}


def session(rng, i, outcome=None, labeled=True, noise=0.25):
    """One session dict (session_id, consulting_content, instructions)."""
    outcome = outcome or rng.choice(OUTCOMES)
    place = rng.choice(PLACES)
    topic, content = rng.choice(TOPICS)
    lines = ["상담사: 안녕하세요, %s입니다. 어떤 도움이 필요하신가요?" % place,
             "고객: 네, 안녕하세요. %s 관련해서 문의드리고 싶습니다." % topic]
    for _ in range(rng.randint(2, 5)):
        said = outcome if rng.random() > noise else rng.choice(OUTCOMES)
        lines.append("상담사: " + rng.choice(COUNSELOR[said]))
        said = outcome if rng.random() > noise else rng.choice(OUTCOMES)
        lines.append("고객: " + rng.choice(CUSTOMER[said]))
    data = [{"task_category": "상담 주제", "output": topic},
            {"task_category": "상담 내용", "output": content}]
    if labeled:
        data.append({"task_category": "상담 결과", "output": outcome})
    return {"session_id": "session_%05d" % i, "consulting_content": "\n".join(lines),
            "instructions": [{"tuning_type": "분류", "data": data}]}, outcome


def sessions(n, seed=4, start=0, labeled=True):
    rng = random.Random(seed)
    return [session(rng, start + i, labeled=labeled) for i in range(n)]
