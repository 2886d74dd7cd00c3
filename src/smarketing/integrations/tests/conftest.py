"""A local HTTP server standing in for Slack, Trello, Asana and webhook receivers.

It records every request and answers from a script: `receiver.answer(500, 500, 200)`
fails twice then succeeds; `receiver.answer(("hang", 2.0))` sleeps longer than the
client's timeout. Tests shorten the timeouts so a hang costs a fraction of a second.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from smarketing.core.actors import Actor
from smarketing.integrations import channels


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Receiver:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    script: list = field(default_factory=list)
    default: tuple = (200, "ok")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *answers) -> None:
        """Answers for the next requests, in order: a status, (status, body) or ("hang", s)."""
        with self.lock:
            self.script = list(answers)

    def next_answer(self):
        with self.lock:
            found = self.script.pop(0) if self.script else self.default
        return found if isinstance(found, tuple) else (found, "ok" if found < 300 else "error")


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    Recorded(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
            status, text = state.next_answer()
            if status == "hang":
                time.sleep(text)
                status, text = 200, "late"
            try:
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def short_timeouts(monkeypatch):
    monkeypatch.setattr(channels, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(channels, "TOTAL_TIMEOUT", 1.0)


@pytest.fixture
def admin_actor(admin_user):
    return Actor(user=admin_user, rule="test")
