#!/usr/bin/env python3
"""The demo app server of docker/compose.yaml: answers every GET with the name of its host.

usage: pharos-demo-app ADDRESS:PORT   (the name is $PHAROS_DEMO_NAME, else the host name)
"""
import http.server
import os
import socket
import sys

NAME = os.environ.get("PHAROS_DEMO_NAME") or socket.gethostname()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("ok\n" if self.path == "/healthz" else f"hello from {NAME}\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    host, _, port = sys.argv[1].rpartition(":")
    server = http.server.ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
