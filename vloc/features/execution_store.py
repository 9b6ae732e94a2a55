"""What backbone execution remembers on this machine, under ``$VLOC_HOME/backbones``: the
measurements :mod:`vloc.features.execution` decides with (``paths.json``, one
:class:`Measurement` per :func:`~vloc.features.execution.record_key`) and the saved frozen
TorchScript traces (``traced/``), each checked when read: an unreadable record is no
measurement, a damaged trace is removed and traced again.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vloc.fileio import atomic_write_json, read_json, sha256_file
from vloc.workspace import safe_name, vloc_home

HOME_DIR = "backbones"  # under $VLOC_HOME
CHOICES_FILE = "paths.json"  # measurements, keyed by record_key()
TRACED_DIR = "traced"  # saved frozen traces
KEY_CHARS = 16  # hex characters of a key in file names

WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class Measurement:
    """One machine's timings of a backbone at one clip shape (seconds)."""

    eager_s: float  # one batch, eager (as the run builds it: folded, channels-last)
    jit_s: float  # one batch through the optimised trace
    trace_s: float  # trace + freeze + save + load + optimise + warm-up calls
    load_s: float  # load a saved trace + optimise + warm-up calls

    def setup_s(self, saved: bool) -> float:
        """What a run pays before its first traced batch."""
        return self.load_s if saved else self.trace_s

    def break_even(self, saved: bool) -> float | None:
        """Batches from which the trace finishes first; None when it is not faster per batch."""
        saving = self.eager_s - self.jit_s
        if not saving > 0:
            return None
        return self.setup_s(saved) / saving


class PathStore:
    """Measurements and saved traces under ``$VLOC_HOME/backbones`` (or ``root``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else vloc_home() / HOME_DIR

    # --- measurements -------------------------------------------------------------------
    @property
    def choices_file(self) -> Path:
        return self.root / CHOICES_FILE

    def _read_choices(self) -> dict[str, Any]:
        return read_json(
            self.choices_file, what="backbone measurements", require_object=True, default={}
        )

    def measurement(self, key: str) -> Measurement | None:
        """The remembered measurement, or None (none yet, or an unreadable record)."""
        entry = self._read_choices().get(key)
        if not isinstance(entry, dict):
            return None
        try:
            m = Measurement(**{f: float(entry[f]) for f in Measurement.__dataclass_fields__})
        except (KeyError, TypeError, ValueError):
            return None
        values = asdict(m).values()
        return m if all(math.isfinite(v) and v >= 0 for v in values) else None

    def remember(self, key: str, m: Measurement, info: dict[str, Any]) -> None:
        """Add a measurement to the choices file (read, update, atomic rename, under a lock)."""
        from filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / (CHOICES_FILE + ".lock"))):
            data = self._read_choices()
            data[key] = {**{k: round(v, 4) for k, v in asdict(m).items()}, **info}
            atomic_write_json(self.choices_file, data)

    # --- saved traces -------------------------------------------------------------------
    def _stem(self, backbone: str, key: str) -> str:
        return f"{safe_name(backbone)}-{key[:KEY_CHARS]}"

    def trace_index(self, backbone: str, key: str) -> Path:
        return self.root / TRACED_DIR / f"{self._stem(backbone, key)}.json"

    def saved_trace(self, backbone: str, key: str) -> tuple[Path, dict[str, Any]] | None:
        """(file, its index entry) when a saved trace of the right size is there (the hash is
        checked when it is loaded)."""
        index = self.trace_index(backbone, key)
        entry = read_json(index, what="saved trace index", require_object=True, default=None)
        if entry is None:
            return None
        try:
            path = index.parent / str(entry["file"])
            if entry.get("key") != key or Path(entry["file"]).name != entry["file"]:
                return None
            if path.stat().st_size != int(entry["size"]):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return path, entry

    def save_trace(self, backbone: str, key: str, frozen: Any) -> Path:
        """Write a frozen trace (atomically, named by its content) and point the index at it."""
        import io

        import torch

        from vloc.fileio import atomic_write, sha256_bytes

        buf = io.BytesIO()
        torch.jit.save(frozen, buf)
        data = buf.getvalue()
        digest = sha256_bytes(data)
        stem = self._stem(backbone, key)
        final = self.root / TRACED_DIR / f"{stem}-{digest[:KEY_CHARS]}.pt"
        with atomic_write(final) as f:
            f.write(data)
        atomic_write_json(
            self.trace_index(backbone, key),
            {"key": key, "file": final.name, "size": len(data), "sha256": digest},
        )
        for old in final.parent.glob(f"{stem}-*.pt"):  # earlier versions (a run still reading
            if old != final:  # one keeps its open file readable on POSIX)
                with contextlib.suppress(OSError):
                    old.unlink()
        return final

    def load_trace(self, backbone: str, key: str, warn: WarnFn | None = None) -> Any | None:
        """The saved frozen trace, or None when there is none or it is damaged (then removed,
        with a warning naming the file)."""
        import torch

        found = self.saved_trace(backbone, key)
        index = self.trace_index(backbone, key)
        if found is None:
            if index.exists() and warn is not None:
                warn(f"{index}: the saved trace is missing or has the wrong size; tracing again")
            return None
        path, entry = found
        problem = None
        try:
            if sha256_file(path) != entry.get("sha256"):
                problem = "its sha256 does not match"
            else:
                return torch.jit.load(str(path), map_location="cpu")
        except Exception as e:  # a damaged zip, an unreadable file: trace again
            problem = f"torch cannot load it ({type(e).__name__})"
        if warn is not None:
            warn(f"{path}: the saved trace is damaged ({problem}); tracing again")
        for stale in (path, index):
            with contextlib.suppress(OSError):
                stale.unlink()
        return None
