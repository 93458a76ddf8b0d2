#!/usr/bin/env python3
"""How netledger's whole-process build grows with the content.

Generates plain books (no computed parts) of 10, 100, 1,000 and 5,000 pages
and a folder of 1,000 small model files, then times `netledger build -q`
on each: median wall time of --runs runs, the first run's (a fresh build:
no previous output; the later runs rebuild over it), peak RSS (from
/usr/bin/time) and output size, with the load average around the run. Where `mdbook` and
`hugo` are on PATH, the same books are also built with them, each run of
each tool in turn (netledger, mdBook, Hugo, netledger, ...), so the ratios
come from one session of a shared machine. The Hugo site has minimal
layouts (title and content, no menu); mdBook's default theme lists every
chapter on every page, as netledger did before its sidebar window. Needs a
release build (cargo build --release). Not part of CI.

    python3 benches/scale.py [--runs 3] [--sizes 10,100,1000,5000] [--dir DIR]

The books are written under --dir (default: the system's temp folder). On
the dev VM, file creation times swing by 3-4x from run to run and folder to
folder (ext4 journal commits and writeback of the files just generated), for
every tool alike: compare the tools within one run, never across runs.
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


def text(rng):
    """Three paragraphs of 60 words: one page's body."""
    return "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(60)) for _ in range(3))


def book(dir, pages, rng):
    content = os.path.join(dir, "content")
    os.makedirs(os.path.join(content, "models"))
    with open(os.path.join(content, "index.md"), "w") as f:
        f.write('+++\ntitle = "Book"\n+++\nHello.\n')
    for i in range(pages):
        body = text(rng)
        with open(os.path.join(content, f"{i:05d}-p.md"), "w") as f:
            f.write(f'+++\ntitle = "Page {i}"\nweight = {i}\n+++\n## Part\n\n{body}\n')


def mdbook_tree(dir, pages, rng):
    src = os.path.join(dir, "src")
    os.makedirs(src)
    with open(os.path.join(dir, "book.toml"), "w") as f:
        f.write('[book]\ntitle = "Book"\n\n[output.html]\n')
    summary = ["# Summary\n", "[Book](index.md)\n"]
    with open(os.path.join(src, "index.md"), "w") as f:
        f.write("# Book\n\nHello.\n")
    for i in range(pages):
        body = text(rng)
        with open(os.path.join(src, f"{i:05d}-p.md"), "w") as f:
            f.write(f"# Page {i}\n\n## Part\n\n{body}\n")
        summary.append(f"- [Page {i}]({i:05d}-p.md)\n")
    with open(os.path.join(src, "SUMMARY.md"), "w") as f:
        f.writelines(summary)


def hugo_tree(dir, pages, rng):
    content = os.path.join(dir, "content")
    layouts = os.path.join(dir, "layouts", "_default")
    os.makedirs(content)
    os.makedirs(layouts)
    with open(os.path.join(dir, "hugo.toml"), "w") as f:
        f.write('baseURL = "/"\ntitle = "Book"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n')
    for name in ("single.html", "list.html"):
        with open(os.path.join(layouts, name), "w") as f:
            f.write("<!DOCTYPE html><html><head><title>{{ .Title }}</title></head>"
                    "<body><h1>{{ .Title }}</h1>{{ .Content }}</body></html>\n")
    for i in range(pages):
        body = text(rng)
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
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="netledger-scale-", dir=args.dir)
    try:
        sizes = list(map(int, args.sizes.split(",")))
        peers = [(tool, cmd, make) for tool, cmd, make in (
            ("mdbook", ["mdbook", "build"], mdbook_tree),
            ("hugo", ["hugo", "--quiet"], hugo_tree),
        ) if shutil.which(tool)]
        print(f"load average at start: {os.getloadavg()}; books under {work}")
        print(f"{'case':<12} {'tool':<10} {'median s':>9} {'best s':>8} {'first s':>8} {'peak MB':>8}  netledger is")
        for n in sizes + [None]:
            name = f"{n} pages" if n else "1000 models"
            d = os.path.join(work, name.replace(" ", "-"))
            if n:
                book(d, n, random.Random(n))
            else:
                models(d, 1000)
            tools = [("netledger", [NETLEDGER, "build", "-q"], d)]
            for tool, cmd, make in (peers if n else []):
                pd = os.path.join(work, f"{tool}-{n}")
                make(pd, n, random.Random(n))
                tools.append((tool, cmd, pd))
            results = {t: [] for t, _, _ in tools}
            for _ in range(args.runs):
                for tool, cmd, cwd in tools:
                    results[tool].append(timed(cmd, cwd))
            ours = statistics.median(w for w, _ in results["netledger"])
            for tool, runs in results.items():
                walls = [w for w, _ in runs]
                med = statistics.median(walls)
                ratio = "" if tool == "netledger" else f"{med / ours:.1f}x faster"
                print(f"{name:<12} {tool:<10} {med:>9.3f} {min(walls):>8.3f} {walls[0]:>8.3f} "
                      f"{max(r for _, r in runs) / 1024:>8.0f}  {ratio}")
            print(f"{'':<12} netledger site: {size_of(os.path.join(d, 'site')) / 1e6:.1f} MB")
            for _, _, cwd in tools:
                shutil.rmtree(cwd, ignore_errors=True)
        print(f"load average at end: {os.getloadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
