"""What the synthetic benchmarks (:mod:`vloc.synthetic.translation_benchmark`,
:mod:`vloc.synthetic.retrieval_benchmark`) do alike: the machine's load, recorded beside their
timings, and their **features** stage (every film's per-cue clip features)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def load_averages() -> dict[str, float]:
    """1-, 5- and 15-minute load averages of the machine."""
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def cue_features(
    set_dir: Path, film_ids: Iterable[str], options: Any, workdir: Path
) -> dict[str, Path]:
    """Each film's per-cue features (``set_dir/<id>.mp4`` with ``<id>.en.srt``, extracted with
    ``options``, a :class:`vloc.features.FeatureOptions`, or found cached in ``workdir``'s
    workspaces): film id → its cue feature file."""
    from vloc.features import extract_features

    feats: dict[str, Path] = {}
    for film_id in film_ids:
        r = extract_features(
            set_dir / f"{film_id}.mp4", subs=set_dir / f"{film_id}.en.srt", options=options,
            workdir=workdir, warn=lambda _m: None,
        )  # fmt: skip
        feats[film_id] = r.outputs["cues"]
    return feats
