"""The review page as one self-contained HTML file.

The template (``page.html``), its style (``review.css``) and script (``review.js``) ship as
package data and are inlined. The data goes in as JSON inside a
``<script type="application/json">`` element, with ``<``, ``>``, ``&``, U+2028 and U+2029
escaped, so no cue text can end that element or start markup; the script builds the page
with ``textContent`` only. A Content-Security-Policy allows exactly the page's own script and
style (by hash), images and media from the page's own location, local files and
``data:``/``blob:`` URLs, and nothing else: no network requests, no other script, no forms.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from typing import Any

_TOKEN = re.compile(r"@@([A-Z]+)@@")
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]|[\ud800-\udfff]")


def asset(name: str) -> str:
    """A file shipped with this package (the template, style or script)."""
    return resources.files("vloc.review").joinpath(name).read_text(encoding="utf-8")


def json_for_script(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script type="application/json">`` element
    (and valid JSON: every escape is a JSON escape; lone surrogates are escaped too)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES.get(m[0], f"\\u{ord(m[0]):04x}"), text)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(script: str, style: str) -> str:
    """The page's policy: its own script and style only; images and media from the page's
    folder, local files and data:/blob: URLs; nothing fetched, framed, posted or navigated to."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(script)}",
            f"style-src {_sha256(style)}",
            # file: as well as 'self': browsers that give each local file its own origin
            # (Firefox) would otherwise refuse the film and the thumbnail folder beside the page
            "img-src 'self' file: data: blob:",
            "media-src 'self' file: data: blob:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def render_page(data: dict[str, Any], *, title: str, version: str) -> str:
    """The HTML of the review page for ``data`` (what :mod:`vloc.review.write` gathers)."""
    script, style = asset("review.js"), asset("review.css")
    for name, text in (("review.js", script), ("review.css", style)):
        if "</" in text or "<!--" in text:
            raise AssertionError(f"{name} must not contain '</' or '<!--' (it is inlined)")
    values = {
        "CSP": html.escape(content_security_policy(script, style), quote=False),  # no '"' in it
        "VERSION": html.escape(version),
        "TITLE": html.escape(title),
        "STYLE": style,
        "DATA": json_for_script(data),
        "SCRIPT": script,
    }
    # one pass over the template: text put in is never scanned for tokens again
    return _TOKEN.sub(lambda m: values[m[1]], asset("page.html"))
