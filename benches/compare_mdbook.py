#!/usr/bin/env python3
"""Side-by-side build time: netledger vs mdBook on the same plain Markdown book.

Generates 10 chapters (about 25,000 words in all, with tables and code) once,
as an mdBook source tree and as a netledger content folder (no computed parts,
no models), then times whole-process builds of each: 2 warm-up runs, then the
median of 5. Needs `mdbook` on PATH (cargo install mdbook) and a release build
of netledger (cargo build --release). Not part of CI.

    python3 benches/compare_mdbook.py [--runs 5]
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WORDS = ("layer weight channel kernel stride padding feature map pooling residual block stage "
         "parameter operation memory bandwidth cache vector register accumulate multiply add "
         "network depth width resolution batch gradient training inference tensor shape output "
         "input convolution linear normalization activation shortcut projection bottleneck head").split()


def paragraph(rng, words):
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def chapter(rng, n):
    parts = [f"## Section {n}.1\n"]
    for s in range(1, 6):
        if s > 1:
            parts.append(f"## Section {n}.{s}\n")
        for _ in range(4):
            parts.append(paragraph(rng, 105) + "\n")
        parts.append("| layer | params | MACs |\n|---|---:|---:|")
        for r in range(10):
            parts.append(f"| conv{r} | {rng.randint(1000, 9999999):,} | {rng.randint(10**6, 10**9):,} |")
        parts.append("\n```text\nconv 64 k3 p1\nbn\nrelu\n```\n")
    return "\n".join(parts) + "\n"


def make_book(root):
    rng = random.Random(20261126)
    chapters = [chapter(rng, i) for i in range(1, 11)]
    words = sum(len(c.split()) for c in chapters)
    md = os.path.join(root, "mdbook")
    os.makedirs(os.path.join(md, "src"))
    with open(os.path.join(md, "book.toml"), "w") as f:
        f.write('[book]\ntitle = "Bench"\n\n[output.html]\n')
    with open(os.path.join(md, "src", "SUMMARY.md"), "w") as f:
        f.write("# Summary\n\n" + "".join(f"- [Chapter {i}](ch{i:02}.md)\n" for i in range(1, 11)))
    nl = os.path.join(root, "netledger", "content")
    os.makedirs(nl)
    with open(os.path.join(nl, "index.md"), "w") as f:
        f.write('+++\ntitle = "Bench"\n+++\nA plain book.\n')
    for i, text in enumerate(chapters, 1):
        with open(os.path.join(md, "src", f"ch{i:02}.md"), "w") as f:
            f.write(f"# Chapter {i}\n\n{text}")
        with open(os.path.join(nl, f"ch{i:02}.md"), "w") as f:
            f.write(f'+++\ntitle = "Chapter {i}"\nweight = {i}\n+++\n{text}')
    return md, os.path.dirname(nl), words


def timed(cmd, cwd, runs):
    for _ in range(2):
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, min(samples) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    netledger = os.path.join(repo, "target", "release", "netledger")
    mdbook = shutil.which("mdbook") or os.path.expanduser("~/.cargo/bin/mdbook")
    if not os.path.exists(netledger) or not os.path.exists(mdbook):
        sys.exit("needs target/release/netledger (cargo build --release) and mdbook (cargo install mdbook)")
    version = subprocess.run([mdbook, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as root:
        md, nl, words = make_book(root)
        md_med, md_min = timed([mdbook, "build"], md, args.runs)
        nl_med, nl_min = timed([netledger, "build"], nl, args.runs)
    load = open("/proc/loadavg").read().split()[:3]
    print(f"book: 10 chapters, {words} words, 50 tables; load average {' '.join(load)}")
    print(f"{version:<24} median {md_med:7.1f} ms  best {md_min:7.1f} ms")
    print(f"{'netledger':<24} median {nl_med:7.1f} ms  best {nl_min:7.1f} ms")
    print(f"ratio mdBook / netledger (median): {md_med / nl_med:.2f}")


if __name__ == "__main__":
    main()
