"""An HTTP proxy on 127.0.0.1 that injects S3 faults between the connector and moto.

Run by `cargo xtask lake`: `fault_proxy.py UPSTREAM_PORT CONTROL.json`. It prints
`{"port": N}` once listening, then forwards every request to moto on 127.0.0.1:UPSTREAM_PORT,
except object writes (`PUT` and `POST`, the multipart calls included), which it answers from
the control file (re-read at each write):

    {"schedule": ["500", "503", "stall", "reset", "ok", …], "deny": false, "stall_seconds": 3}

- the n-th write takes the n-th word of `schedule` (a write past its end is forwarded):
  `500` InternalError, `503` SlowDown, `stall` (hold the connection `stall_seconds` without a
  byte, then close it), `reset` (close the connection without an answer), `ok` (forwarded);
- `deny`: every write gets 403 AccessDenied (a refused credential), whatever the schedule.

Each write is logged on stderr as one JSON line `{"write": n, "method", "path", "fault"}`.
"""

import http.client
import http.server
import json
import socket
import sys
import threading
import time

UPSTREAM = ("127.0.0.1", int(sys.argv[1]))
CONTROL = sys.argv[2]
LOCK = threading.Lock()
WRITES = [0]

ERRORS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "403": (403, "AccessDenied", "Access Denied"),
}


def control():
    try:
        with open(CONTROL) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(length) if length else b""

    def fault(self):
        if self.command not in ("PUT", "POST"):
            return "ok", control()
        ctl = control()
        with LOCK:
            n = WRITES[0]
            WRITES[0] += 1
        schedule = ctl.get("schedule", [])
        fault = "403" if ctl.get("deny") else (schedule[n] if n < len(schedule) else "ok")
        print(json.dumps({"write": n, "method": self.command, "path": self.path, "fault": fault}), file=sys.stderr, flush=True)
        return fault, ctl

    def handle_any(self):
        body = self.body()
        fault, ctl = self.fault()
        if fault in ERRORS:
            status, code, message = ERRORS[fault]
            text = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>'.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return
        if fault in ("stall", "reset"):
            if fault == "stall":
                time.sleep(float(ctl.get("stall_seconds", 3)))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        upstream = http.client.HTTPConnection(*UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding",)}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        except OSError as e:
            print(json.dumps({"upstream_error": str(e)}), file=sys.stderr, flush=True)
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(response.status, response.reason)
        length = str(len(data))
        for k, v in response.getheaders():
            if k.lower() == "content-length" and self.command == "HEAD":
                length = v
            elif k.lower() not in ("transfer-encoding", "content-length", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
