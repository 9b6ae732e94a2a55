"""The JSON round trip of vloc's model config dataclasses (the translator's, the summarizer's):
``to_dict()`` for ``config.json``, ``from_dict(data)`` back, naming any field it does not know.
Imports no torch."""

from __future__ import annotations

from collections.abc import Mapping
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
        unknown = unknown_fields(cls, data)
        if unknown:
            valid = sorted(f.name for f in fields(cls))
            raise InputError(f"unknown {cls.what} config fields {unknown}; valid: {valid}")
        return cls(**data)


def unknown_fields(cls: type, data: Mapping[str, Any]) -> list[str]:
    """The keys of ``data`` that name no field of the dataclass ``cls``, sorted."""
    known = {f.name for f in fields(cls)}
    return sorted(set(data) - known)
