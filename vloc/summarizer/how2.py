"""The How2-MCLS data folder: its layout, read row by row (:func:`import_how2`), and a video's
feature file (:func:`load_video_features`).

The How2-MCLS layout (one row per video, rows of all files of a split line up)::

    DATA/
      <split>_action.txt          video ids, one per row (matches rows to feature files)
      <split>_art_<lang>.txt      the transcript of each row in <lang> (en, pt, ...)
      <split>_sum.txt             the target-language summary of each row
      video_action_features/<video id>.npy   float32 (T, 2048): one 3D-ResNeXt-101 vector
                                             per 16 non-overlapping frames

Splits are usually ``pretrain`` (monolingual, e.g. English transcripts only), ``train``,
``val`` and ``test``. Rows are lines; the last row of a file may lack its newline (so
``wc -l`` counts one row fewer than there are).

Limits are applied *visibly*: transcripts longer than the model's source positions (800
tokens in the paper) are truncated and videos longer than its video positions (1024 steps)
are average-pooled, and both are reported through the ``warn`` callback with counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError

if TYPE_CHECKING:
    import numpy as np


SPLIT_ORDER = ("pretrain", "train", "val", "test")  # the How2-MCLS splits, listed first
ACTION_SUFFIX = "_action.txt"
SUMMARY_SUFFIX = "_sum.txt"
TRANSCRIPT_INFIX = "_art_"  # <split>_art_<lang>.txt
FEATURES_DIR = "video_action_features"


# ------------------------------------------------------------------------------- importer


@dataclass(frozen=True)
class How2Row:
    """One video of a How2-MCLS split."""

    split: str  # "pretrain", "train", "val", "test", ...
    row: int  # 1-based row number in the split's files
    video_id: str  # the id in <split>_action.txt
    transcripts: dict[str, str] = field(hash=False)  # language code -> transcript
    summary: str = ""  # the target-language summary
    features: Path | None = None  # video_action_features/<video_id>.npy


def _read_rows(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, stripped; a missing final newline does not lose a row,
    trailing blank lines are dropped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=path) from e
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from e
    rows = [line.strip() for line in text.splitlines()]
    while rows and not rows[-1]:  # blank lines at the end of a file are not rows
        rows.pop()
    return rows


def how2_splits(root: str | Path) -> list[str]:
    """Split names present in a How2-MCLS folder (those with a ``<split>_action.txt``)."""
    root = Path(root)
    names = {p.name[: -len(ACTION_SUFFIX)] for p in root.glob(f"*{ACTION_SUFFIX}")}
    return [s for s in SPLIT_ORDER if s in names] + sorted(names - set(SPLIT_ORDER))


def import_how2(
    root: str | Path, *, splits: Sequence[str] | None = None
) -> dict[str, list[How2Row]]:
    """Read the How2-MCLS layout (:mod:`vloc.summarizer.how2`) → ``{split: [How2Row, ...]}``.

    Every file of a split must have exactly one row per video id; every id needs its
    feature file. Raises :class:`InputError` naming the file, the row and what was expected.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("not a How2-MCLS data folder (not a directory)", path=root)
    present = how2_splits(root)
    if not present:
        raise InputError(
            f"no <split>{ACTION_SUFFIX} file here: expected the How2-MCLS layout "
            f"(<split>{ACTION_SUFFIX}, <split>{TRANSCRIPT_INFIX}<lang>.txt, <split>{SUMMARY_SUFFIX}, "
            f"{FEATURES_DIR}/<id>.npy)",
            path=root,
        )
    wanted = list(splits) if splits is not None else present
    for s in wanted:
        if s not in present:
            raise InputError(
                f"split {s!r} not found (no {s}{ACTION_SUFFIX}); present: {', '.join(present)}",
                path=root,
            )
    out: dict[str, list[How2Row]] = {}
    for split in wanted:
        action = root / f"{split}{ACTION_SUFFIX}"
        ids = _read_rows(action)
        for i, vid in enumerate(ids, 1):
            if not vid:
                raise InputError(f"row {i} holds no video id", path=action)
        summary_path = root / f"{split}{SUMMARY_SUFFIX}"
        if not summary_path.is_file():
            raise InputError(f"summary file {summary_path.name} is missing", path=root)
        files = {"": summary_path}
        for p in sorted(root.glob(f"{split}{TRANSCRIPT_INFIX}*.txt")):
            lang = p.name[len(split) + len(TRANSCRIPT_INFIX) : -len(".txt")]
            if lang:
                files[lang] = p
        if len(files) == 1:
            raise InputError(
                f"no transcript file {split}{TRANSCRIPT_INFIX}<lang>.txt for split {split!r}",
                path=root,
            )
        columns: dict[str, list[str]] = {}
        for lang, path in files.items():
            rows = _read_rows(path)
            if len(rows) != len(ids):
                raise InputError(
                    f"{len(rows)} rows but {action.name} lists {len(ids)} videos: "
                    "the files of a split must line up row by row",
                    path=path,
                )
            columns[lang] = rows
        split_rows = []
        for i, vid in enumerate(ids):
            npy = root / FEATURES_DIR / f"{vid}.npy"
            if not npy.is_file():
                raise InputError(
                    f"feature file of row {i + 1} ({action.name}: {vid}) not found", path=npy
                )
            split_rows.append(
                How2Row(
                    split=split,
                    row=i + 1,
                    video_id=vid,
                    transcripts={lang: col[i] for lang, col in columns.items() if lang},
                    summary=columns[""][i],
                    features=npy,
                )
            )
        out[split] = split_rows
    return out


def load_video_features(
    path: str | Path, *, dim: int | None = None, max_steps: int | None = None
) -> tuple[np.ndarray, int]:
    """A ``.npy`` of float features (T, D) → (float32 (min(T, max_steps), D), T).

    Longer videos are average-pooled over time to ``max_steps`` (:func:`pool_video`);
    ``dim`` checks D. Raises :class:`InputError` naming the file."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise InputError("video feature file not found", path=path)
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"not a readable .npy array ({e})", path=path) from e
    if arr.ndim != 2 or arr.shape[0] < 1 or not np.issubdtype(arr.dtype, np.floating):
        raise InputError(
            f"expected float video features (T steps, D) with T >= 1, got {arr.dtype} {arr.shape}",
            path=path,
        )
    if dim is not None and arr.shape[1] != dim:
        raise InputError(f"features are {arr.shape[1]}-d but the model expects {dim}", path=path)
    if not np.isfinite(arr).all():
        raise InputError("features contain NaN or inf values", path=path)
    steps = int(arr.shape[0])
    arr = arr.astype(np.float32, copy=False)
    if max_steps is not None and steps > max_steps:
        import torch

        from vloc.summarizer.model import pool_video

        arr = pool_video(torch.from_numpy(np.ascontiguousarray(arr)), max_steps).numpy()
    return arr, steps
