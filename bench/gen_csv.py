#!/usr/bin/python3
"""Generates the CSV ingest benchmark inputs (seeded, so every run writes the same bytes).

  bench/gen_csv.py OUTDIR [--rows-numeric N] [--rows-mixed N] [--seed S]

Writes into OUTDIR (never into the repository):
  numeric.csv  N rows x 30 numeric columns: 24 floats with 6-10 significant digits (mixed
               magnitudes, signs and exponents-free decimal notation) and 6 integer columns
               (small counts, a 0/1 flag, large ids), default 1,000,000 rows;
  mixed.csv    N rows: numeric, categorical strings with a few dozen levels, booleans,
               ISO dates and timestamps, some missing values (empty and NA), some quoted
               fields containing commas and doubled quotes, a binary `clicked` target,
               default 500,000 rows.
"""
import argparse
import os
import random
import sys


def fmt_sig(x, digits):
    """x with `digits` significant digits in plain decimal notation."""
    s = "%.*g" % (digits, x)
    if "e" in s or "E" in s:
        s = "%.*f" % (max(0, digits - 1), x)
    return s


def gen_numeric(path, rows, rng):
    ncols = 30
    names = ["f%02d" % i for i in range(24)] + ["count", "flag", "qty", "year", "id_big", "label"]
    scales = [rng.choice([1e-3, 1e-1, 1.0, 10.0, 1e3, 1e5]) for _ in range(24)]
    digits = [rng.randint(6, 10) for _ in range(24)]
    with open(path, "w", newline="") as f:
        f.write(",".join(names) + "\n")
        buf = []
        for r in range(rows):
            vals = []
            for i in range(24):
                x = rng.gauss(0.0, 1.0) * scales[i]
                vals.append(fmt_sig(x, digits[i]))
            vals.append(str(rng.randint(0, 500)))
            vals.append(str(rng.randint(0, 1)))
            vals.append(str(rng.randint(-100000, 100000)))
            vals.append(str(rng.randint(1990, 2025)))
            vals.append(str(rng.randint(10**11, 10**12)))
            vals.append("1" if rng.random() < 0.1 else "0")
            assert len(vals) == ncols
            buf.append(",".join(vals))
            if len(buf) >= 10000:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")


def gen_mixed(path, rows, rng):
    cities = ["Seoul", "Busan", "Incheon", "Daegu", "Daejeon", "Gwangju", "Ulsan", "Suwon",
              "Changwon", "Goyang", "Yongin", "Seongnam", "Bucheon", "Cheongju", "Ansan",
              "Jeonju", "Cheonan", "Namyangju", "Hwaseong", "Anyang", "Gimhae", "Pohang",
              "Uijeongbu", "Siheung", "Paju", "Gumi", "Gimpo", "Gwangmyeong", "Jeju",
              "Osan", "Wonju", "Iksan"]
    devices = ["android", "ios", "web", "tablet", "tv", "console", "other"]
    cats = ["c%03d" % i for i in range(48)]
    bools = [("true", "false"), ("yes", "no")]
    names = ["amount", "score", "age", "city", "device", "category", "is_member", "opted_in",
             "signup_date", "last_seen", "comment", "ratio", "visits", "clicked"]
    with open(path, "w", newline="") as f:
        f.write(",".join(names) + "\n")
        buf = []
        for r in range(rows):
            miss = rng.random()
            amount = "" if miss < 0.02 else "%.2f" % (rng.lognormvariate(3.0, 1.2))
            score = "NA" if miss > 0.985 else fmt_sig(rng.random() * 100.0, rng.randint(6, 9))
            age = str(rng.randint(18, 90))
            city = rng.choice(cities)
            device = "" if rng.random() < 0.03 else rng.choice(devices)
            category = rng.choice(cats)
            is_member = rng.choice(bools[0])
            opted_in = rng.choice(bools[1])
            y, m, d = rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28)
            signup = "%04d-%02d-%02d" % (y, m, d)
            last_seen = "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, rng.randint(0, 23),
                                                          rng.randint(0, 59), rng.randint(0, 59))
            u = rng.random()
            if u < 0.05:
                comment = '"great, would buy again"'
            elif u < 0.08:
                comment = '"said ""ok"", left"'
            elif u < 0.5:
                comment = rng.choice(["ok", "fine", "meh", "bad", "good"])
            else:
                comment = ""
            ratio = "%.4f" % rng.random()
            visits = str(int(rng.expovariate(0.1)))
            clicked = "1" if rng.random() < 0.12 else "0"
            buf.append(",".join([amount, score, age, city, device, category, is_member,
                                 opted_in, signup, last_seen, comment, ratio, visits, clicked]))
            if len(buf) >= 10000:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--rows-numeric", type=int, default=1000000)
    ap.add_argument("--rows-mixed", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.abspath(a.outdir)
    if out == repo or out.startswith(repo + os.sep):
        sys.exit("gen_csv.py: refusing to write into the repository (%s)" % out)
    os.makedirs(out, exist_ok=True)
    gen_numeric(os.path.join(out, "numeric.csv"), a.rows_numeric, random.Random(a.seed))
    gen_mixed(os.path.join(out, "mixed.csv"), a.rows_mixed, random.Random(a.seed + 1))


if __name__ == "__main__":
    main()
