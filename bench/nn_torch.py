#!/usr/bin/python3
"""PyTorch side of bench/nn_bench.sh: the same network as lib/algo/nn.c on the same data
(bench/nn_data.py), CPU, torch.set_num_threads(THREADS); prints one JSON line with the
seconds of each epoch (the forward/backward/Adam loop over shuffled batches, as the seed
trains), its process CPU seconds, and the training AUC after the last epoch.

  /usr/bin/python3 bench/nn_torch.py DIR click|dense --lstm H --hidden 256,128
                   --dropout P --batch B --epochs E --threads T

Net, train_epoch and auc are also tests/unit/nn_reference.py's (the PyTorch references of
tests/unit/test_nn.c), so that both measure one network.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, d, lstm, hidden, dropout):
        super().__init__()
        self.lstm = nn.LSTM(1, lstm, batch_first=True) if lstm else None
        layers, width = [], (lstm or d)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        if self.lstm is not None:
            _, (h, _) = self.lstm(x.unsqueeze(-1))
            x = h[-1]
        return self.mlp(x).squeeze(-1)


def train_epoch(net, opt, lossf, X, Y, batch):
    """One epoch of Adam steps over shuffled batches, as the seed trains."""
    net.train()
    perm = torch.randperm(len(X))
    for s in range(0, len(X), batch):
        idx = perm[s:s + batch]
        opt.zero_grad()
        loss = lossf(net(X[idx]), Y[idx])
        loss.backward()
        opt.step()


def auc(score, y):
    """ROC AUC by the rank sum, tied scores taking their average rank."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    s = np.asarray(score)[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2.0
        i = j + 1
    npos = y.sum()
    return float((ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * (len(y) - npos)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("kind")
    ap.add_argument("--lstm", type=int, default=0)
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(os.path.join(a.dir, a.kind + ".shape")) as f:
        n, d = map(int, f.read().split())
    x = np.fromfile(os.path.join(a.dir, a.kind + "_x.bin"), "<f8").reshape(d, n).T
    y = np.fromfile(os.path.join(a.dir, a.kind + "_y.bin"), "<f8")
    mu, sd = x.mean(0), x.std(0)
    sd[sd < 1e-12] = 1
    X = torch.tensor(((x - mu) / sd).astype(np.float32))
    Y = torch.tensor(y.astype(np.float32))
    net = Net(d, a.lstm, [int(h) for h in a.hidden.split(",") if h], a.dropout)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.BCEWithLogitsLoss()
    secs, cpu = [], []
    for _ in range(a.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        train_epoch(net, opt, lossf, X, Y, a.batch)
        secs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    net.eval()
    with torch.no_grad():
        p = torch.cat([net(X[s:s + 8192]) for s in range(0, n, 8192)]).numpy()
    print(json.dumps({"side": "pytorch", "epoch_seconds": secs, "epoch_cpu_seconds": cpu,
                      "train_auc": auc(p, y)}))


if __name__ == "__main__":
    main()
