"""The clip index of a subtitle index: what is seen, embedded by an align model.

With an align model (``vloc index VIDEO SUBS --align MODEL``, :mod:`vloc.align`) an index
folder also holds the video's clip features (extracted, or found in the feature store, with
the settings the model records; one clip per cue, or fixed-stride clips) projected by the
model's video head::

    <key>.clips.faiss      faiss IndexFlatIP over the projected clip embeddings (M × D')
    <key>.clips.json       clip metadata, columns: start_ms, end_ms, cue (the position of
                           the cue the clip overlaps most, -1 for none)

and the manifest's ``"clips"`` block records the align model (name, folder, sha256), its text
encoder, the clip kind and the feature entry. ``vloc search --by seen`` queries it.

A CLIP model (``--align clip:NAME``, :mod:`vloc.align.clip`) needs no features: each cue's
clip is embedded by CLIP's image tower straight from the video (:func:`clip_model_embeddings`),
one clip per cue, and the block's ``align`` records ``"kind": "clip"`` with its frame settings.
This module computes the embeddings (:func:`clip_embeddings`), writes the two files
(:func:`write_clips`) and loads them back (:func:`load_clips`, :class:`ClipIndex`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.fileio import atomic_path, atomic_write_json, sha256_file
from vloc.index.manifest import MANIFEST, corrupt, read_files

if TYPE_CHECKING:
    import numpy as np

    from vloc.align.clip import LoadedClip
    from vloc.align.model import LoadedAlign

CLIP_KINDS = ("cues", "stride")  # clip index: one clip per cue, or the fixed-stride clips

# (clip embeddings (M, D') unit rows, spans (M, 2) ms, the manifest's "clips" block)
ClipBlock = tuple["np.ndarray", "np.ndarray", dict[str, Any]]


@dataclass(frozen=True)
class ClipIndex:
    """The projected clip embeddings of a video (an index's second FAISS index).

    Attributes:
        faiss_index: ``faiss.IndexFlatIP`` with M unit vectors of the align space's width.
        start_ms, end_ms: ``(M,)`` int64 clip spans in milliseconds.
        cue: ``(M,)`` int64 position of the cue each clip overlaps most, -1 when none.
        info: the manifest's ``"clips"`` block (align model, encoder, kind, feature entry).
    """

    faiss_index: Any = field(repr=False)
    start_ms: np.ndarray = field(repr=False)
    end_ms: np.ndarray = field(repr=False)
    cue: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.faiss_index.ntotal)

    @property
    def align_sha256(self) -> str:
        return str(self.info["align"]["sha256"])

    @property
    def align_name(self) -> str:
        return str(self.info["align"]["name"])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product search: ``(Q, D')`` unit rows → scores, ids ``(Q, k)``
        (-1 with score -inf where k exceeds M)."""
        import numpy as np

        q = np.ascontiguousarray(queries, dtype=np.float32)
        scores, ids = self.faiss_index.search(q, k)
        scores[ids < 0] = -np.inf
        return scores, ids


def load_clips(folder: Path, manifest: dict[str, Any], verify: bool) -> ClipIndex:
    """The clip index the manifest's ``"clips"`` block names (CacheError when damaged)."""
    import faiss
    import numpy as np

    block = manifest["clips"]
    try:
        files = block["files"]
        faiss_path, meta_path = folder / files["faiss"], folder / files["clips"]
        n, dim = int(block["count"]), int(block["align"]["dim"])
        _ = str(block["align"]["sha256"])
    except (KeyError, TypeError, ValueError) as e:
        raise corrupt(folder, f"{MANIFEST} clips block lacks field {e}") from e
    faiss_bytes, meta_bytes = read_files(
        folder, files, {"faiss": faiss_path, "clips": meta_path}, verify=verify
    )
    try:
        index = faiss.deserialize_index(np.frombuffer(faiss_bytes, dtype=np.uint8))
        meta = json.loads(meta_bytes)
        cols = [np.asarray(meta[c], dtype=np.int64) for c in ("start_ms", "end_ms", "cue")]
    except (RuntimeError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise corrupt(folder, f"the clip index is unreadable ({e})") from e
    if {index.ntotal, *(len(c) for c in cols)} != {n} or index.d != dim:
        raise corrupt(folder, f"inconsistent clip index sizes (manifest {n} clips × {dim})")
    return ClipIndex(index, *cols, info=block)


def align_feature_options(aligner: LoadedAlign, clips: str) -> Any:
    """The :class:`~vloc.features.FeatureOptions` the align model's clips are extracted with
    (its recorded settings; a weights file named in the model folder is read from there)."""
    from vloc.features import FeatureOptions

    f = aligner.features
    weights = f.get("weights")
    if isinstance(weights, str) and (aligner.folder / weights).is_file():
        weights = str(aligner.folder / weights)
    try:
        return FeatureOptions(
            backbone=str(f["backbone"]), weights=weights, seed=f.get("seed"),
            width=float(f.get("width") or 1.0), fps=f.get("fps"),
            clip_len=int(f.get("clip_len") or 16), size=f.get("size"),
            grid=int(f.get("grid") or 1), mode=clips, threads=1,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"align.json: unusable feature settings ({e})", path=aligner.folder) from e


def clip_embeddings(
    aligner: LoadedAlign,
    clips: str,
    video: Path,
    subtitles: Path,
    workdir: str | Path | None,
    warn: Callable[[str], None] | None,
) -> ClipBlock:
    """(projected clip embeddings (M, D') unit rows, spans (M, 2) ms, manifest block)."""
    import numpy as np

    from vloc.features import extract_features
    from vloc.features.store import read_entry

    options = align_feature_options(aligner, clips)
    res = extract_features(
        video,
        subs=subtitles if clips == "cues" else None,
        options=options,
        workdir=workdir,
        warn=warn or (lambda _m: None),
    )
    fs = read_entry(res.outputs[clips])
    if fs.spans_ms is None:
        raise InputError("the clip features record no times", path=fs.path)
    emb = aligner.project_video(fs.pooled)  # (M, D') unit rows
    block = {
        "align": {
            "name": aligner.name,
            "folder": str(aligner.folder.resolve()),
            "sha256": aligner.sha256,
            "dim": int(emb.shape[1]),
        },
        "encoder": {k: aligner.encoder[k] for k in ("name", "sha256", "dim")},
        "kind": clips,
        "count": int(emb.shape[0]),
        "features": {"file": str(fs.path), "key": fs.meta.get("key")},
    }
    return emb, np.asarray(fs.spans_ms, dtype=np.int64), block


def clip_model_embeddings(
    model: LoadedClip,
    video: Path,
    spans_ms: list[tuple[int, int]],
    warn: Callable[[str], None] | None,
) -> ClipBlock:
    """A CLIP model's frame embeddings of each cue span ``(start_ms, end_ms)`` of ``video``:
    (unit rows (M, D), spans (M, 2) ms, manifest block)."""
    import numpy as np

    emb = model.embed_spans(video, spans_ms, warn=warn)  # (M, D) unit rows
    block = {
        "align": {
            "name": model.spec,
            "folder": str(model.folder.resolve()),
            "sha256": model.sha256,
            "dim": int(emb.shape[1]),
            **model.info,  # kind "clip", frames per cue, decode fps, image size
        },
        "encoder": {"name": f"{model.spec} text tower", "sha256": model.sha256, "dim": model.dim},
        "kind": "cues",
        "count": int(emb.shape[0]),
    }
    spans = np.asarray(spans_ms, dtype=np.int64).reshape(-1, 2)
    return emb, spans, block


def overlap_cue(spans: np.ndarray, cue_start: np.ndarray, cue_end: np.ndarray) -> np.ndarray:
    """For each clip span ``(M, 2)``, the position of the cue ``(N,)`` it overlaps most
    (earliest on ties), -1 when it overlaps none → ``(M,)`` int64."""
    import numpy as np

    if len(cue_start) == 0:
        return np.full(len(spans), -1, dtype=np.int64)
    lo = np.maximum(spans[:, :1], cue_start[None])  # (M, N)
    hi = np.minimum(spans[:, 1:], cue_end[None])
    ov = hi - lo
    best = ov.argmax(axis=1)
    return np.where(ov[np.arange(len(spans)), best] > 0, best, -1).astype(np.int64)


def write_clips(
    folder: Path, stem: str, clip_block: ClipBlock, cue_start: np.ndarray, cue_end: np.ndarray
) -> tuple[dict[str, Any], set[str]]:
    """Write the clip index's two data files (new names from ``stem``) beside the cue index
    whose cue spans are ``cue_start``/``cue_end`` ``(N,)`` ms; returns (the manifest's
    ``"clips"`` block, the file names written)."""
    import faiss
    import numpy as np

    clip_emb, spans, block = clip_block
    clip_faiss, clip_meta = f"{stem}.clips.faiss", f"{stem}.clips.json"
    cidx = faiss.IndexFlatIP(int(clip_emb.shape[1]))
    cidx.add(np.ascontiguousarray(clip_emb, dtype=np.float32))
    with atomic_path(folder / clip_faiss) as tmp:
        faiss.write_index(cidx, str(tmp))
    meta = {
        "start_ms": spans[:, 0].tolist(),
        "end_ms": spans[:, 1].tolist(),
        "cue": overlap_cue(spans, cue_start, cue_end).tolist(),
    }
    atomic_write_json(folder / clip_meta, meta)
    written = {
        **block,
        "files": {
            "faiss": clip_faiss,
            "faiss_sha256": sha256_file(folder / clip_faiss),
            "clips": clip_meta,
            "clips_sha256": sha256_file(folder / clip_meta),
        },
    }
    return written, {clip_faiss, clip_meta}


__all__ = [
    "CLIP_KINDS",
    "ClipBlock",
    "ClipIndex",
    "align_feature_options",
    "clip_embeddings",
    "clip_model_embeddings",
    "load_clips",
    "overlap_cue",
    "write_clips",
]
