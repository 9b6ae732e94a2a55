"""The JSON round trip of vloc's model config dataclasses (the translator's, the summarizer's):
``to_dict()`` for ``config.json``, ``from_dict(data)`` back, naming any field it does not know.
Imports no torch."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from vloc.errors import InputError

ConfigT = TypeVar("ConfigT", bound="DictConfig")


class DictConfig:
    """Mixin of a (frozen) config dataclass saved as JSON."""

    what: ClassVar[str]  # names the config in errors: "translator", "summarizer"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls: type[ConfigT], data: dict[str, Any]) -> ConfigT:
        unknown = unknown_fields(cls, data)
        if unknown:
            valid = sorted(f.name for f in fields(cls))
            raise InputError(f"unknown {cls.what} config fields {unknown}; valid: {valid}")
        return cls(**data)


def unknown_fields(cls: type, data: Mapping[str, Any]) -> list[str]:
    """The keys of ``data`` that name no field of the dataclass ``cls``, sorted."""
    known = {f.name for f in fields(cls)}
    return sorted(set(data) - known)


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``--config`` values: a JSON object (inline or a ``.json`` file) or ``KEY=VALUE`` (the
    value read as JSON when it parses, else as a string)."""
    out: dict[str, Any] = {}
    for item in items or []:
        text = item.strip()
        if text.startswith("{") or text.endswith(".json"):
            if not text.startswith("{"):
                path = Path(text)
                if not path.is_file():
                    raise InputError("--config file not found", path=path)
                text = path.read_text(encoding="utf-8")
            try:
                data = json.loads(text)
            except ValueError as e:
                raise InputError(f"--config {item!r} is not valid JSON: {e}") from e
            if not isinstance(data, dict):
                raise InputError(f"--config {item!r} must be a JSON object")
            out.update(data)
        elif "=" in text:
            key, value = text.split("=", 1)
            try:
                out[key.strip()] = json.loads(value)
            except ValueError:
                out[key.strip()] = value
        else:
            raise InputError(
                f"--config {item!r}: expected KEY=VALUE, a JSON object or a .json file"
            )
    return out
