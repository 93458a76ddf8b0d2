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

With `--build-b PATH`, case B runs on another netledger binary in a process
of its own, so two builds are compared on one case (copy the first build's
`target/release/netledger` away before building the second):

    python3 benches/pair_cases.py vgg19/stage3/conv2 vgg19/stage3/conv2 --build-b /tmp/netledger-a --cpu 1
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
    ap.add_argument("--build-b", default=None,
                    help="another netledger binary that runs case B")
    args = ap.parse_args()
    if args.samples < 1:
        ap.error("--samples must be at least 1")
    if args.build_b is not None and not os.access(args.build_b, os.X_OK):
        ap.error(f"--build-b {args.build_b}: not an executable file")

    def start(binary):
        cmd = [binary, "bench", "--sample-stdin", "--network", "vgg19,resnet34"]
        if args.cpu is not None:
            cmd += ["--cpu", str(args.cpu)]
        p = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, bufsize=1)
        first = p.stdout.readline()
        if not first:
            sys.exit(f"{binary} bench --sample-stdin stopped before its header (see its error above)")
        return p, json.loads(first)

    pa, header = start(NETLEDGER)
    pb = start(args.build_b)[0] if args.build_b is not None else pa

    def sample(name, p=pa):
        p.stdin.write(name + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line:
            sys.exit(f"netledger stopped at `{name}` (see its error above)")
        return float(line)

    print(f"machine {header['machine']['cpu_model']}, load at start {os.getloadavg()}")
    sample(args.a)
    sample(args.b, pb)
    ta, tb = [], []
    for i in range(args.samples):
        if i % 2:
            tb.append(sample(args.b, pb))
            ta.append(sample(args.a))
        else:
            ta.append(sample(args.a))
            tb.append(sample(args.b, pb))
    for p in {pa, pb}:
        p.stdin.close()
        p.wait()
    ratios = [b / a for a, b in zip(ta, tb)]
    q = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else ratios * 3
    label_b = args.b if args.build_b is None else f"{args.b} on {args.build_b}"
    print(f"{args.a}: median {statistics.median(ta) * 1e3:.3f} ms")
    print(f"{label_b}: median {statistics.median(tb) * 1e3:.3f} ms")
    print(f"{label_b} / {args.a}, {len(ratios)} pairs: median {q[1]:.3f}, middle half {q[0]:.3f}-{q[2]:.3f}")
    print(f"load at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
