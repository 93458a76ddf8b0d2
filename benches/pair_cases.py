#!/usr/bin/env python3
"""Two bench cases of this build, timed side by side.

Alternates one sample of case A and one of case B (B first in every other
pair) through `netledger bench --sample-stdin`, and prints both medians and
the quartiles of B's time over A's, pair by pair. On a shared machine two
medians taken minutes apart can differ by more than the effect measured;
pairs taken within a second of each other much less (the sampler prepares
a case again whenever the name changes, untimed, so for fc6 about 60 ms of
preparation lie between the two samples of a pair; for `network:MODEL`
the whole weight fill). The goal "fc6 at batch 8 within
1.2x of batch 1" is measured this way:

    python3 benches/pair_cases.py vgg19/head/fc6 vgg19/head/fc6@b8 [--samples 15] [--cpu 1]

Case names are the ones `bench` records (`network:MODEL` for a whole
forward pass). Run from the repository root after `cargo build --release`.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETLEDGER = os.path.join(ROOT, "target", "release", "netledger")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--samples", type=int, default=15)
    ap.add_argument("--cpu", type=int, default=None)
    args = ap.parse_args()
    if args.samples < 1:
        ap.error("--samples must be at least 1")
    cmd = [NETLEDGER, "bench", "--sample-stdin", "--network", "vgg19,resnet34"]
    if args.cpu is not None:
        cmd += ["--cpu", str(args.cpu)]
    p = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, bufsize=1)
    first = p.stdout.readline()
    if not first:
        sys.exit("netledger bench --sample-stdin stopped before its header (see its error above)")
    header = json.loads(first)

    def sample(name):
        p.stdin.write(name + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line:
            sys.exit(f"netledger stopped at `{name}` (see its error above)")
        return float(line)

    print(f"machine {header['machine']['cpu_model']}, load at start {os.getloadavg()}")
    sample(args.a)
    sample(args.b)
    ta, tb = [], []
    for i in range(args.samples):
        if i % 2:
            tb.append(sample(args.b))
            ta.append(sample(args.a))
        else:
            ta.append(sample(args.a))
            tb.append(sample(args.b))
    p.stdin.close()
    p.wait()
    ratios = [b / a for a, b in zip(ta, tb)]
    q = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else ratios * 3
    print(f"{args.a}: median {statistics.median(ta) * 1e3:.3f} ms")
    print(f"{args.b}: median {statistics.median(tb) * 1e3:.3f} ms")
    print(f"{args.b} / {args.a}, {len(ratios)} pairs: median {q[1]:.3f}, middle half {q[0]:.3f}-{q[2]:.3f}")
    print(f"load at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
