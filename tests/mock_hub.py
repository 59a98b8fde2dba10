#!/usr/bin/env python3
"""A mock Hugging Face Hub for nt5's tests, on an ephemeral 127.0.0.1 port.

Every directory of DATA_DIR with a config.json (and each --repo NAME=DIR tree) is served as the repo
"nt5-test/<directory>" at one fixed commit. Headers follow the real Hub
(X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, X-Error-Code): LFS files
(*.safetensors, *.bin, *.model, *.gguf) answer the resolve URL with a 302 to a
separate "CDN" path and are identified by their sha256; other files are
served directly with their git blob sha1. The CDN honours Range (206),
open-ended or bounded.

Faults, for the failure tests: --require-token T (401 without a token, 403
with another), --drop-after N (the CDN closes the connection after N body
bytes, --drop-count times), --drop-at A,B,... (closes it once at each
absolute file offset, in order), --corrupt (one flipped byte in CDN bodies),
--wrong-etag (X-Linked-Etag of other bytes), --stall S (the CDN sleeps S
seconds mid-body once), --stuck, --trickle S, --long-length and --empty (faulty_cdn).
The repo "nt5-test/hostile" lists "../evil" and
"/etc/passwd"; "nt5-test/bad-sha" answers a commit sha that is not one; "nt5-test/missing-file" lists a model.safetensors that its
resolve URL does not have; "nt5-test/bin-only" is t5-v1_0-tiny (when
DATA_DIR has it) without its safetensors (PyTorch .bin weights only). GET /_stats returns bytes served per path.

usage: mock_hub.py DATA_DIR --port-file FILE [options]
"""
import argparse
import hashlib
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".model", ".gguf")
ORG = "nt5-test"


class Repo:
    def __init__(self, name, directory):
        self.id = ORG + "/" + name
        self.dir = directory
        self.commit = hashlib.sha1(self.id.encode()).hexdigest()
        self.files = sorted(os.path.relpath(os.path.join(root, f), directory)
                            for root, _, names in os.walk(directory) for f in names)

    def read(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            return f.read()


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Hub:
    def __init__(self, args):
        self.args = args
        self.repos = {}
        for name in sorted(os.listdir(args.data)):
            d = os.path.join(args.data, name)
            if os.path.isfile(os.path.join(d, "config.json")):
                r = Repo(name, d)
                self.repos[r.id] = r
        if ORG + "/t5-v1_0-tiny" in self.repos:
            bin_only = Repo("t5-v1_0-tiny", os.path.join(args.data, "t5-v1_0-tiny"))
            bin_only.id = ORG + "/bin-only"
            bin_only.commit = hashlib.sha1(bin_only.id.encode()).hexdigest()
            bin_only.files = [f for f in bin_only.files if f != "model.safetensors"]
            self.repos[bin_only.id] = bin_only
        for spec in args.repo:  # NAME=DIR: any tree, such as a diffusers pipeline
            name, d = spec.split("=", 1)
            r = Repo(name, d)
            self.repos[r.id] = r
        self.lock = threading.Lock()
        self.bytes_served = {}
        self.drops_left = args.drop_count
        self.drop_at = [int(x) for x in args.drop_at.split(",")] if args.drop_at else []
        self.stalled = False
        self.blobs = {}  # sha256 -> (repo, file)

    def count(self, path, n):
        with self.lock:
            self.bytes_served[path] = self.bytes_served.get(path, 0) + n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub = None

    def log_message(self, *a):
        pass

    def send(self, status, headers=(), body=b""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, status, code=None, commit=None, message=""):
        headers = [("Content-Type", "application/json")]
        if code:
            headers.append(("X-Error-Code", code))
        if commit:
            headers.append(("X-Repo-Commit", commit))
        self.send(status, headers, json.dumps({"error": message or code or "error"}).encode())

    def authorized(self):
        want = self.hub.args.require_token
        if not want:
            return True
        got = self.headers.get("Authorization", "")
        if not got:
            self.error(401, "GatedRepo", message="Access to this repo requires a token")
            return False
        if got.startswith("Bearer hf_invalid"):  # as the Hub answers a token it does not know
            self.error(401, message="Invalid credentials in Authorization header")
            return False
        if got != "Bearer " + want:
            self.error(403, "GatedRepo", message="This token cannot access the repo")
            return False
        return True

    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def route(self):
        path = urlsplit(self.path).path
        if path == "/_stats":
            return self.send(200, [("Content-Type", "application/json")], json.dumps(self.hub.bytes_served).encode())
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
        if m:
            return self.model_info(m.group(1), unquote(m.group(2) or "main"))
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            return self.resolve(m.group(1), unquote(m.group(2)), unquote(m.group(3)))
        m = re.fullmatch(r"/cdn/([0-9a-f]{64})", path)
        if m:
            return self.cdn(m.group(1))
        self.error(404, message="no route")

    def repo(self, repo_id, revision):
        r = self.hub.repos.get(repo_id)
        if repo_id in (ORG + "/hostile", ORG + "/missing-file", ORG + "/bad-sha"):
            r = self.hub.repos.get(ORG + "/t5-v1_1-tiny")
        if r is None:
            self.error(404, "RepoNotFound", message="Repository not found")
            return None
        if revision not in ("main", r.commit):
            self.error(404, "RevisionNotFound", message="Invalid rev id")
            return None
        return r

    def model_info(self, repo_id, revision):
        if not self.authorized():
            return
        r = self.repo(repo_id, revision)
        if r is None:
            return
        files = list(r.files)
        if repo_id == ORG + "/hostile":
            files += ["../evil", "/etc/passwd"]
        sha = "c0ffee" if repo_id == ORG + "/bad-sha" else r.commit
        body = {"id": repo_id, "sha": sha, "siblings": [{"rfilename": f} for f in files]}
        self.send(200, [("Content-Type", "application/json")], json.dumps(body).encode())

    def resolve(self, repo_id, revision, name):
        if not self.authorized():
            return
        r = self.repo(repo_id, revision)
        if r is None:
            return
        if name not in r.files or (repo_id == ORG + "/missing-file" and name == "model.safetensors"):
            return self.error(404, "EntryNotFound", r.commit, "Entry not found")
        data = r.read(name)
        if name.endswith(LFS_SUFFIXES):
            sha = hashlib.sha256(data).hexdigest()
            self.hub.blobs[sha] = (r, name)
            linked = hashlib.sha256(data + b"x").hexdigest() if self.hub.args.wrong_etag else sha
            host = self.headers.get("Host")
            return self.send(302, [("Location", "http://%s/cdn/%s" % (host, sha)), ("X-Repo-Commit", r.commit),
                                   ("X-Linked-Etag", '"%s"' % linked), ("X-Linked-Size", str(len(data))),
                                   ("ETag", '"%s"' % git_sha1(data)), ("Content-Length", "0")])
        self.hub.count("/%s/%s" % (repo_id, name), 0 if self.command == "HEAD" else len(data))
        self.send(200, [("X-Repo-Commit", r.commit), ("ETag", '"%s"' % git_sha1(data))], data)

    def cdn(self, sha):
        if sha not in self.hub.blobs:
            return self.error(404, message="no such blob")
        r, name = self.hub.blobs[sha]
        data = r.read(name)
        if self.hub.args.corrupt:
            data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
        if self.hub.args.stuck or self.hub.args.trickle or self.hub.args.long_length or self.hub.args.empty:
            return self.faulty_cdn(sha, data)
        start, last, status = 0, len(data) - 1, 200
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m:
            start, status = int(m.group(1)), 206
            if m.group(2):
                last = min(int(m.group(2)), len(data) - 1)
            if start >= len(data) or start > last:
                return self.send(416, [("Content-Range", "bytes */%d" % len(data))])
        body = data[start:last + 1]
        headers = [("Content-Length", str(len(body))), ("ETag", '"%s"' % sha)]
        if status == 206:
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, last, len(data))))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = len(body)
        with self.hub.lock:
            if self.hub.args.drop_after and self.hub.drops_left > 0 and len(body) > self.hub.args.drop_after:
                self.hub.drops_left -= 1
                cut = self.hub.args.drop_after
            while self.hub.drop_at and self.hub.drop_at[0] <= start:
                self.hub.drop_at.pop(0)  # a point already passed
            if self.hub.drop_at and self.hub.drop_at[0] < len(data):
                cut = self.hub.drop_at.pop(0) - start
            stall = self.hub.args.stall and not self.hub.stalled
            self.hub.stalled = self.hub.stalled or bool(stall)
        half = min(cut, len(body) // 2)
        self.wfile.write(body[:half])
        self.hub.count("/cdn/" + sha, half)
        if stall:
            time.sleep(self.hub.args.stall)
        self.wfile.write(body[half:cut])
        self.hub.count("/cdn/" + sha, cut - half)
        if cut < len(body):
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)


    def faulty_cdn(self, sha, data):
        """--stuck: 1000 bytes of what was asked, then nothing; --trickle S: a
        byte every S seconds; --long-length: the whole file every time,
        Range ignored, under a Content-Length 1000 bytes too long; --empty:
        the headers, then the connection closed before any byte."""
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m and not self.hub.args.long_length:
            start = min(int(m.group(1)), len(data))
        body = data[start:]
        length = len(body) + (1000 if self.hub.args.long_length else 0)
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", '"%s"' % sha)
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        try:
            if self.hub.args.empty:
                pass
            elif self.hub.args.stuck:
                self.wfile.write(body[:1000])
                self.wfile.flush()
                time.sleep(self.hub.args.lifetime)
            elif self.hub.args.trickle:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(self.hub.args.trickle)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--require-token")
    ap.add_argument("--drop-after", type=int, default=0)
    ap.add_argument("--drop-count", type=int, default=1)
    ap.add_argument("--drop-at", default="")
    ap.add_argument("--corrupt", action="store_true")
    ap.add_argument("--wrong-etag", action="store_true")
    ap.add_argument("--stall", type=float, default=0)
    ap.add_argument("--stuck", action="store_true")
    ap.add_argument("--trickle", type=float, default=0)
    ap.add_argument("--long-length", action="store_true")
    ap.add_argument("--empty", action="store_true")
    ap.add_argument("--repo", action="append", default=[], metavar="NAME=DIR",
                    help="serve the tree DIR as nt5-test/NAME")
    ap.add_argument("--lifetime", type=float, default=600, help="stop by itself after this many seconds")
    args = ap.parse_args()
    Handler.hub = Hub(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    server.serve_forever()


if __name__ == "__main__":
    main()
