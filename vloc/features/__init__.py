"""Clip features of videos: extraction with video backbones, a content-keyed store, imports.

>>> from vloc.features import FeatureOptions, extract_features, load_features  # doctest: +SKIP
>>> r = extract_features("film.mp4", subs="film.en.srt", options=FeatureOptions())  # doctest: +SKIP
>>> fs = load_features("film.mp4", kind="cues")  # doctest: +SKIP
>>> fs.pooled.shape, fs.regions.shape  # (N cues, 2048), (N, 9, 2048)  # doctest: +SKIP
"""

from __future__ import annotations

from vloc.features.extract import MODES, FeatureOptions, FeatureResult, extract_features
from vloc.features.imported import import_features
from vloc.features.pipeline import iter_overlapped, run_backbone
from vloc.features.store import KINDS, STORE_FORMAT, FeatureSet, feature_key, load_features

__all__ = [
    "KINDS",
    "MODES",
    "STORE_FORMAT",
    "FeatureOptions",
    "FeatureResult",
    "FeatureSet",
    "extract_features",
    "feature_key",
    "import_features",
    "iter_overlapped",
    "load_features",
    "run_backbone",
]
