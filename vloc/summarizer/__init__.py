"""The video-guided dual fusion summarizer (VDF) and its triple-stage training pieces.

``vloc.summarizer.config`` imports no torch; the model and distillation classes are imported
on first use so that importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

from vloc.summarizer.config import VARIANTS, SummarizerConfig

_MODEL_NAMES = ("VDFSummarizer", "pool_video")
_DISTILL_NAMES = (
    "Distiller",
    "StudentEncoder",
    "distillation_loss",
    "load_student",
    "save_student",
    "student_states",
    "swap_encoder",
)

__all__ = ["VARIANTS", "SummarizerConfig", *_MODEL_NAMES, *_DISTILL_NAMES]


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        from vloc.summarizer import model

        return getattr(model, name)
    if name in _DISTILL_NAMES:
        from vloc.summarizer import distill

        return getattr(distill, name)
    raise AttributeError(f"module 'vloc.summarizer' has no attribute {name!r}")
