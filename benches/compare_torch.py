#!/usr/bin/env python3
"""netledger's kernels against PyTorch (oneDNN) on this machine, side by side.

Developer only (needs torch and torchvision; CI never runs it). Alternates
rounds in one session: `netledger bench --quick` (every kernel shape of
VGG-19, ResNet-34 and ResNet-50, and the whole VGG-19 and ResNet-34 forward
passes at batch 1), then PyTorch on the same shapes, single thread, batch
as in each netledger case, then PyTorch's whole VGG-19 and ResNet-34
forward passes at batch 1. Medians over the rounds; the load
average is recorded at both ends. Writes content/data/peers/MACHINE.json
(MACHINE as netledger names its results file), which the measured chapter
shows with `peers()`.

    python3 benches/compare_torch.py [--rounds 3] [--reps 5]

Run from the repository root after `cargo build --release`.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

import torch
import torchvision
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETLEDGER = os.path.join(ROOT, "target", "release", "netledger")


def machine_key(m):
    """The same key as netledger's Machine::key (src/bench/results.rs)."""
    text = f"{m['cpu_model']} {' '.join(m['features'])} {m['cores']}c".lower()
    key = ""
    for c in text:
        if c.isascii() and c.isalnum():
            key += c
        elif key and not key.endswith("-"):
            key += "-"
    return key.rstrip("-")[:80]


def op_for(workload):
    """A torch module and its input for one netledger workload string, or None."""
    m = re.fullmatch(r"conv (\d+)->(\d+) (\d+)x(\d+) k(\d+) s(\d+) p(\d+)", workload)
    if m:
        cin, cout, h, w, k, s, p = map(int, m.groups())
        return nn.Conv2d(cin, cout, k, s, p, bias=False), torch.randn(1, cin, h, w)
    m = re.fullmatch(r"gemv (\d+)x(\d+)", workload)
    if m:
        n, k = map(int, m.groups())
        return nn.Linear(k, n, bias=False), torch.randn(1, k)
    m = re.fullmatch(r"gemm (\d+)x(\d+) \* (\d+)x(\d+)", workload)
    if m:
        b, k, _, n = map(int, m.groups())
        return nn.Linear(k, n, bias=False), torch.randn(b, k)
    return None


def median_time(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    load_start = os.getloadavg()
    nets = {
        "vgg19": torchvision.models.vgg19(weights=None).eval(),
        "resnet34": torchvision.models.resnet34(weights=None).eval(),
    }
    image = torch.randn(1, 3, 224, 224)
    ours, theirs, forward = {}, {}, {name: [] for name in nets}
    our_forward = {name: [] for name in nets}
    machine = None
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            out = os.path.join(tmp, f"round{r}.json")
            subprocess.run([NETLEDGER, "bench", "--quick", "--network", ",".join(nets), "--out", out],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            with open(out) as f:
                report = json.load(f)
            machine = report["machine"]
            for k in report["kernels"]:
                if k["variant"] != "simd":
                    continue
                op = op_for(k["workload"])
                if op is None:
                    continue
                module, x = op
                ours.setdefault(k["name"], (k["workload"], k["batch"], []))[2].append(k["median_s"])
                theirs.setdefault(k["name"], []).append(median_time(lambda: module(x), args.reps))
            for n in report.get("networks", []):
                if n["batch"] == 1 and n["model"] in our_forward:
                    our_forward[n["model"]].append(n["median_s"])
            for name, net in nets.items():
                forward[name].append(median_time(lambda: net(image), args.reps))
    kernels = [
        {
            "name": name,
            "workload": workload,
            "batch": batch,
            "netledger_median_s": statistics.median(times),
            "torch_median_s": statistics.median(theirs[name]),
        }
        for name, (workload, batch, times) in ours.items()
    ]
    result = {
        "about": f"torch {torch.__version__} (oneDNN), torchvision {torchvision.__version__}, "
                 f"single thread; made by benches/compare_torch.py",
        "machine_key": machine_key(machine),
        "cpu_model": machine["cpu_model"],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": args.rounds,
        "load_avg_start": list(load_start),
        "load_avg_end": list(os.getloadavg()),
        "kernels": kernels,
        "forward": [
            {"model": name, "batch": 1, "torch_median_s": statistics.median(ts),
             "netledger_median_s": statistics.median(our_forward[name])}
            for name, ts in forward.items()
        ],
    }
    path = os.path.join(ROOT, "content", "data", "peers", f"{result['machine_key']}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}")
    for k in kernels:
        print(f"{k['name']:<40} ours {k['netledger_median_s'] * 1e3:9.3f} ms  "
              f"torch {k['torch_median_s'] * 1e3:9.3f} ms  torch/ours {k['torch_median_s'] / k['netledger_median_s']:5.2f}")
    for f_ in result["forward"]:
        print(f"{f_['model']} forward, torch: {f_['torch_median_s'] * 1e3:.1f} ms, "
              f"netledger: {f_['netledger_median_s'] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
