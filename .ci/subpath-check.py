#!/usr/bin/env python3
"""Serves a built site under a sub-path on loopback and checks every local link.

Copies SITE into a temporary root as `ROOT/course/notes/`, serves ROOT with
Python's http.server on 127.0.0.1 (a free port), then fetches every HTML page
under http://127.0.0.1:PORT/course/notes/ and every `href`/`src` in it that
is relative (no scheme, not starting with `/`), resolved against the page's
URL, as a static host such as GitHub Pages would serve them. Fails on any
answer other than 200, on a link that leaves the sub-path, and on a missing
`#fragment` in a fetched HTML page. Standard library only.

    python3 .ci/subpath-check.py SITE
"""
import html.parser
import http.server
import os
import shutil
import socketserver
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

SUBPATH = "/course/notes/"


class Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value:
                self.refs.append(value)


def parse(text):
    p = Refs()
    p.feed(text)
    return p


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def main():
    site = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="netledger-subpath-")
    try:
        shutil.copytree(site, os.path.join(root, SUBPATH.strip("/")))
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=root, **k)
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_address[1]}{SUBPATH}"
            pages = sorted(
                os.path.relpath(os.path.join(d, f), site).replace(os.sep, "/")
                for d, _, fs in os.walk(site) for f in fs if f.endswith(".html")
            )
            parsed, failures, checked = {}, [], 0
            for page in pages:
                url = urllib.parse.urljoin(base, page)
                status, body = fetch(url)
                parsed[url] = parse(body.decode("utf-8"))
            for url, doc in parsed.items():
                for ref in doc.refs:
                    target = urllib.parse.urlparse(ref)
                    if target.scheme or ref.startswith("/") or ref.startswith("data:"):
                        continue
                    full = urllib.parse.urljoin(url, ref)
                    path, _, fragment = full.partition("#")
                    if not urllib.parse.urlparse(path).path.startswith(SUBPATH):
                        failures.append(f"{url}: `{ref}` leaves {SUBPATH}")
                        continue
                    checked += 1
                    try:
                        status, _ = fetch(path)
                    except urllib.error.HTTPError as e:
                        status = e.code
                    if status != 200:
                        failures.append(f"{url}: `{ref}` -> HTTP {status}")
                    elif fragment and path in parsed and fragment not in parsed[path].ids:
                        failures.append(f"{url}: `{ref}` -> no id `{fragment}`")
            server.shutdown()
        for f in failures[:40]:
            print(f"FAIL {f}")
        print(f"{len(pages)} pages served under {SUBPATH}, {checked} local links checked, {len(failures)} broken")
        return 1 if failures else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
