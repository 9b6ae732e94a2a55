"""Secrets never leave the process: one :func:`redact` for every message vloc shows or writes.

An API key is read from the environment (never argv or a file) and registered here the moment
it is read (:func:`register_env`). Whatever path a message comes by — an error a server sent
back, a warning, a batch report, a journal, ``--json`` — it passes through :func:`redact`
before it reaches a terminal or a file, which replaces

* every registered secret value, wherever it stands, by ``***``;
* any ``Bearer <token>`` by ``Bearer ***`` and any ``sk-…``-shaped key by ``sk-***``, so a key
  vloc never read (another variable's, one a proxy echoes) is hidden too.

Files vloc writes (subtitles, journals, reports) are passed through :func:`redact_known`:
registered values only, since a subtitle line may legitimately hold ``sk-…``-like text.
"""

from __future__ import annotations

import os
import re
import threading

MIN_SECRET_CHARS = 6  # shorter values are not registered: hiding "test" everywhere would garble
MASK = "***"
_BEARER = re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[A-Za-z0-9._~+/=\-]{4,}")
_SK = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, so a key that contains another is hidden whole


def register_secret(value: str | None) -> None:
    """Hide ``value`` from every message and file from now on (this process)."""
    global _secrets
    if not value or len(value) < MIN_SECRET_CHARS:
        return
    with _lock:
        if value not in _secrets:
            _secrets = tuple(sorted({*_secrets, value}, key=len, reverse=True))


def register_env(name: str | None) -> str:
    """The value of the environment variable ``name`` ('' when unset), registered as a secret."""
    value = os.environ.get(name or "", "") if name else ""
    register_secret(value)
    return value


def redact_known(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: str) -> str:
    """``text`` with registered secrets and token-shaped strings (``Bearer …``, ``sk-…``)
    replaced by ``***``."""
    text = redact_known(text)
    text = _BEARER.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    return _SK.sub(f"sk-{MASK}", text)


__all__ = ["MASK", "redact", "redact_known", "register_env", "register_secret"]
