// i18n.js -- Korean and English text of the console. The choice is kept in localStorage;
// the first visit follows the browser's language (Korean unless it asks for something else).

const TEXT = {
  ko: {
    api_key: "API 키", home: "홈", data: "데이터", train: "학습", runs: "실행 기록",
    models: "모델", explain: "설명·리포트", monitor: "모니터링", segments: "세그먼트",
    calls: "상담 분석", none: "없음", loading: "불러오는 중…",
    not_available: "이 서버에서는 아직 제공되지 않습니다",
    recent_runs: "최근 실행", services: "서비스 상태", alerts: "알림",
    model_name: "모델 이름", learner: "학습기", status: "상태", metric: "주요 지표",
    champion: "챔피언", versions: "버전", latest: "최신", task: "작업",
    status_completed: "완료", status_failed: "실패", status_running: "학습 중",
    status_training: "학습 중", status_queued: "대기", status_canceled: "취소됨",
    upload: "업로드", drop_here: "CSV 파일을 여기에 끌어다 놓거나 클릭하여 선택하세요",
    target: "타깃 컬럼", uploaded: "업로드 완료", rows: "행", columns: "컬럼",
    validation_errors: "검증 오류", row: "행", column: "컬럼", message: "메시지",
    profile: "프로파일", missing: "결측", type: "유형", distinct: "고유값", mean: "평균",
    histogram: "히스토그램", leakage: "누수 의심", correlations: "상관관계",
    datasets: "데이터셋", dataset: "데이터셋", parameters: "파라미터", start: "학습 시작",
    cancel: "취소", canceled: "취소했습니다", live_curves: "실시간 학습 곡선",
    epoch: "반복", train_loss: "학습 손실", val_loss: "검증 손실", started: "학습을 시작했습니다",
    compare: "비교", select_two: "비교할 실행을 두 개 이상 고르세요", filter: "필터",
    all: "전체", aliases: "별칭", promote: "챔피언으로 지정", rollback: "롤백",
    predict: "예측", instances: "입력(JSON 행 배열)", prediction: "예측 결과",
    promoted: "챔피언을 바꿨습니다", rolled_back: "롤백했습니다", version: "버전",
    importance: "특성 중요도", report: "AI 리포트", pdf: "PDF 다운로드", run: "실행",
    show: "보기", drift: "드리프트", live: "실시간", analyze: "분석",
    persona_search: "페르소나 검색", process: "처리", session_json: "상담 세션(JSON)",
    features: "특성", outcome: "결과", error: "오류", done: "완료", default: "기본값",
    no_issues: "검증 문제 없음",
    description: "설명", description_placeholder: "이 컬럼이 무엇인지", save_descriptions: "설명 저장",
    saving: "저장 중…", saved: "저장했습니다", method: "방법", method_permutation: "순열 중요도",
    method_gain: "모델 자체(gain)", method_shap: "평균 |SHAP|", method_fallback: "이 학습기는 자체 중요도가 없어 대신 사용한 방법",
    ci95: "95% 신뢰구간", p_value: "p값", shap_summary: "SHAP 요약", shap_mean: "특성별 평균 |SHAP|",
    shap_swarm: "행별 SHAP 값", shap_colour: "점 하나가 표본 행 하나입니다. 색: 특성값 낮음(파랑)–높음(빨강), 숫자가 아니면 회색",
    shap_needs_model: "등록된 모델과 데이터셋이 있는 완료된 실행이어야 합니다",
    insights: "인사이트", action_plan: "실행 계획", severity: "심각도", severity_info: "정보",
    severity_warning: "경고", severity_critical: "심각", accuracy: "정확도",
    no_alerts_yet: "아직 알림이 없습니다. 도착하는 대로 여기에 표시됩니다", time: "시각",
    requests: "요청 수", response_ms: "p95 응답(ms)", live_metrics: "실시간 지표", cpu: "CPU",
    memory: "메모리", success_rate: "API 성공률", error_rate: "오류율", drift_detected: "드리프트 감지",
    no_drift: "드리프트 없음", threshold: "임계값", statistic: "통계량", drifted: "드리프트",
    drift_by_feature: "모델·특성별 드리프트", check_drift: "드리프트 점검", level: "수준",
    waiting_live: "첫 메시지를 기다리는 중…", drift_events: "드리프트 이벤트(최근 7일)", no_drift_events: "최근 드리프트 이벤트 없음",
  },
  en: {
    api_key: "API key", home: "Home", data: "Data", train: "Train", runs: "Runs",
    models: "Models", explain: "Explain & report", monitor: "Monitor", segments: "Segments",
    calls: "Calls", none: "None", loading: "Loading…",
    not_available: "Not available on this server yet",
    recent_runs: "Recent runs", services: "Services", alerts: "Alerts",
    model_name: "Model name", learner: "Learner", status: "Status", metric: "Main metric",
    champion: "Champion", versions: "Versions", latest: "Latest", task: "Task",
    status_completed: "completed", status_failed: "failed", status_running: "running",
    status_training: "training", status_queued: "queued", status_canceled: "canceled",
    upload: "Upload", drop_here: "Drop a CSV file here or click to choose one",
    target: "Target column", uploaded: "Uploaded", rows: "rows", columns: "columns",
    validation_errors: "Validation errors", row: "Row", column: "Column", message: "Message",
    profile: "Profile", missing: "Missing", type: "Type", distinct: "Distinct", mean: "Mean",
    histogram: "Histogram", leakage: "Leakage suspects", correlations: "Correlations",
    datasets: "Datasets", dataset: "Dataset", parameters: "Parameters", start: "Start training",
    cancel: "Cancel", canceled: "Canceled", live_curves: "Live training curves",
    epoch: "Iteration", train_loss: "Train loss", val_loss: "Validation loss",
    started: "Training started", compare: "Compare", select_two: "Pick two or more runs",
    filter: "Filter", all: "All", aliases: "Aliases", promote: "Make champion",
    rollback: "Roll back", predict: "Predict", instances: "Instances (JSON array of rows)",
    prediction: "Prediction", promoted: "Champion changed", rolled_back: "Rolled back",
    version: "Version", importance: "Feature importance", report: "AI report",
    pdf: "Download PDF", run: "Run", show: "Show", drift: "Drift", live: "Live",
    analyze: "Analyze", persona_search: "Persona search", process: "Process",
    session_json: "Counseling session (JSON)", features: "Features", outcome: "Outcome",
    error: "Error", done: "Done", default: "default", no_issues: "No validation issues",
    description: "Description", description_placeholder: "what this column is",
    save_descriptions: "Save descriptions", saving: "Saving…", saved: "Saved", method: "Method",
    method_permutation: "Permutation", method_gain: "The model's own (gain)", method_shap: "Mean |SHAP|",
    method_fallback: "This learner has no importance of its own; shown instead",
    ci95: "95% CI", p_value: "p-value", shap_summary: "SHAP summary", shap_mean: "Mean |SHAP| per feature",
    shap_swarm: "SHAP value per row", shap_colour: "One dot per sample row. Colour: the feature's value, low (blue) to high (red); grey when not a number",
    shap_needs_model: "Needs a completed run with a registered model and its dataset",
    insights: "Insights", action_plan: "Action plan", severity: "Severity", severity_info: "info",
    severity_warning: "warning", severity_critical: "critical", accuracy: "accuracy",
    no_alerts_yet: "No alerts yet; they show here as they arrive", time: "Time",
    requests: "Requests", response_ms: "p95 response (ms)", live_metrics: "Live metrics", cpu: "CPU",
    memory: "memory", success_rate: "API success", error_rate: "errors", drift_detected: "Drift detected",
    no_drift: "No drift", threshold: "Threshold", statistic: "Statistic", drifted: "drifted",
    drift_by_feature: "Drift by model and feature", check_drift: "Check drift", level: "Level",
    waiting_live: "Waiting for the first message…", drift_events: "Drift events (last 7 days)", no_drift_events: "No drift events lately",
  },
};

const LANG = "aiops.lang";

export function lang() {
  const saved = localStorage.getItem(LANG);
  if (saved === "ko" || saved === "en") return saved;
  const nav = (navigator.language || "ko").toLowerCase();
  return nav.startsWith("en") ? "en" : "ko";
}

export function setLang(l) {
  localStorage.setItem(LANG, l);
  document.documentElement.lang = l;
}

export function t(key) {
  const table = TEXT[lang()];
  return key in table ? table[key] : key;
}

// Fills every element marked data-i18n="key" (the static shell of index.html).
export function applyStatic(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

export const KEYS_FOR_TESTS = { ko: Object.keys(TEXT.ko), en: Object.keys(TEXT.en) };
