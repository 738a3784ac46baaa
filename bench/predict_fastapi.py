"""The serving stack our users run today (seeds 000/002/004): a FastAPI app under uvicorn
answering predictions from an XGBoost model, for bench/predict_bench.sh.

  predict_fastapi.py train TRAIN.csv TARGET MODEL.json ROUNDS DEPTH ETA   trains, saves
  PREDICT_MODEL=MODEL.json uvicorn predict_fastapi:app ...                  serves

The endpoint takes and answers the same JSON as ours ({"instances": [{column: value}]} ->
{"predictions": [{"prediction", "probabilities"}]}), validated by a pydantic model as the
seeds do, and builds the feature matrix with numpy (faster than a DataFrame per request).
"""
import json
import os
import sys
from typing import Any, Dict, List

import numpy as np

if __name__ == "__main__" and sys.argv[1] == "train":
    import pandas as pd
    import xgboost as xgb
    _, _, path, target, out, rounds, depth, eta = sys.argv
    df = pd.read_csv(path)
    y = df.pop(target)
    m = xgb.XGBClassifier(n_estimators=int(rounds), max_depth=int(depth),
                          learning_rate=float(eta), tree_method="hist", max_bin=255, n_jobs=2)
    m.fit(df, y)
    m.save_model(out)
    with open(out + ".columns", "w") as f:
        json.dump(list(df.columns), f)
    sys.exit(0)

import xgboost as xgb  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

MODEL = os.environ["PREDICT_MODEL"]
model = xgb.XGBClassifier()
model.load_model(MODEL)
with open(MODEL + ".columns") as f:
    COLUMNS = json.load(f)
CLASSES = [str(c) for c in model.classes_]

app = FastAPI()


class PredictRequest(BaseModel):
    instances: List[Dict[str, Any]]


@app.post("/api/v1/models/{name}/predict")
async def predict(name: str, req: PredictRequest):
    x = np.array([[row.get(c, np.nan) for c in COLUMNS] for row in req.instances], dtype=float)
    proba = model.predict_proba(x)
    return {"predictions": [
        {"prediction": CLASSES[int(p.argmax())],
         "probabilities": {c: float(v) for c, v in zip(CLASSES, p)}} for p in proba],
        "model_name": name}


@app.get("/health")
async def health():
    return {"status": "healthy"}
