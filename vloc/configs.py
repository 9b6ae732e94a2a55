"""The JSON round trip of vloc's model config dataclasses (the translator's, the summarizer's):
``to_dict()`` for ``config.json``, ``from_dict(data)`` back, naming any field it does not know.
Imports no torch."""

from __future__ import annotations

from dataclasses import asdict, fields
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
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown {cls.what} config fields {unknown}; valid: {sorted(known)}")
        return cls(**data)
