"""Serve a simulator over HTTP on loopback (``backupbridge simulate``), for tests written in other languages."""

from __future__ import annotations

import http.server
import threading
from typing import Any

import httpx

from ..errors import ConfigurationError
from ..http import is_loopback
from ..vendors import Simulator

__all__ = ["serve"]


def serve(simulator: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
    """A started server (on a daemon thread) answering with ``simulator``; ``server.server_address`` has the port.

    Only loopback addresses are allowed: a simulator is a test double, not a service.
    """
    if not is_loopback(host):
        raise ConfigurationError(f"the simulator serves on loopback only, not {host!r}")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm the body then waits for the client's
        # delayed ACK (about 40 ms on Linux), which made every keep-alive request take that long.
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://{host}:{server.server_address[1]}{self.path}"
            request = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
            response = simulator.handle(request)
            content = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.multi_items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="backupbridge-simulator", daemon=True).start()
    return server
