#!/usr/bin/env python3
"""A feed server that misbehaves on purpose, for the hostile-feed tests (loopback only).

  hostile_http.py MODE_FILE PORT     listens on 127.0.0.1:PORT

The file MODE_FILE holds the current mode, read at each request, so a test can switch it:
  good      /feed.txt is a small valid list
  stall     /feed.txt sends its headers and a few bytes, then nothing
  endless   /feed.txt sends list lines forever
  taxii-same / taxii-new
            a TAXII 2.1 server (/taxii2/, /api/collections/, .../objects/) whose collection
            always says `more`: the same page again, or ever new objects
"""
import http.server
import itertools
import json
import socketserver
import sys
import time

MODE_FILE = sys.argv[1]
COUNTER = itertools.count()
TAXII = "application/taxii+json;version=2.1"


def mode():
    with open(MODE_FILE) as f:
        return f.read().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def json(self, doc):
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", TAXII)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        m = mode()
        path = self.path.split("?")[0]
        port = self.server.server_address[1]
        if path == "/feed.txt":
            if m == "good":
                body = b"203.0.113.10\n203.0.113.11\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif m == "stall":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"203.0.113.")
                self.wfile.flush()
                time.sleep(60)
            elif m == "endless":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                line = b"198.51.100.1\n" * 1000
                try:
                    while True:
                        self.wfile.write(line)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            return
        if path == "/taxii2/":
            return self.json({"title": "hostile", "api_roots": [f"http://127.0.0.1:{port}/api/"]})
        if path == "/api/collections/":
            return self.json({"collections": [{"id": "c1", "title": "forever", "can_read": True}]})
        if path == "/api/collections/c1/objects/":
            n = next(COUNTER) if m == "taxii-new" else 0
            objects = [
                {
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": f"indicator--00000000-0000-4000-8000-{n * 10 + i:012d}",
                    "created": "2024-01-01T00:00:00Z",
                    "modified": "2024-01-01T00:00:00Z",
                    "pattern": f"[ipv4-addr:value = '10.{(n >> 8) & 255}.{n & 255}.{i}']",
                    "pattern_type": "stix",
                    "valid_from": "2024-01-01T00:00:00Z",
                }
                for i in range(10)
            ]
            return self.json({"more": True, "next": str(n + 1), "objects": objects})
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
