"""Resumable extraction: finished clips are saved in chunks while a long run goes on.

A run keeps the features of every ``CHUNK_CLIPS`` consecutive clips (by clip index) in a chunk
file as soon as all of them are computed; a run that is killed and started again with the same
settings (the same store key) loads the chunks and decodes and computes only the clips that are
not in one. Chunks are removed once the final store entry is written.

Layout inside the workspace::

    features/partial/<kind>-<backbone>-<key16>/<chunk:05d>.safetensors

Chunk ``c`` holds clips ``[c * N, (c + 1) * N)`` (the last cue chunk: up to the last cue), with
tensors ``index`` (k,) int64, ``pooled`` (k, D), ``regions`` (k, R, D) for cues, float16 as in
the store (so the final entry is byte-identical to an uninterrupted run's: float32 → float16 is
elementwise), and ``spans_ms`` (k, 2) int64; its safetensors metadata names the key, the kind,
the chunk number and N. A chunk that disagrees with any of these, or is damaged, is ignored
(and rewritten). A chunk holding a clip padded because the decode ended (:attr:`Clip.padded`)
is never written: a resumed run decodes up to the end again and sees what the first one saw.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from vloc.features.store import DISK_DTYPE, FEATURES_DIR, KEY_CHARS
from vloc.fileio import atomic_path
from vloc.workspace import Workspace, safe_name

CHUNK_CLIPS = 64  # clips per chunk: about a minute of i3d_r50 compute on a 2-core CPU (0.8-1.9
# s/clip), 4.5 minutes of a film at its 3.75 fps × 16 frames; the most a killed run loses
PARTIAL_DIR = "partial"  # features/ sub-folder of unfinished entries
CHUNK_FORMAT = 1  # bump when the chunk layout changes

Row = tuple[Any, Any, tuple[int, int]]  # pooled (D,), regions (R, D) or None, (start_ms, end_ms)


class Chunks:
    """The chunk files of one store entry being extracted.

    Args:
        ws: the video's workspace.
        kind, backbone, key: the store entry (:func:`vloc.features.store.entry_paths`).
        total: the number of clips when known in advance (cues), else None (stride clips: the
            last, partial chunk is never written).
        chunk_clips: clips per chunk (N).
    """

    def __init__(
        self,
        ws: Workspace,
        kind: str,
        backbone: str,
        key: str,
        *,
        total: int | None,
        chunk_clips: int = CHUNK_CLIPS,
    ) -> None:
        if chunk_clips < 1:
            raise ValueError(f"chunk_clips must be at least 1, got {chunk_clips}")
        self.folder = (
            ws.root / FEATURES_DIR / PARTIAL_DIR / f"{kind}-{safe_name(backbone)}-{key[:KEY_CHARS]}"
        )
        self.kind, self.key, self.total, self.n = kind, key, total, chunk_clips
        self._pending: dict[int, dict[int, Row]] = {}  # chunk -> clip index -> row
        self._saved: set[int] = set()  # chunks on disk (loaded or written by this run)
        self._padded: set[int] = set()  # chunks holding a padded clip: never written

    def _size(self, chunk: int) -> int:
        """Clips in a complete chunk ``chunk``."""
        if self.total is None:
            return self.n
        return max(0, min(self.n, self.total - chunk * self.n))

    def _path(self, chunk: int) -> Path:
        return self.folder / f"{chunk:05d}.safetensors"

    def load(self) -> dict[int, Row]:
        """Rows of every valid chunk on disk: clip index -> row (float16 arrays)."""
        from safetensors import safe_open

        rows: dict[int, Row] = {}
        if not self.folder.is_dir():
            return rows
        dim = None
        for path in sorted(self.folder.glob("*.safetensors")):
            try:
                chunk = int(path.stem)
                with safe_open(str(path), framework="numpy") as f:
                    meta = json.loads((f.metadata() or {}).get("vloc", "{}"))
                    arrays = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
            except Exception:  # damaged or foreign: ignore it, the clips are computed again
                continue
            if not self._valid(chunk, meta, arrays, dim):
                continue
            dim = arrays["pooled"].shape[1]
            regions = arrays.get("regions")
            for r, i in enumerate(arrays["index"].tolist()):
                span = tuple(int(x) for x in arrays["spans_ms"][r])
                rows[i] = (arrays["pooled"][r], None if regions is None else regions[r], span)
            self._saved.add(chunk)
        return rows

    def _valid(self, chunk: int, meta: Any, arrays: dict[str, Any], dim: int | None) -> bool:
        import numpy as np

        expect = {"format": CHUNK_FORMAT, "key": self.key, "kind": self.kind, "chunk": chunk}
        if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in expect.items()):
            return False
        if meta.get("chunk_clips") != self.n or not {"index", "pooled", "spans_ms"} <= set(arrays):
            return False
        k = self._size(chunk)
        want = np.arange(chunk * self.n, chunk * self.n + k)
        pooled = arrays["pooled"]
        if k == 0 or not np.array_equal(arrays["index"], want) or pooled.ndim != 2:
            return False
        if pooled.shape[0] != k or (dim is not None and pooled.shape[1] != dim):
            return False
        regions = arrays.get("regions")
        if (regions is not None) != (self.kind == "cues"):
            return False
        if regions is not None and (regions.ndim != 3 or regions.shape[0] != k):
            return False
        return arrays["spans_ms"].shape == (k, 2)

    def add(self, index: int, row: Row, *, padded: bool = False) -> None:
        """Record a computed clip; write its chunk as soon as the chunk is complete."""
        chunk = index // self.n
        if chunk in self._saved:
            return
        if padded:
            self._padded.add(chunk)
        rows = self._pending.setdefault(chunk, {})
        rows[index] = row
        if len(rows) == self._size(chunk):
            del self._pending[chunk]
            if chunk not in self._padded:
                self._write(chunk, rows)

    def _write(self, chunk: int, rows: dict[int, Row]) -> None:
        import numpy as np
        from safetensors.numpy import save_file

        order = sorted(rows)
        arrays = {
            "index": np.array(order, dtype=np.int64),
            "pooled": np.stack([rows[i][0] for i in order]).astype(DISK_DTYPE),
            "spans_ms": np.array([rows[i][2] for i in order], dtype=np.int64).reshape(-1, 2),
        }
        if rows[order[0]][1] is not None:
            arrays["regions"] = np.stack([rows[i][1] for i in order]).astype(DISK_DTYPE)
        meta = {
            "format": CHUNK_FORMAT,
            "key": self.key,
            "kind": self.kind,
            "chunk": chunk,
            "chunk_clips": self.n,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self._path(chunk)) as tmp:
            save_file(arrays, str(tmp), metadata={"vloc": json.dumps(meta)})
        self._saved.add(chunk)

    @property
    def saved(self) -> int:
        """Chunks on disk."""
        return len(self._saved)

    def discard(self) -> None:
        """Remove the chunks (once the final entry is written); ``partial/`` too when empty."""
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.folder.parent.rmdir()
        self._saved.clear()
        self._pending.clear()
