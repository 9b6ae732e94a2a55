"""Subtitle files: read and write SRT and WebVTT (being built).

Times are integer milliseconds throughout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``[start_ms, end_ms)`` and its text (lines joined by ``\\n``, tags kept)."""

    index: int  # 1-based position as numbered in the file (or assigned in order when absent)
    start_ms: int
    end_ms: int
    text: str
