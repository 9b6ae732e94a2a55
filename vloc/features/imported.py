"""Import published clip features (``.npy`` arrays) into the feature store.

For example the How2 / MCLS action features: float32 ``(T, 2048)``, one 3D-ResNeXt-101
vector per 16 consecutive frames. They are stored as kind ``"stride"`` with
``source: "imported"``, so the rest of vloc reads them like extracted features.
"""

from __future__ import annotations

from pathlib import Path

from vloc.errors import InputError
from vloc.features.store import FeatureSet, feature_key, lookup, read_entry, write_entry
from vloc.fileio import file_fingerprint, sha256_file
from vloc.workspace import Workspace

IMPORTED_BACKBONE = "imported"  # backbone label when the caller does not name one
FLOAT16_MAX = 65504.0  # largest finite float16: values beyond it cannot be stored


def import_features(
    npy_path: str | Path,
    *,
    video_or_name: str | Path,
    workdir: str | Path | None = None,
    frames_per_step: int = 16,
    fps: float | None = None,
    backbone: str | None = None,
) -> FeatureSet:
    """Validate ``npy_path`` and store it as stride features of ``video_or_name``.

    Args:
        npy_path: a ``.npy`` file holding a float array ``(T, D)``, one row per step.
        video_or_name: the video the features belong to (its workspace is used and its
            fingerprint recorded), or just a name when the video is not at hand (the
            workspace is then ``<workdir or .>/<name>.vloc``).
        frames_per_step: source frames per row (16 for the How2 features).
        fps: the source frame rate; when given, each row gets its span
            ``[j·F/fps, (j+1)·F/fps)`` in ms; otherwise spans are unknown.
        backbone: the extractor's name for the metadata (e.g. ``"resnext101_3d"``).

    Returns:
        the stored :class:`FeatureSet` (float32 ``pooled`` (T, D), no regions).
    """
    import numpy as np

    from vloc import __version__

    npy_path = Path(npy_path)
    if not npy_path.is_file():
        raise InputError("feature file not found", path=npy_path)
    if frames_per_step < 1:
        raise InputError(f"frames per step must be >= 1, got {frames_per_step}")
    if fps is not None and not fps > 0:
        raise InputError(f"fps must be > 0, got {fps}")
    try:
        arr = np.load(npy_path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"not a readable .npy array ({e})", path=npy_path) from e
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(
            f"expected a 2-D array (T steps, D features) with T, D >= 1, got shape {arr.shape}",
            path=npy_path,
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"expected a float array, got dtype {arr.dtype}", path=npy_path)
    finite = np.isfinite(arr)
    if not finite.all():
        rows = np.flatnonzero(~finite.all(axis=1))
        raise InputError(
            f"{int((~finite).sum())} NaN/inf value(s) in rows {rows[:10].tolist()}", path=npy_path
        )
    if np.abs(arr).max() > FLOAT16_MAX:
        raise InputError(
            f"values up to {np.abs(arr).max():g} do not fit float16 storage (max {FLOAT16_MAX:g})",
            path=npy_path,
        )
    target = Path(video_or_name)
    ws = Workspace.for_video(target, workdir)
    video_id = file_fingerprint(target) if target.is_file() else f"name:{target.name}"
    npy_sha = sha256_file(npy_path)
    label = backbone or IMPORTED_BACKBONE
    key = feature_key(
        kind="stride",
        video_id=video_id,
        spans_ms=None,
        backbone=label,
        width=1.0,
        weights_id=f"imported:{npy_sha}",
        fps=float(fps) if fps is not None else 0.0,
        clip_len=frames_per_step,
        size=0,
        grid=None,
    )
    spans = None
    if fps is not None:
        j = np.arange(arr.shape[0] + 1, dtype=np.float64)
        edges = np.rint(j * frames_per_step / fps * 1000).astype(np.int64)  # ms
        spans = np.stack([edges[:-1], edges[1:]], axis=1)  # (T, 2)
    meta = lookup(ws, "stride", label, key)
    if meta is None:
        meta = {
            "source": "imported",
            "source_path": str(npy_path),
            "source_sha256": npy_sha,
            "source_dtype": str(arr.dtype),
            "backbone": label,
            "weights": "imported",
            "weights_id": f"imported:{npy_sha}",
            "fps": fps,
            "clip_len": frames_per_step,
            "size": None,
            "grid": None,
            "vloc_version": __version__,
            "video": {
                "path": str(target) if target.is_file() else None,
                "name": target.name,
                "fingerprint": video_id if target.is_file() else None,
            },
            "subtitles": None,
            "spans_ms": spans.tolist() if spans is not None else None,
        }
        tensors_path, _ = write_entry(
            ws,
            kind="stride",
            backbone=label,
            key=key,
            pooled=arr,
            regions=None,
            spans_ms=spans,
            meta=meta,
        )
    else:
        tensors_path = ws.root / "features" / f"stride-{label}-{key[:16]}.safetensors"
    return read_entry(tensors_path)
