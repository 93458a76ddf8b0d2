#!/usr/bin/env python3
"""netledger's kernels against PyTorch (oneDNN) on this machine, side by side.

Developer only (needs torch and torchvision; CI never runs it). Every kernel
shape of VGG-19, ResNet-34 and ResNet-50 that netledger benchmarks, and the
whole VGG-19 and ResNet-34 forward passes at batch 1, single thread, are
timed sample by sample in alternation: one sample of netledger's kernel
(`netledger bench --sample-stdin`, kept running), one of PyTorch's on the
same shape and batch, and so on. Both sides of a pair run within a second
of each other, so a noisy neighbour on a shared machine slows both (whole
suites in alternating rounds let a noisy minute fall on one side only).
Medians over the samples, and the quartiles of PyTorch's time over
netledger's pair by pair; the load average is recorded at both ends.
Writes content/data/peers/MACHINE.json (MACHINE as netledger names its
results file), which the measured chapter shows with `peers()`.

    python3 benches/compare_torch.py [--samples 15]

Run from the repository root after `cargo build --release`.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import time

import torch
import torchvision
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETLEDGER = os.path.join(ROOT, "target", "release", "netledger")


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


MIN_SAMPLE_S = 2e-3  # as netledger's sampler: cheap kernels repeat to fill it


def sized_sample(fn):
    """A function timing one sample of `fn` (seconds per call), repeated so
    a sample lasts at least MIN_SAMPLE_S, after a warm-up call."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-9)
    reps = min(max(1, int(MIN_SAMPLE_S / once + 0.999)), 10_000)

    def sample():
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - start) / reps
    return sample


class Netledger:
    """`netledger bench --sample-stdin`: one sample of ours per request."""

    def __init__(self, networks):
        self.proc = subprocess.Popen(
            [NETLEDGER, "bench", "--sample-stdin", "--network", ",".join(networks)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.header = json.loads(self.proc.stdout.readline())

    def sample(self, name):
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"netledger stopped at `{name}` (exit {self.proc.wait()})")
        return float(line)

    def close(self):
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise SystemExit(f"netledger failed (exit {self.proc.returncode})")


def paired(ours, theirs, samples):
    """`samples` samples of each side, alternating one by one (who goes
    first alternates too); both warmed up first. Their medians, and the
    quartiles of the ratio theirs / ours taken pair by pair."""
    ours()
    theirs = sized_sample(theirs)
    a, b = [], []
    for i in range(samples):
        if i % 2:
            b.append(theirs())
            a.append(ours())
        else:
            a.append(ours())
            b.append(theirs())
    ratios = [y / x for x, y in zip(a, b)]
    quartiles = statistics.quantiles(ratios, n=4, method="inclusive") if samples > 1 else ratios * 3
    return statistics.median(a), statistics.median(b), quartiles


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=15,
                    help="samples of each side per shape (default 15)")
    ap.add_argument("--cpu", type=int, default=None,
                    help="the CPU both sides run on (default: the last one this process may use)")
    args = ap.parse_args()
    if args.samples < 1:
        ap.error("--samples must be at least 1")
    # Both sides on one CPU: on a VM, two vCPUs can differ by 1.3x for
    # minutes (a busy sibling thread on the host), and a process the
    # scheduler leaves on the slow one loses every pair. netledger, started
    # below, inherits the affinity.
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    load_start = os.getloadavg()
    nets = {
        "vgg19": torchvision.models.vgg19(weights=None).eval(),
        "resnet34": torchvision.models.resnet34(weights=None).eval(),
    }
    image = torch.randn(1, 3, 224, 224)
    ours = Netledger(list(nets))
    kernels = []
    for case in ours.header["cases"]:
        op = op_for(case["workload"])
        if op is None:
            continue
        module, x = op
        name = case["name"]
        mine, theirs, q = paired(lambda: ours.sample(name), lambda: module(x), args.samples)
        kernels.append({"name": name, "workload": case["workload"], "batch": case["batch"],
                        "netledger_median_s": mine, "torch_median_s": theirs,
                        "ratio_quartiles": q})
        print(f"{name:<40} ours {mine * 1e3:9.3f} ms  torch {theirs * 1e3:9.3f} ms  "
              f"torch/ours {theirs / mine:5.2f} (pairs {q[0]:.2f}-{q[2]:.2f})", flush=True)
    forward = []
    for model, net in nets.items():
        mine, theirs, q = paired(lambda: ours.sample(f"network:{model}"), lambda: net(image),
                                 args.samples)
        forward.append({"model": model, "batch": 1, "torch_median_s": theirs,
                        "netledger_median_s": mine, "ratio_quartiles": q})
        print(f"{model} forward, torch: {theirs * 1e3:.1f} ms, netledger: {mine * 1e3:.1f} ms",
              flush=True)
    ours.close()
    machine = ours.header["machine"]
    result = {
        "about": f"torch {torch.__version__} (oneDNN), torchvision {torchvision.__version__}, "
                 f"single thread; made by benches/compare_torch.py",
        "machine_key": ours.header["machine_key"],
        "cpu_model": machine["cpu_model"],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": args.samples,
        "interleaved": True,
        "cpu": cpu,
        "load_avg_start": list(load_start),
        "load_avg_end": list(os.getloadavg()),
        "kernels": kernels,
        "forward": forward,
    }
    path = os.path.join(ROOT, "content", "data", "peers", f"{result['machine_key']}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
