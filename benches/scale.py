#!/usr/bin/env python3
"""How netledger's whole-process build grows with the content.

Generates plain books (no computed parts) of 10, 100, 1,000 and 5,000 pages
and a folder of 1,000 small model files, then times `netledger build -q`
on each: median wall time of --runs runs, peak RSS (from /usr/bin/time) and
output size, with the load average around the run. Needs a release build
(cargo build --release). Not part of CI. (`compare_mdbook.py` times mdBook
on a 10-chapter book; a sweep against mdBook and Hugo is still to be added.)

    python3 benches/scale.py [--runs 3] [--sizes 10,100,1000,5000]
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETLEDGER = os.path.join(ROOT, "target", "release", "netledger")
WORDS = "layer weight channel kernel stride padding feature map pooling residual block".split()


def book(dir, pages, rng):
    content = os.path.join(dir, "content")
    os.makedirs(os.path.join(content, "models"))
    with open(os.path.join(content, "index.md"), "w") as f:
        f.write('+++\ntitle = "Book"\n+++\nHello.\n')
    for i in range(pages):
        body = "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(60)) for _ in range(3))
        with open(os.path.join(content, f"{i:05d}-p.md"), "w") as f:
            f.write(f'+++\ntitle = "Page {i}"\nweight = {i}\n+++\n## Part\n\n{body}\n')


def models(dir, count):
    content = os.path.join(dir, "content")
    os.makedirs(os.path.join(content, "models"))
    with open(os.path.join(content, "index.md"), "w") as f:
        f.write('+++\ntitle = "Models"\n+++\nHello.\n')
    for i in range(count):
        with open(os.path.join(content, "models", f"m{i:04d}.toml"), "w") as f:
            f.write(f'name = "M{i}"\ninput = [3, 32, 32]\n\n[[section]]\nname = "s"\n'
                    f'layers = ["conv {8 + i % 8} k3 p1", "relu", "adaptiveavgpool 1", "flatten", "linear 10"]\n')


def timed(cmd, cwd):
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{out.stderr}")
    rss_kb = int(out.stderr.strip().splitlines()[-1])
    return wall, rss_kb


def size_of(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="10,100,1000,5000")
    args = ap.parse_args()
    rng = random.Random(1)
    work = tempfile.mkdtemp(prefix="netledger-scale-")
    try:
        cases = [(f"{n} pages", lambda d, n=n: book(d, n, rng)) for n in map(int, args.sizes.split(","))]
        cases.append(("1000 models", lambda d: models(d, 1000)))
        print(f"load average at start: {os.getloadavg()}")
        print(f"{'case':<12} {'median s':>9} {'best s':>8} {'peak MB':>8} {'site MB':>8}")
        for name, make in cases:
            d = os.path.join(work, name.replace(" ", "-"))
            make(d)
            runs = [timed([NETLEDGER, "build", "-q"], d) for _ in range(args.runs)]
            walls = [w for w, _ in runs]
            print(f"{name:<12} {statistics.median(walls):>9.2f} {min(walls):>8.2f} "
                  f"{max(r for _, r in runs) / 1024:>8.0f} {size_of(os.path.join(d, 'site')) / 1e6:>8.1f}")
            shutil.rmtree(d)
        print(f"load average at end: {os.getloadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
