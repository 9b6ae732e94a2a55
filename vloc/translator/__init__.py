"""The global-context video-guided translator: configuration, model, save/load.

``vloc.translator.config`` imports no torch; the model classes are imported on first use so
that importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

from vloc.translator.config import VARIANTS, TranslatorConfig, temporal_context_ids

_MODEL_NAMES = ("Translator",)

__all__ = ["VARIANTS", "TranslatorConfig", "temporal_context_ids", *_MODEL_NAMES]


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        from vloc.translator import model

        return getattr(model, name)
    raise AttributeError(f"module 'vloc.translator' has no attribute {name!r}")
