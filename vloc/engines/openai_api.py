"""A chat backend for any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp's server, LM
Studio, hosted APIs), with the standard library's HTTP client.

* ``POST {base_url}/chat/completions`` with temperature 0 and a seed; where the server takes
  it, ``response_format`` with a JSON schema whose required keys are exactly the batch's
  numbers (falling back to ``json_object``, then to none, when the server rejects it).
* The API key is read from an environment variable whose *name* is configurable; the key never
  appears in argv, logs, errors or reports.
* Timeouts, and retries with exponential backoff and full jitter on 429, 5xx, connection errors
  and timeouts (``Retry-After`` honoured); one clear line for an unreachable URL, an unknown
  model id or a rejected key.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, ClassVar

from vloc.engines.base import EngineError, Usage
from vloc.errors import InputError
from vloc.redact import redact, register_env

RETRY_STATUS = (408, 409, 425, 429, 500, 502, 503, 504)
BACKOFF_BASE_S = 1.0  # first retry waits up to this long (full jitter), doubling each time
BACKOFF_CAP_S = 30.0
DEFAULT_API_KEY_ENV = "VLOC_API_KEY"  # --api-key-env: the variable that holds the key
# response_format variants, tried in this order and remembered per backend: the OpenAI
# standard (vLLM, Ollama, hosted APIs), llama-cpp-python's server (a schema inside json_object),
# plain JSON mode, nothing
FORMATS = ("json_schema", "json_object+schema", "json_object", "none")


@dataclass(frozen=True)
class OpenAISettings:
    """Where and how to reach the endpoint (``--engine openai``; the ``[openai]`` table of
    engines.toml)."""

    kind: ClassVar[str] = "openai"
    temperature: ClassVar[float] = 0.0  # greedy: the same reply for the same request
    repeat_penalty: ClassVar[float] = 1.1  # sent as frequency_penalty = penalty - 1 and as
    # repeat_penalty

    base_url: str | None = None  # e.g. http://127.0.0.1:8080/v1 (the part before
    # /chat/completions); required to open the endpoint
    model: str | None = None  # the server's model id; required to open the endpoint
    api_key_env: str = DEFAULT_API_KEY_ENV  # name of the environment variable holding the key
    images: bool = False  # the model accepts image inputs (a VLM: keyframes are attached)
    timeout_s: float = 120.0  # per request
    max_retries: int = 5  # transport retries per request
    seed: int = 0

    def check(self) -> None:
        """Refuse a value that cannot work (one line naming its flag)."""
        if self.max_retries < 0:
            raise InputError("--retries must not be negative")
        if not self.timeout_s > 0 or self.timeout_s == float("inf"):
            raise InputError(
                f"--timeout must be a positive number of seconds, not {self.timeout_s}"
            )
        if self.base_url is not None:
            check_base_url(self.base_url)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env or ""):
            raise InputError(
                "--api-key-env takes the name of an environment variable (letters, digits, _), "
                "never the key itself"
            )


def check_base_url(url: str) -> str:
    """``url`` when it is an http(s) URL with a host and no credentials; else an
    :class:`InputError` that never repeats a password (the key goes in an environment variable,
    never in the URL)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a ValueError when the port is not a number
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        shown = _mask_credentials(url)
        raise InputError(
            f"--base-url {shown!r} is not an http(s) URL with a host "
            "(e.g. http://127.0.0.1:8080/v1)"
        )
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"--base-url {_mask_credentials(url)!r} holds credentials: put the key in the "
            "environment variable named by --api-key-env (default VLOC_API_KEY), never in the URL"
        )
    return url


def _mask_credentials(url: str) -> str:
    """``url`` with anything before an ``@`` in its authority replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url if "@" not in url else "***@" + url.rsplit("@", 1)[1]
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}://{authority}{slash}{path}"


class OpenAIBackend:
    """Chat completions over HTTP (see the module docstring). Thread-safe."""

    def __init__(self, settings: OpenAISettings, *, sleep=time.sleep) -> None:
        check_base_url(str(settings.base_url))
        register_env(settings.api_key_env)
        self.settings = settings
        self.accepts_images = settings.images
        self.url = str(settings.base_url).rstrip("/") + "/chat/completions"
        self._format = 0  # index into FORMATS
        self._lock = threading.Lock()
        self._sleep = sleep
        self._rng = random.Random(settings.seed)

    def close(self) -> None:
        pass

    # ------------------------------------------------------------ HTTP

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = register_env(self.settings.api_key_env)  # hidden from every message from now on
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None, str, dict]:
        """(status, parsed JSON or None, raw text, headers); raises OSError on transport failure."""
        data = json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(url, data=data, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.settings.timeout_s) as resp:
                raw = resp.read().decode("utf-8", "replace")
                status, headers = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as e:
            raw = e.read().decode("utf-8", "replace") if e.fp else ""
            status, headers = e.code, dict(e.headers or {})
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed if isinstance(parsed, dict) else None, raw, headers

    def _server_models(self) -> list[str]:
        url = str(self.settings.base_url).rstrip("/") + "/models"
        try:
            req = urllib.request.Request(url, headers=self._headers())
            with urllib.request.urlopen(req, timeout=min(10.0, self.settings.timeout_s)) as resp:
                obj = json.loads(resp.read().decode("utf-8", "replace"))
            return [str(m.get("id")) for m in obj.get("data", []) if isinstance(m, dict)]
        except (OSError, ValueError, AttributeError):
            return []

    def _body(
        self, messages: list[dict[str, Any]], schema: dict[str, Any], max_tokens: int
    ) -> dict:
        s = self.settings
        body: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "temperature": s.temperature,
            "seed": s.seed,
            "max_tokens": max_tokens,
            "stream": False,
        }
        if s.repeat_penalty != 1.0:
            body["frequency_penalty"] = round(s.repeat_penalty - 1.0, 3)
            body["repeat_penalty"] = s.repeat_penalty  # llama.cpp and vLLM read this one
        fmt = FORMATS[self._format]
        if fmt == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "translations", "schema": schema, "strict": True},
            }
        elif fmt == "json_object+schema":
            body["response_format"] = {"type": "json_object", "schema": schema}
        elif fmt == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def _fail(self, status: int, raw: str) -> EngineError:
        where = self.settings.base_url
        detail = _message(raw)
        if status in (401, 403):
            return EngineError(
                f"{where} rejected the API key (HTTP {status}); put a valid key in the environment "
                f"variable {self.settings.api_key_env}"
            )
        if status == 404 or "model" in detail.lower() and status in (400, 422):
            known = self._server_models()
            if known and self.settings.model not in known:
                return EngineError(
                    f"{where} has no model {self.settings.model!r}; it serves: {', '.join(known[:10])}"
                )
            if status == 404:
                return EngineError(
                    f"{where}: HTTP 404 for /chat/completions (is this an OpenAI-compatible base "
                    f"URL, usually ending in /v1?){': ' + detail if detail else ''}"
                )
        return EngineError(f"{where}: HTTP {status}{': ' + detail if detail else ''}")

    def complete(
        self, messages: list[dict[str, Any]], *, schema: dict[str, Any], max_tokens: int
    ) -> tuple[str, Usage]:
        usage = Usage()
        attempt = 0
        while True:
            body = self._body(messages, schema, max_tokens)
            usage.requests += 1
            try:
                status, obj, raw, headers = self._post(self.url, body)
            except OSError as e:  # refused, reset, DNS, timeout (TimeoutError is an OSError)
                reason = getattr(e, "reason", e)
                if attempt >= self.settings.max_retries:
                    raise EngineError(
                        f"cannot reach {self.settings.base_url}: {reason} "
                        f"(after {attempt + 1} attempts)"
                    ) from None
                self._backoff(attempt, None)
                attempt += 1
                usage.retries += 1
                continue
            # a server that does not take this response_format says so with 400 or 422 (or,
            # llama-cpp-python's, 500 with its validation error): try the next variant
            if status in (400, 422, 500) and self._format < len(FORMATS) - 1 and _about_format(raw):
                with self._lock:
                    self._format += 1  # the server does not take this response_format
                continue
            if status in RETRY_STATUS:
                if attempt >= self.settings.max_retries:
                    raise EngineError(
                        f"{self.settings.base_url}: HTTP {status} after {attempt + 1} attempts: "
                        f"{_message(raw) or 'no detail'}"
                    )
                self._backoff(attempt, headers.get("Retry-After") or headers.get("retry-after"))
                attempt += 1
                usage.retries += 1
                continue
            if status != 200 or obj is None:
                if status == 200:
                    raise EngineError(
                        f"{self.settings.base_url}: the reply is not JSON: {redact(raw)[:120]!r}"
                    )
                raise self._fail(status, raw)
            try:
                text = obj["choices"][0]["message"]["content"] or ""
            except (KeyError, IndexError, TypeError):
                raise EngineError(
                    f"{self.settings.base_url}: unexpected reply shape: {redact(raw)[:120]!r}"
                ) from None
            u = obj.get("usage") or {}
            usage.prompt_tokens += int(u.get("prompt_tokens") or 0)
            usage.completion_tokens += int(u.get("completion_tokens") or 0)
            return text, usage

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        wait = self._rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
        if retry_after:
            try:
                wait = max(wait, min(BACKOFF_CAP_S, float(retry_after)))
            except ValueError:
                pass
        self._sleep(wait)


def _message(raw: str) -> str:
    """The error message of a server's JSON error body, else the start of the body."""
    try:
        obj = json.loads(raw)
        err = obj.get("error", obj) if isinstance(obj, dict) else obj
        msg = err.get("message") if isinstance(err, dict) else err
        return redact(" ".join(str(msg).split()))[:200]
    except (ValueError, AttributeError):
        return redact(" ".join(raw.split()))[:200]


def _about_format(raw: str) -> bool:
    low = raw.lower()
    return "response_format" in low or "json_schema" in low or "schema" in low
