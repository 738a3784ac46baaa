"""The serving stack our users run today (seeds 000/002/004): a FastAPI app under uvicorn
answering predictions from an XGBoost model, for bench/predict_bench.sh.

  predict_fastapi.py train TRAIN.csv TARGET MODEL.json ROUNDS DEPTH ETA   trains, saves
  PREDICT_MODEL=MODEL.json uvicorn predict_fastapi:app ...                  serves

The endpoint takes and answers the same JSON as ours ({"instances": [{column: value}]} ->
{"predictions": [{"prediction", "probabilities"}]}), validated by a pydantic model as the
seeds do, and builds the feature matrix with numpy (faster than a DataFrame per request).
Its best configuration here, which bench/predict_bench.sh runs: an `async def` handler (no
thread-pool hop), XGBoost's `Booster.inplace_predict` on the numpy matrix (no DMatrix, no
sklearn wrapper) on one thread, uvicorn on uvloop with the httptools parser (`python3-uvloop`,
`python3-httptools`: uvicorn[standard]), TCP_NODELAY on every connection (asyncio's
transports set it), access log off, one worker or two (one per core).
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
BOOSTER = model.get_booster()
# one thread a prediction: a request's few rows gain nothing from OpenMP, whose spinning
# threads cost 4x the time of a one-row prediction here (586 vs 131 us measured)
BOOSTER.set_param({"nthread": 1})

app = FastAPI()


class PredictRequest(BaseModel):
    instances: List[Dict[str, Any]]


@app.post("/api/v1/models/{name}/predict")
async def predict(name: str, req: PredictRequest):
    x = np.array([[row.get(c, np.nan) for c in COLUMNS] for row in req.instances], dtype=float)
    p1 = BOOSTER.inplace_predict(x)   # binary: the probability of the second class
    return {"predictions": [
        {"prediction": CLASSES[int(p > 0.5)],
         "probabilities": {CLASSES[0]: float(1.0 - p), CLASSES[1]: float(p)}} for p in p1],
        "model_name": name}


@app.get("/health")
async def health():
    return {"status": "healthy"}
