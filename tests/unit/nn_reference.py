#!/usr/bin/python3
"""PyTorch reference AUCs for tests/unit/test_nn.c (HIGGS, shared data).

Trains the same networks the test trains -- MLP (256, 128) ReLU, dropout 0.2, and the
tabular sequence model (LSTM 64 over the 28 standardised features, then the same MLP) --
with Adam (lr 1e-3), batch 256, BCE, 10 (MLP) / 6 (tabseq) epochs, on higgs_train.csv, and
prints the test AUC on higgs_test.csv averaged over 5 seeds (one seed's initialisation moves
it by about +-0.01). Run once: /usr/bin/python3 tests/unit/nn_reference.py [data_dir]
"""
import sys

import numpy as np
import torch
from torch import nn

torch.set_num_threads(2)
DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"


def load(name):
    a = np.loadtxt(f"{DATA}/lightgbm_higgs_binary/{name}", delimiter=",", skiprows=1)
    return a[:, 1:].astype(np.float64), a[:, 0].astype(np.float32)


def auc(score, y):
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    # average ranks of ties
    s = score[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2.0
        i = j + 1
    npos = y.sum()
    nneg = len(y) - npos
    return (ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)


class Net(nn.Module):
    def __init__(self, d, lstm):
        super().__init__()
        self.lstm = nn.LSTM(1, lstm, batch_first=True) if lstm else None
        layers, width = [], (lstm or d)
        for h in (256, 128):
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(0.2)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        if self.lstm is not None:
            _, (h, _) = self.lstm(x.unsqueeze(-1))
            x = h[-1]
        return self.mlp(x).squeeze(-1)


def run(lstm, epochs, seed, xtr, ytr, xte, yte):
    torch.manual_seed(seed)
    net = Net(xtr.shape[1], lstm)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.BCEWithLogitsLoss()
    X, Y = torch.tensor(xtr), torch.tensor(ytr)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(X))
        for a in range(0, len(X), 256):
            idx = perm[a:a + 256]
            opt.zero_grad()
            loss = lossf(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
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
