"""A small scripted OpenAI-compatible HTTP server on 127.0.0.1 for failure modes that no real
server produces on demand (429, 5xx, malformed or truncated JSON, a missing line, a timeout).

By default it "translates" every line of a batch request into ``译<number>`` plus the number of
context lines whose translation the prompt showed (so tests can see what the prompt carried).
``script`` is a list of actions used one per request before falling back to that default:
``("status", code, body)``, ``("reply", text)``, ``("sleep", seconds)``, ``("drop",)``
(close the connection), or a callable ``(request_json) -> reply text``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BATCH = re.compile(r"Translate these \d+ lines into [^\n]+\.\nLines: (\{.*\})\s*$", re.DOTALL)


def batch_of(body: dict[str, Any]) -> dict[str, str]:
    """The lines a chat request asks to translate (the last user message's JSON object), or
    the phrases or line a request of the last pass (vloc.engines.last_pass) asks about."""
    user = [m for m in body["messages"] if m["role"] == "user"][0]["content"]
    if isinstance(user, list):
        user = next(p["text"] for p in user if p.get("type") == "text")
    m = BATCH.search(user)
    if m is None:  # the last pass after the batches: its numbered phrases, or line "1"
        phrases = re.findall(r'^(\d+): (".*")$', user, re.MULTILINE)
        if phrases:
            return {k: json.loads(w) for k, w in phrases}
        short = re.search(r'subtitle: (".*") \(\d+ characters\)\nRewrite', user)
        assert short, user
        return {"1": json.loads(short.group(1))}
    return json.loads(m.group(1))


def default_reply(body: dict[str, Any]) -> str:
    user = [m for m in body["messages"] if m["role"] == "user"][0]["content"]
    text = user if isinstance(user, str) else next(p["text"] for p in user if p["type"] == "text")
    shown = text.count("\n    -> ")
    return json.dumps({k: f"译{k}-{shown}" for k in batch_of(body)}, ensure_ascii=False)


class ScriptedServer:
    def __init__(
        self, script: list[Any] | None = None, models: tuple[str, ...] = ("tiny",)
    ) -> None:
        self.script = list(script or [])
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, code: int, text: str, headers: dict[str, str] | None = None) -> None:
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"data": [{"id": m} for m in outer.models]}))
                else:
                    self._send(404, '{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n))
                with outer.lock:
                    outer.requests.append(body)
                    outer.headers.append(dict(self.headers))
                    action = outer.script.pop(0) if outer.script else None
                if body.get("model") not in outer.models:
                    self._send(
                        404,
                        json.dumps({"error": {"message": f"model {body.get('model')} not found"}}),
                    )
                    return
                if action is None:
                    reply = default_reply(body)
                elif callable(action):
                    reply = action(body)
                elif action[0] == "status":
                    self._send(action[1], action[2], action[3] if len(action) > 3 else None)
                    return
                elif action[0] == "sleep":
                    time.sleep(action[1])
                    reply = default_reply(body)
                elif action[0] == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                else:
                    reply = action[1]
                usage = {"prompt_tokens": 100, "completion_tokens": 10}
                self._send(
                    200,
                    json.dumps(
                        {
                            "choices": [{"message": {"role": "assistant", "content": reply}}],
                            "usage": usage,
                        },
                        ensure_ascii=False,
                    ),
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


ReplyFn = Callable[[dict[str, Any]], str]


class MemoryJournal:
    """The translation journal the batch loop writes to, kept in memory (``path`` None)."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}
        self.appends = 0
        self.path = None

    def append(self, items: list[tuple[str, str]]) -> None:
        self.appends += 1
        self.entries.update(items)
