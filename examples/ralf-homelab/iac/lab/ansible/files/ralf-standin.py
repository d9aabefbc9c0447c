#!/usr/bin/python3
"""The lab's stand-in for a RALF service: listens on a port; for "http" answers 200 with the
service's name on the health path (and "/"), 404 elsewhere; for "tcp" accepts connections and
greets. Usage: ralf-standin http|tcp PORT SERVICE [HEALTH_PATH]"""
import http.server
import socketserver
import sys

kind, port, service = sys.argv[1], int(sys.argv[2]), sys.argv[3]
health = sys.argv[4] if len(sys.argv) > 4 else "/"


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path.split("?")[0] in (health, "/")
        body = (f"{service} ok\n" if ok else "not found\n").encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


class Greet(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(f"{service} stand-in\r\n".encode())


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


handler = Health if kind == "http" else Greet
with Server(("0.0.0.0", port), handler) as server:
    server.serve_forever()
