"""Training data of the align model: a manifest of (clip features, time span, descriptions).

The manifest is JSON Lines, one described moment per line::

    {"features": "feats/film1.cues.safetensors",   # a feature-store entry (vloc features), or
     "film": "films/film1.mp4",                    # a video whose workspace holds features
     "workdir": "cache/",                          # (optional) where that workspace lives
     "kind": "cues",                               # (optional, with "film") cues | stride
     "start_ms": 12000, "end_ms": 15500,           # the moment described
     "description_en": "boats on a wide river",    # a string, or a list (several captions)
     "description_zh": "宽阔河面上的船"}            # optional: a string or a list (translations)

Relative paths are read from the manifest's folder. With several descriptions in one language,
each training step draws one of them. A moment's clip feature is the mean of the
pooled rows whose ``spans_ms`` overlap ``[start_ms, end_ms)``, weighted by the overlap (a cue's
own row for per-cue features; the clips under it for fixed-stride ones). Every feature file must
come from the same extractor (backbone, weights, width, fps, clip length, crop): its settings
become the model's ``"features"`` block, so that indexing extracts the same features.

Any problem is one :class:`~vloc.errors.InputError` naming the manifest line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError, VlocError
from vloc.fileio import MANIFEST_LIMIT_BYTES, read_text_limited

if TYPE_CHECKING:
    import numpy as np

    from vloc.encoders import Encoder

LANGS = ("en", "zh")  # description languages a manifest may hold (description_<lang>)
GUIDE_LANG = "en"  # the language every moment must be described in (LECCR's guidance)
FEATURE_FIELDS = ("backbone", "weights", "seed", "width", "fps", "clip_len", "size", "grid")
SAME_FIELDS = ("backbone", "weights_id", "width", "fps", "clip_len", "size")  # must agree


@dataclass(frozen=True)
class Moment:
    """One manifest line, resolved."""

    line: int  # 1-based manifest line
    features: Path  # the feature-store entry (.safetensors)
    start_ms: int
    end_ms: int
    texts: dict[str, tuple[str, ...]]  # lang -> descriptions (en: at least one)


@dataclass
class AlignData:
    """Moments as arrays: clip features and the text encoder's embeddings per language."""

    video: np.ndarray  # (N, D_v) float32 clip features
    texts: dict[str, list[list[str]]]  # lang -> per moment, its descriptions (maybe none)
    text_emb: dict[str, list[np.ndarray]] = field(default_factory=dict)  # lang -> per moment
    # (k_i, D_t) unit rows (k_i = number of descriptions, 0 allowed except for English)
    features: dict[str, Any] = field(default_factory=dict)  # extractor settings (+ kind)
    sources: list[str] = field(default_factory=list)  # feature files, in first-use order

    @property
    def size(self) -> int:
        return int(self.video.shape[0])


def _fail(manifest: Path, line: int, problem: str) -> InputError:
    return InputError(f"line {line}: {problem}", path=manifest)


def read_manifest(path: str | Path) -> list[Moment]:
    """Parse and check every line (no features read yet)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InputError("align manifest not found", path=path)
    text = read_text_limited(path, MANIFEST_LIMIT_BYTES, what="align manifest", encoding="utf-8")
    lines = text.splitlines()
    out: list[Moment] = []
    for no, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except ValueError as e:
            raise _fail(path, no, f"not valid JSON ({e})") from e
        if not isinstance(rec, dict):
            raise _fail(path, no, "each line must be a JSON object")
        out.append(_moment(path, no, rec))
    if not out:
        raise InputError("the align manifest holds no moments", path=path)
    return out


def _moment(manifest: Path, no: int, rec: dict[str, Any]) -> Moment:
    base = manifest.parent
    try:
        start, end = int(rec["start_ms"]), int(rec["end_ms"])
    except KeyError as e:
        raise _fail(manifest, no, f"missing {e.args[0]!r}") from e
    except (TypeError, ValueError) as e:
        raise _fail(manifest, no, "start_ms and end_ms must be integers (milliseconds)") from e
    if not 0 <= start < end:
        raise _fail(manifest, no, f"need 0 <= start_ms < end_ms, got {start}..{end}")
    texts: dict[str, tuple[str, ...]] = {}
    for lang in LANGS:
        value = rec.get(f"description_{lang}")
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if value is not None and not isinstance(value, (str, list)):
            raise _fail(manifest, no, f"description_{lang} must be a string or a list of strings")
        clean = tuple(str(t).strip() for t in items if str(t).strip())
        texts[lang] = clean
    if not texts[GUIDE_LANG]:
        raise _fail(manifest, no, f"description_{GUIDE_LANG} must be a non-empty string or list")
    if "features" in rec:
        feats = (base / str(rec["features"])).resolve()
        if feats.suffix == ".json":
            feats = feats.with_suffix(".safetensors")
        if not feats.is_file():
            raise _fail(manifest, no, f"features file not found: {feats}")
    elif "film" in rec:
        from vloc.features import load_features

        film = base / str(rec["film"])
        workdir = rec.get("workdir")
        try:
            fs = load_features(
                film,
                kind=str(rec.get("kind", "cues")),
                workdir=None if workdir is None else base / str(workdir),
            )
        except VlocError as e:
            raise _fail(manifest, no, f"no features for the film ({e})") from e
        assert fs.path is not None, "features read from the store have a path"
        feats = fs.path
    else:
        raise _fail(manifest, no, "needs 'features' (a feature file) or 'film' (a video)")
    return Moment(no, feats, start, end, texts)


def feature_settings_of(meta: dict[str, Any]) -> dict[str, Any]:
    """The extractor settings an align model records (catalogue ``"features"`` block + kind)."""
    opts = meta.get("options") or {}
    out = {k: meta.get(k, opts.get(k)) for k in FEATURE_FIELDS}
    out["weights"] = opts.get("weights", meta.get("weights"))
    out["kind"] = meta.get("kind")
    out["weights_id"] = meta.get("weights_id")
    return out


def moment_feature(
    pooled: np.ndarray, spans: np.ndarray, start: int, end: int
) -> np.ndarray | None:
    """Overlap-weighted mean of the rows ``(N, D)`` whose spans ``(N, 2)`` meet [start, end);
    None when none does."""
    import numpy as np

    overlap = np.minimum(spans[:, 1], end) - np.maximum(spans[:, 0], start)  # (N,) ms
    w = np.clip(overlap, 0, None).astype(np.float64)
    if w.sum() <= 0:
        return None
    return (w[:, None] * pooled).sum(0).astype(np.float32) / np.float32(w.sum())


def load_moments(manifest: str | Path, moments: Sequence[Moment] | None = None) -> AlignData:
    """Read the clip features of every moment (features files read once each)."""
    import numpy as np

    from vloc.features.store import read_entry

    manifest = Path(manifest)
    moments = list(moments) if moments is not None else read_manifest(manifest)
    cache: dict[Path, Any] = {}
    rows: list[np.ndarray] = []
    settings: dict[str, Any] | None = None
    first: Path | None = None
    for m in moments:
        fs = cache.get(m.features)
        if fs is None:
            try:
                fs = read_entry(m.features)
            except VlocError as e:
                raise _fail(manifest, m.line, str(e)) from e
            got = feature_settings_of(fs.meta)
            if settings is None:
                settings, first = got, m.features
            else:
                diff = [k for k in SAME_FIELDS if got.get(k) != settings.get(k)]
                if diff:
                    raise _fail(
                        manifest,
                        m.line,
                        f"{m.features.name} was extracted with other settings than "
                        f"{first.name if first else '?'} ({', '.join(diff)} differ): all clip "
                        "features must come from one extractor",
                    )
            cache[m.features] = fs
        if fs.spans_ms is None:
            raise _fail(manifest, m.line, f"{m.features.name} records no clip times (spans_ms)")
        row = moment_feature(fs.pooled, fs.spans_ms, m.start_ms, m.end_ms)
        if row is None:
            raise _fail(
                manifest,
                m.line,
                f"no clip of {m.features.name} overlaps {m.start_ms}..{m.end_ms} ms",
            )
        rows.append(row)
    assert settings is not None, "read_manifest refuses empty manifests"
    return AlignData(
        video=np.stack(rows).astype(np.float32),
        texts={lang: [list(m.texts[lang]) for m in moments] for lang in LANGS},
        features=settings,
        sources=[str(p) for p in cache],
    )


def embed_texts(data: AlignData, encoder: Encoder) -> AlignData:
    """Fill ``data.text_emb`` with ``encoder``'s unit rows for every description (one batch
    per language)."""
    import numpy as np

    for lang, per in data.texts.items():
        flat = [t for ts in per for t in ts]
        emb = encoder.encode(flat) if flat else np.zeros((0, encoder.dim), np.float32)
        out, at = [], 0
        for ts in per:
            out.append(emb[at : at + len(ts)])
            at += len(ts)
        data.text_emb[lang] = out
    return data


def write_manifest(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write manifest lines (dicts as documented above) atomically."""
    from vloc.fileio import atomic_write_text

    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    atomic_write_text(path, text)
    return Path(path)


__all__ = [
    "AlignData",
    "Moment",
    "embed_texts",
    "feature_settings_of",
    "load_moments",
    "moment_feature",
    "read_manifest",
    "write_manifest",
]
