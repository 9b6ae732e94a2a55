"""Per-video workspaces and the user cache directory.

A workspace is a folder holding everything vloc derives from one video: features,
the subtitle index, translations in progress. By default it sits next to the video
(``film.mp4`` -> ``film.mp4.vloc/``); with ``--workdir DIR`` it is ``DIR/film.mp4.vloc/``.
Artefacts inside are named by content hashes of their inputs and settings, so a
stale artefact is never mistaken for a fresh one, whatever the timestamps say.

Runs that share a workspace take a lock per stage (:meth:`Workspace.lock`: a features entry,
a subtitle index, a translation journal) before computing it, and look for the cached result
again once they hold it: of two runs started together one computes, the other waits and finds
the cache hit. The locks are ``flock(2)`` locks (the ``filelock`` package) on files in
``locks/``: the kernel drops them when their process ends, so a killed run never leaves a lock
that blocks the next one. A run that has waited ``WAIT_NOTICE_S`` says once which lock (and which
process, from the ``.holder`` note the holder writes beside it) it is waiting for.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vloc.errors import VlocError
from vloc.fileio import check_folder, read_json
from vloc.guard import declare_area

WORKSPACE_SUFFIX = ".vloc"
LOCKS_DIR = "locks"  # workspace sub-folder of stage locks and their holder notes
WAIT_NOTICE_S = 5.0  # waiting this long for a lock prints who holds it (once)
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def vloc_home() -> Path:
    """Cache root for downloaded weights and models: ``$VLOC_HOME``, else ``~/.cache/vloc``."""
    if env := os.environ.get("VLOC_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "vloc"


HF_CACHE = "hf"  # vloc_home()/hf: where hub names are looked up (and downloaded to, if allowed)


def hf_cache_dir() -> Path:
    """Where Hugging Face hub names are looked up (seq2seq engines, sentence encoders, CLIP):
    ``vloc_home()/hf``."""
    return vloc_home() / HF_CACHE


def safe_name(name: str) -> str:
    """A file-system-safe version of ``name`` (keeps unicode letters, digits, ``.``, ``-``, ``_``)."""
    cleaned = _UNSAFE.sub("_", name).strip("._").lstrip("-")
    return cleaned or "video"


@dataclass(frozen=True)
class Workspace:
    """The folder of derived artefacts for one video.

    Attributes:
        root: the workspace folder (created on first write, not on construction).
        name: the video's file name, or an identifier for videos not on disk
            (e.g. published features imported without their video).
    """

    root: Path
    name: str

    @classmethod
    def for_video(cls, video: str | Path, workdir: str | Path | None = None) -> Workspace:
        """The workspace of ``video``; inside a run it is declared an input area
        (:func:`vloc.guard.declare_area`): vloc reads and rewrites its caches there, and no
        output the user names may lie inside it."""
        video = Path(video)
        parent = Path(workdir) if workdir is not None else video.parent
        ws = cls(root=parent / (safe_name(video.name) + WORKSPACE_SUFFIX), name=video.name)
        if workdir is not None:
            check_folder(parent, "--workdir")
        check_folder(ws.root, "the workspace")
        declare_area(ws.root, f"the workspace of {ws.name}")
        return ws

    def sub(self, *parts: str) -> Path:
        """A path inside the workspace; its parent folders are created."""
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    @contextlib.contextmanager
    def lock(
        self,
        name: str,
        *,
        notify: Callable[[str], None] | None = None,
        notice_after_s: float = WAIT_NOTICE_S,
    ) -> Iterator[Path]:
        """Hold the workspace lock ``name`` (one stage's output) for the ``with`` block.

        Waits as long as another run holds it; after ``notice_after_s`` seconds calls
        ``notify`` once with ``"waiting for another vloc run that holds LOCKFILE (pid ...)"``.
        A lock held by a process that has died is free (the kernel releases ``flock``).
        Yields the lock file's path.
        """
        from filelock import FileLock, Timeout

        path = self.root / LOCKS_DIR / f"{safe_name(name)}.lock"
        holder = path.with_name(path.name + ".holder")
        lock = FileLock(str(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                lock.acquire(timeout=notice_after_s)
            except Timeout:
                if notify is not None:
                    notify(f"waiting for another vloc run that holds {path}{_holder_note(holder)}")
                lock.acquire()
        except OSError as e:
            raise VlocError(f"cannot lock the workspace: {e.strerror or e}", path=path) from e
        try:
            _write_holder(holder)
            yield path
        finally:
            with contextlib.suppress(OSError):
                holder.unlink()  # before releasing: the next holder's note must survive
            lock.release()


def _write_holder(path: Path) -> None:
    """Note who holds a lock (best effort: the lock itself does not depend on it)."""
    prog = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    name = prog.parent.name if prog.name == "__main__.py" else prog.name  # python -m vloc
    note = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "argv": [name, *sys.argv[1:]],
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(note), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a full disk: no note, and no temporary file left behind
        with contextlib.suppress(OSError):
            tmp.unlink()


def _holder_note(path: Path) -> str:
    """`` (pid 123 on host, since ..., `vloc features film.mp4`)`` or "" when unknown."""
    note = read_json(path, what="lock note", default=None)
    try:
        argv = " ".join(str(a) for a in note.get("argv", []))
        return f" (pid {note['pid']} on {note['host']}, since {note['since']}: {argv})"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""
