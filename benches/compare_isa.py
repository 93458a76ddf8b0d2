#!/usr/bin/env python3
"""netledger's kernels on each instruction set of this machine, side by side.

Alternates `netledger bench --quick --isa ISA` over the instruction sets the
CPU has (avx512, avx2, portable; the ones it lacks fall back and are
skipped), for several rounds in one session, and prints each kernel's
median GFLOP/s per instruction set and the ratio of each to the first, and
the whole forward passes. The load average is printed at both ends: these
machines are shared and noisy, so only ratios from one run mean much.

    python3 benches/compare_isa.py [--rounds 3] [--filter /stage] [--isa avx512,avx2]

Run from the repository root after `cargo build --release`.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETLEDGER = os.path.join(ROOT, "target", "release", "netledger")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--filter", default="/stage")
    ap.add_argument("--isa", default="avx512,avx2")
    ap.add_argument("--network", default="vgg19,resnet34")
    args = ap.parse_args()
    isas = args.isa.split(",")
    print(f"load at start: {os.getloadavg()}")
    gflops = {isa: {} for isa in isas}
    forward = {isa: {} for isa in isas}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for isa in isas:
                out = os.path.join(tmp, f"{isa}-{r}.json")
                subprocess.run([NETLEDGER, "bench", "--quick", "--filter", args.filter,
                                "--network", args.network, "--isa", isa, "--out", out],
                               cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                with open(out) as f:
                    report = json.load(f)
                for k in report["kernels"]:
                    if k["variant"] == "simd":
                        gflops[isa].setdefault((k["name"], k["workload"]), []).append(k["gflops"])
                for n in report.get("networks", []):
                    forward[isa].setdefault((n["model"], n["batch"]), []).append(n["median_s"])
    base = isas[0]
    head = "".join(f"{isa:>10}" for isa in isas) + "".join(f"{isa + '/' + base:>16}" for isa in isas[1:])
    print(f"{'kernel (GFLOP/s, median of ' + str(args.rounds) + ')':<46}{'shape':<32}{head}")
    for key in gflops[base]:
        med = [statistics.median(gflops[isa].get(key, [0.0])) for isa in isas]
        ratios = "".join(f"{m / med[0]:>16.2f}" for m in med[1:])
        print(f"{key[0]:<46}{key[1]:<32}" + "".join(f"{m:>10.1f}" for m in med) + ratios)
    for key in forward[base]:
        med = [statistics.median(forward[isa].get(key, [0.0])) * 1e3 for isa in isas]
        print(f"{key[0]} forward at batch {key[1]} (ms): "
              + ", ".join(f"{isa} {m:.1f}" for isa, m in zip(isas, med)))
    print(f"load at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
