#!/usr/bin/python3
"""Seeded 80/20 train/test split of a CSV (stratified by the target for classification)
for bench/automl_bench.sh: both tools read the same files.

  automl_split.py IN.csv TARGET TASK OUT_TRAIN.csv OUT_TEST.csv SEED"""
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

src, target, task, out_train, out_test, seed = sys.argv[1:7]
df = pd.read_csv(src)
strat = df[target] if task != "regression" else None
tr, te = train_test_split(df, test_size=0.2, random_state=int(seed), stratify=strat)
tr.to_csv(out_train, index=False)
te.to_csv(out_test, index=False)
