"""A client's style profile as a TOML file, read strictly, and :func:`load_profile` (a shipped
name or a file).

The file (every key optional; what is not given comes from ``base``)::

    name = "acme-docs"                 # default: the file name without .toml
    description = "ACME documentary deliveries"
    base = "streaming"                 # a shipped profile to start from (default: "default")

    [timing]
    min_duration_ms = 1000
    max_duration_ms = 7000
    min_gap_frames = 2
    frame_rate = 25                    # for frame counts when no video is given
    shot_margin_frames = 12

    [levels]                           # rule = "error" | "warning" | "off"
    reading_speed = "warning"

    [languages.zh]                     # a language tag, or "default" for all others
    chars_per_line = 16
    lines = 2
    cps = 9
    punctuation = "subtitle"           # "keep" | "subtitle" (Chinese: no 。/，)
    count_spaces = true
    count_punctuation = true

A ``[languages.X]`` table changes only the keys it names, starting from what the profile so far
gives language X (its own entry, else its primary language's, else ``default``): ``zh-TW``
builds on the file's ``zh``, and a changed ``default`` does not reach languages that ``base``
lists (``streaming`` lists ``en``, ``zh``, ``ja``, ``ko``). Unknown keys, wrong
types and impossible values (a limit below 1, a minimum above the maximum, an unknown rule or
level) are errors naming the file and the key.
"""

from __future__ import annotations

import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.style.profiles import (
    DEFAULT_LANGUAGE,
    DEFAULT_PROFILE,
    LEVELS,
    PUNCTUATION,
    RULES,
    SHIPPED,
    LanguageStyle,
    StyleProfile,
    Timing,
    _frozen,
)
from vloc.text import LANG_CODE

MAX_PROFILE_BYTES = 1 << 20  # a profile is a few hundred bytes; a large file is not one
_TOP_KEYS = ("name", "description", "base", "timing", "levels", "languages")
_POSITIVE_INT = ("chars_per_line", "lines", "max_duration_ms")
_NON_NEGATIVE_INT = ("min_duration_ms", "min_gap_frames", "shot_margin_frames")
_POSITIVE_FLOAT = ("cps", "frame_rate")
_BOOL = ("count_spaces", "count_punctuation")


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


class _Reader:
    """Checks values of one file, naming it and the key in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> InputError:
        return InputError(f"style profile: {key}: {problem}", path=self.path)

    def table(self, value: Any, key: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{key}]), got {type(value).__name__}")
        if allowed is not None:
            unknown = [k for k in value if k not in allowed]
            if unknown:
                where = f"{key}.{unknown[0]}" if key else unknown[0]
                raise self.fail(where, f"unknown key; valid: {', '.join(allowed)}")
        return value

    def value(self, key: str, value: Any, name: str) -> Any:
        """Check ``value`` for the field ``name`` (shown as ``key``)."""
        if name in _BOOL:
            if not isinstance(value, bool):
                raise self.fail(key, f"must be true or false, got {value!r}")
            return value
        if name in _POSITIVE_INT or name in _NON_NEGATIVE_INT:
            if type(value) is not int:
                raise self.fail(key, f"must be a whole number, got {value!r}")
            low = 1 if name in _POSITIVE_INT else 0
            if value < low:
                raise self.fail(key, f"must be >= {low}, got {value}")
            return value
        if name in _POSITIVE_FLOAT:
            if type(value) not in (int, float) or not value > 0 or value == float("inf"):
                raise self.fail(key, f"must be a number > 0, got {value!r}")
            return float(value)
        if name == "punctuation":
            if value not in PUNCTUATION:
                raise self.fail(key, f"must be one of {', '.join(PUNCTUATION)}, got {value!r}")
            return value
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        return value


_LANGUAGE_FIELDS = tuple(f.name for f in fields(LanguageStyle))
_TIMING_FIELDS = tuple(f.name for f in fields(Timing))


def parse_profile(text: str, path: str | Path) -> StyleProfile:
    """A profile from TOML text (``path`` names it in errors and gives the default name)."""
    path = Path(path)
    r = _Reader(path)
    try:
        doc = _toml_loads(text)
    except ValueError as e:  # tomllib.TOMLDecodeError: "Expected '=' ... (at line 3, column 7)"
        raise InputError(f"style profile is not valid TOML: {e}", path=path) from None
    r.table(doc, "", _TOP_KEYS)
    for key in ("name", "description", "base"):
        if key in doc:
            r.value(key, doc[key], key)
    base_name = doc.get("base", DEFAULT_PROFILE)
    if base_name not in SHIPPED:
        raise r.fail("base", f"unknown profile {base_name!r}; shipped: {', '.join(SHIPPED)}")
    base = SHIPPED[base_name]

    timing = base.timing
    if "timing" in doc:
        t = r.table(doc["timing"], "timing", _TIMING_FIELDS)
        timing = replace(timing, **{k: r.value(f"timing.{k}", v, k) for k, v in t.items()})
    if timing.min_duration_ms > timing.max_duration_ms:
        raise r.fail(
            "timing.min_duration_ms",
            f"{timing.min_duration_ms} is above max_duration_ms {timing.max_duration_ms}",
        )

    levels = dict(base.levels)
    if "levels" in doc:
        for rule, level in r.table(doc["levels"], "levels", RULES).items():
            if level not in LEVELS:
                raise r.fail(f"levels.{rule}", f"must be one of {', '.join(LEVELS)}, got {level!r}")
            levels[rule] = level

    languages = dict(base.languages)
    if "languages" in doc:
        table = r.table(doc["languages"], "languages", None)
        # the default first, then primary languages, then regional tags: "zh-TW" builds on
        # this file's "zh" when it has one
        for tag in sorted(table, key=lambda t: (t != DEFAULT_LANGUAGE, "-" in t or "_" in t)):
            key = f"languages.{tag}"
            if tag != DEFAULT_LANGUAGE and not LANG_CODE.match(tag):
                raise r.fail(
                    key, f"not a language tag (e.g. zh, zh-TW, en) or {DEFAULT_LANGUAGE!r}"
                )
            entry = r.table(table[tag], key, _LANGUAGE_FIELDS)
            norm = tag.lower().replace("_", "-")
            so_far = replace(base, languages=_frozen(languages))
            start = so_far.for_language(None if tag == DEFAULT_LANGUAGE else norm)
            values = {k: r.value(f"{key}.{k}", v, k) for k, v in entry.items()}
            languages[norm] = replace(start, **values)

    return StyleProfile(
        name=doc.get("name", path.stem),
        description=doc.get("description", f"{path.name} (based on {base.name})"),
        languages=_frozen(languages),
        timing=timing,
        levels=_frozen(levels),
        source=str(path),
    )


def read_profile(path: str | Path) -> StyleProfile:
    """Read a TOML profile; :class:`InputError` naming the file for anything wrong in it."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "not found"
        raise InputError(f"style profile {what}", path=path)
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise InputError(
                f"style profile larger than {MAX_PROFILE_BYTES} bytes: not a profile", path=path
            )
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise InputError(f"cannot read the style profile: {e.strerror or e}", path=path) from e
    except UnicodeDecodeError as e:
        raise InputError(f"style profile is not UTF-8 text (byte {e.start})", path=path) from None
    return parse_profile(text, path)


def load_profile(spec: str | Path | StyleProfile | None = None) -> StyleProfile:
    """A shipped profile by name (``default``, ``streaming``), or a TOML file.

    ``None`` gives ``default``. A string that names no shipped profile is a file when it ends
    in ``.toml`` or exists; otherwise an :class:`InputError` lists the shipped names.
    """
    if isinstance(spec, StyleProfile):
        return spec
    if spec is None:
        return SHIPPED[DEFAULT_PROFILE]
    text = str(spec)
    if isinstance(spec, str) and text in SHIPPED:
        return SHIPPED[text]
    if text.lower().endswith(".toml") or Path(text).exists():
        return read_profile(text)
    raise InputError(
        f"unknown style profile {text!r}; shipped: {', '.join(SHIPPED)}, "
        "or a .toml file of your own"
    )
