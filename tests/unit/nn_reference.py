#!/usr/bin/python3
"""PyTorch reference AUCs for tests/unit/test_nn.c (HIGGS, shared data).

Trains the same networks the test trains -- MLP (256, 128) ReLU, dropout 0.2, and the
tabular sequence model (LSTM 64 over the 28 standardised features, then the same MLP) --
with Adam (lr 1e-3), batch 256, BCE, 10 (MLP) / 6 (tabseq) epochs, on higgs_train.csv, and
prints the test AUC on higgs_test.csv averaged over 5 seeds (one seed's initialisation moves
it by about +-0.01). Run once: /usr/bin/python3 tests/unit/nn_reference.py [data_dir]
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from nn_torch import Net, auc, train_epoch  # noqa: E402 (the benchmark's network)

torch.set_num_threads(2)
DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"


def load(name):
    a = np.loadtxt(f"{DATA}/lightgbm_higgs_binary/{name}", delimiter=",", skiprows=1)
    return a[:, 1:].astype(np.float64), a[:, 0].astype(np.float32)


def run(lstm, epochs, seed, xtr, ytr, xte, yte):
    torch.manual_seed(seed)
    net = Net(xtr.shape[1], lstm, (256, 128), 0.2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.BCEWithLogitsLoss()
    X, Y = torch.tensor(xtr), torch.tensor(ytr)
    for _ in range(epochs):
        train_epoch(net, opt, lossf, X, Y, 256)
    net.eval()
    with torch.no_grad():
        p = torch.sigmoid(net(torch.tensor(xte))).numpy()
    return auc(p, yte)


def main():
    xtr, ytr = load("higgs_train.csv")
    xte, yte = load("higgs_test.csv")
    mu, sd = xtr.mean(0), xtr.std(0)
    sd[sd < 1e-12] = 1
    xtr = ((xtr - mu) / sd).astype(np.float32)
    xte = ((xte - mu) / sd).astype(np.float32)
    for name, lstm, epochs in (("mlp", 0, 10), ("tabseq", 64, 6)):
        aucs = [run(lstm, epochs, s, xtr, ytr, xte, yte) for s in range(5)]
        print(f"{name}: mean test AUC {np.mean(aucs):.4f} (seeds: "
              + ", ".join(f"{a:.4f}" for a in aucs) + ")")


if __name__ == "__main__":
    main()
