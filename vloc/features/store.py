"""The feature store: content-keyed safetensors files + JSON metadata in a video's workspace.

Layout inside the workspace (``film.mp4.vloc/``)::

    features/<kind>-<backbone>-<key16>.safetensors   tensors, float16 on disk
    features/<kind>-<backbone>-<key16>.json          metadata (written last: its presence
                                                     marks a complete entry)

Tensors: ``pooled`` (N, D); ``regions`` (N, R, D) for kind ``cues``; ``spans_ms`` (N, 2)
int64, each row ``[start_ms, end_ms)`` of the span the clip was sampled from (after
clamping to the video); imported features without a frame rate have no ``spans_ms``.

The key is :func:`vloc.fileio.stable_hash` of everything that determines the values
(:func:`feature_key`); it never needs torch or ffprobe, so checking for a cached entry is
a matter of hashing the video's fingerprint and parsing the subtitles.
Reading uses ``safetensors.numpy`` (no torch import).
"""

from __future__ import annotations

import json
import math
import mmap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import CacheError, InputError
from vloc.fileio import atomic_path, atomic_write_json, read_json, stable_hash
from vloc.guard import note_read
from vloc.workspace import Workspace, safe_name

if TYPE_CHECKING:
    import numpy as np

STORE_FORMAT = 1  # bump when the layout or the meaning of stored values changes
FEATURES_DIR = "features"
KINDS = ("cues", "stride")
DISK_DTYPE = "float16"  # halves the store; features are averages of activations, fp16 is ample
KEY_CHARS = 16  # hex characters of the key in file names (64 bits)


@dataclass(frozen=True)
class FeatureSet:
    """Features of one kind read back from the store.

    Attributes:
        kind: ``"cues"`` (one row per subtitle cue, in file order) or ``"stride"`` (one row per
            fixed-length clip of the whole video, in time order).
        pooled: (N, D) float32, mean over the clip's time and space.
        regions: (N, R, D) float32 grid regions (row-major), or None (stride features).
        spans_ms: (N, 2) int64 ``[start_ms, end_ms)`` per row, or None when unknown.
        meta: the JSON metadata (backbone, weights, fps, clip_len, grid, ...).
        path: the ``.safetensors`` file.
    """

    kind: str
    pooled: np.ndarray
    regions: np.ndarray | None
    spans_ms: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def feature_key(
    *,
    kind: str,
    video_id: str,
    spans_ms: list[tuple[int, int]] | None,
    backbone: str,
    width: float,
    weights_id: str,
    fps: float,
    clip_len: int,
    size: int,
    grid: int | None,
    path: str | None = None,
) -> str:
    """The cache key: sha256 of every input that changes the stored values.

    ``path`` names how the backbone ran when that changes float16 bytes
    (:func:`vloc.features.execution.keyed_path`): None for the default eager model, whose keys
    are the same as before paths existed.
    """
    extra = {} if path is None else {"backbone_path": path}
    return stable_hash(
        {
            **extra,
            "format": STORE_FORMAT,
            "kind": kind,
            "video": video_id,
            "spans_ms": [list(s) for s in spans_ms] if spans_ms is not None else None,
            "backbone": backbone,
            "width": width,
            "weights": weights_id,
            "fps": fps,
            "clip_len": clip_len,
            "size": size,
            "grid": grid,
        }
    )


def entry_paths(ws: Workspace, kind: str, backbone: str, key: str) -> tuple[Path, Path]:
    """(``.safetensors``, ``.json``) paths of a store entry (no folder is created)."""
    stem = f"{kind}-{safe_name(backbone)}-{key[:KEY_CHARS]}"
    folder = ws.root / FEATURES_DIR
    return folder / f"{stem}.safetensors", folder / f"{stem}.json"


def lookup(ws: Workspace, kind: str, backbone: str, key: str) -> dict[str, Any] | None:
    """The metadata of a complete entry with exactly this key, or None."""
    tensors, meta_path = entry_paths(ws, kind, backbone, key)
    if not (tensors.is_file() and meta_path.is_file()):
        return None
    meta = read_json(meta_path, what="feature metadata", default=None)  # unreadable: redo
    if not isinstance(meta, dict) or meta.get("key") != key or meta.get("format") != STORE_FORMAT:
        return None
    return meta


def write_entry(
    ws: Workspace,
    *,
    kind: str,
    backbone: str,
    key: str,
    pooled: np.ndarray,
    regions: np.ndarray | None,
    spans_ms: np.ndarray | None,
    meta: dict[str, Any],
) -> tuple[Path, Path]:
    """Write tensors (float16) then metadata, each atomically; return their paths."""
    import numpy as np
    from safetensors.numpy import save_file

    tensors_path, meta_path = entry_paths(ws, kind, backbone, key)
    arrays: dict[str, np.ndarray] = {"pooled": np.ascontiguousarray(pooled, dtype=DISK_DTYPE)}
    if regions is not None:
        arrays["regions"] = np.ascontiguousarray(regions, dtype=DISK_DTYPE)
    if spans_ms is not None:
        arrays["spans_ms"] = np.ascontiguousarray(spans_ms, dtype=np.int64)
    shapes = {name: list(a.shape) for name, a in arrays.items()}
    meta = {**meta, "format": STORE_FORMAT, "key": key, "kind": kind, "dtype": DISK_DTYPE}
    meta["shapes"] = shapes
    with atomic_path(tensors_path) as tmp:
        save_file(arrays, str(tmp), metadata={"vloc": json.dumps({"key": key, "kind": kind})})
    atomic_write_json(meta_path, meta)
    return tensors_path, meta_path


def read_meta(tensors_path: Path) -> dict[str, Any]:
    """The JSON metadata beside an entry's tensors; CacheError when it cannot be read."""
    meta_path = tensors_path.with_suffix(".json")
    return read_json(meta_path, what="feature metadata", error=CacheError, require_object=True)


def read_entry(tensors_path: Path, meta: dict[str, Any] | None = None) -> FeatureSet:
    """Read one entry; CacheError when the file is damaged or disagrees with its metadata."""
    import numpy as np
    from safetensors.numpy import load_file

    note_read(tensors_path, "a features entry")
    if meta is None:
        meta = read_meta(tensors_path)
    try:
        arrays = load_file(str(tensors_path))
    except Exception as e:  # safetensors raises its own error types for damaged headers
        raise CacheError(
            f"damaged feature file ({type(e).__name__}: {e}); delete it to recompute",
            path=tensors_path,
        ) from e
    if "pooled" not in arrays:
        raise CacheError(
            "feature file has no 'pooled' tensor; delete it to recompute", path=tensors_path
        )
    for name, shape in meta.get("shapes", {}).items():
        if name not in arrays or list(arrays[name].shape) != list(shape):
            raise CacheError(
                f"tensor {name!r} does not match its metadata shape {shape}; delete the entry",
                path=tensors_path,
            )
    regions = arrays.get("regions")
    return FeatureSet(
        kind=str(meta.get("kind", "")),
        pooled=arrays["pooled"].astype(np.float32),
        regions=None if regions is None else regions.astype(np.float32),
        spans_ms=arrays.get("spans_ms"),
        meta=meta,
        path=tensors_path,
    )


_NUMPY_DTYPES = {"F16": "float16", "F32": "float32", "I64": "int64"}  # safetensors -> numpy


def map_tensor(tensors_path: Path, name: str, meta: dict[str, Any] | None = None) -> np.ndarray:
    """One tensor of an entry, memory-mapped read-only from the file (no copy: pages are read
    when touched and can be dropped again), in its stored dtype (float16 for features).

    A long film's regions need not sit in memory as float32: ``vloc translate`` maps them and
    widens only the rows a batch uses. CacheError when the file is damaged, lacks ``name`` or
    disagrees with ``meta`` (the entry's metadata, when given).
    """
    import numpy as np

    note_read(tensors_path, "a features entry")

    def damaged(why: str) -> CacheError:
        return CacheError(
            f"damaged feature file ({why}); delete it to recompute", path=tensors_path
        )

    try:
        with open(tensors_path, "rb") as f:
            head = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(head)) if 0 < head < 100_000_000 else None
        size = tensors_path.stat().st_size
    except (OSError, ValueError) as e:
        raise damaged(f"unreadable header: {e}") from e
    entry = header.get(name) if isinstance(header, dict) else None
    if not isinstance(entry, dict):
        raise damaged(f"no tensor {name!r}")
    try:
        dtype = np.dtype(_NUMPY_DTYPES[entry["dtype"]])
        shape = tuple(int(x) for x in entry["shape"])
        begin, end = (int(x) for x in entry["data_offsets"])
    except (KeyError, TypeError, ValueError) as e:
        raise damaged(f"tensor {name!r} has an unreadable header entry") from e
    count = math.prod(shape)
    if end - begin != count * dtype.itemsize or 8 + head + end > size:
        raise damaged(f"tensor {name!r} does not fit the file")
    want = (meta or {}).get("shapes", {}).get(name)
    if want is not None and list(want) != list(shape):
        raise CacheError(
            f"tensor {name!r} does not match its metadata shape {want}; delete the entry",
            path=tensors_path,
        )
    if count == 0:
        return np.zeros(shape, dtype)
    try:
        with open(tensors_path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:
        raise damaged(f"cannot map: {e}") from e
    flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=8 + head + begin)
    return flat.reshape(shape)  # its base is the mapping (release_pages finds it there)


def release_pages(array: np.ndarray) -> None:
    """Let the pages of a :func:`map_tensor` array that were read go: they stay in the page
    cache (reading them again is cheap) but stop counting in this process's resident memory,
    so a long film's rows read batch by batch keep it flat. A no-op for any other array."""
    base: Any = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    if base is not None and hasattr(mmap, "MADV_DONTNEED"):
        base.madvise(mmap.MADV_DONTNEED)


def list_entries(ws: Workspace, kind: str | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Complete entries in a workspace (optionally of one kind), newest first."""
    folder = ws.root / FEATURES_DIR
    found: list[tuple[Path, dict[str, Any]]] = []
    if not folder.is_dir():
        return found
    for meta_path in folder.glob("*.json"):
        tensors = meta_path.with_suffix(".safetensors")
        if not tensors.is_file():
            continue
        meta = read_json(meta_path, what="feature metadata", default=None)
        if isinstance(meta, dict) and (kind is None or meta.get("kind") == kind):
            found.append((tensors, meta))
    found.sort(key=lambda e: (str(e[1].get("created", "")), e[0].stat().st_mtime_ns), reverse=True)
    return found


def load_features(
    target: str | Path | Workspace,
    *,
    kind: str = "cues",
    key: str | None = None,
    workdir: str | Path | None = None,
    backbone: str | None = None,
) -> FeatureSet:
    """Read features from the store.

    Args:
        target: a ``.safetensors``/``.json`` entry file, a workspace (or its folder), or a
            video (its workspace, beside it or under ``workdir``).
        kind: ``"cues"`` or ``"stride"`` (ignored when ``target`` is an entry file).
        key: a full key or its prefix to pick one entry; otherwise the newest of ``kind``
            (optionally of ``backbone``) is returned.

    Returns:
        a :class:`FeatureSet` with float32 arrays.

    Example:
        >>> fs = load_features("film.mp4", kind="cues")   # doctest: +SKIP
        >>> fs.pooled.shape, fs.regions.shape              # doctest: +SKIP
        ((412, 2048), (412, 9, 2048))
    """
    if kind not in KINDS:
        raise InputError(f"unknown feature kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if isinstance(target, Workspace):
        ws = target
    else:
        p = Path(target)
        if p.suffix in (".safetensors", ".json") and p.is_file():
            tensors = p.with_suffix(".safetensors")
            if not tensors.is_file():
                raise CacheError("feature file not found beside its metadata", path=tensors)
            return read_entry(tensors)
        if p.is_dir() and (p / FEATURES_DIR).is_dir():
            ws = Workspace(root=p, name=p.name)
        else:
            ws = Workspace.for_video(p, workdir)
    entries = list_entries(ws, kind)
    if backbone is not None:
        entries = [e for e in entries if e[1].get("backbone") == backbone]
    if key is not None:
        entries = [e for e in entries if str(e[1].get("key", "")).startswith(key)]
    if not entries:
        what = f"{kind} features" + (f" of backbone {backbone}" if backbone else "")
        raise InputError(
            f"no {what} in this workspace; run `vloc features` first", path=ws.root / FEATURES_DIR
        )
    return read_entry(*entries[0])
