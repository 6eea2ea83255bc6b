"""A real HTTP server on 127.0.0.1 (a thread) publishing documents for verification tests: DID
documents, key documents, status lists, revocation lists. Records every path it was asked for."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class DocServer:
    port: int = 0
    documents: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    delay: threading.Event | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def publish(self, path: str, document: Any, *, status: int = 200, media: str = "application/json") -> str:
        body = (
            document
            if isinstance(document, bytes)
            else (document.encode() if isinstance(document, str) else json.dumps(document).encode())
        )
        self.documents[path] = (status, body, media)
        return self.url + path

    def count(self, path: str) -> int:
        return sum(1 for hit in self.hits if hit == path)


def _handler(server_state: DocServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.hits.append(self.path)
            if server_state.delay is not None and self.path.startswith("/slow"):
                server_state.delay.wait(10)
            status, body, media = server_state.documents.get(self.path, (404, b"not found", "text/plain"))
            try:
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_doc_server() -> Iterator[DocServer]:
    state = DocServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        if state.delay is not None:
            state.delay.set()
        httpd.shutdown()
        httpd.server_close()
