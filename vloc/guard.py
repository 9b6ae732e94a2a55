"""No command writes over a file it reads: the inputs and outputs of one run, checked both ways.

A *run* (one CLI command, or one library call such as ``translate_subtitles``; see
:func:`run_guard`) keeps two lists:

* **inputs** — every file and folder the run reads: the files a user names (video, subtitles,
  glossary, synopsis, manifests and the files they name, model folders), the folders vloc
  reads from on its own (the video's workspace with its features, indexes and journals, the
  chosen model folder, ``$VLOC_HOME/engines.toml``) and, as it goes, every file read through
  :func:`note_read`. A folder stands for everything below it, present or future.
* **outputs** — every file the user asked the run to write (``-o``, ``--table``,
  ``--report``, a batch's per-video outputs).

Declaring either side checks it against the other, whichever comes first, so an output is
refused before any work when it is — through a symlink, ``..`` or a hard link (same inode) —
an input, or lies inside an input folder; and an input discovered later (a model folder
chosen from the catalogue, a file a manifest names) that is a declared output stops the run
at that moment, before anything is written. The files of the inputs a user names are also
*protected* (:func:`protected`): :func:`vloc.fileio.atomic_write` refuses to replace one,
whatever path reaches it. Folders vloc manages itself (a workspace) are declared with
``protect=False``: vloc rewrites its caches there, but no user output may land in them.

Outside a run (a library caller that opened none) :func:`check_output` still checks an output
against the inputs it is given, and :func:`note_read` does nothing. The guard lives in a
context variable: threads started inside a run do not see it (their reads are not noted).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from vloc.errors import InputError

PathLike = str | os.PathLike
MAX_FOLDER_FILES = 10_000  # files of one input folder whose inodes are compared (hard links)


def _inode(path: PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _resolve(path: PathLike) -> Path:
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare it as written
        return Path(os.path.abspath(path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _files_below(folder: Path) -> list[Path]:
    try:
        below = (q for q in folder.rglob("*") if q.is_file())
        return list(itertools.islice(below, MAX_FOLDER_FILES))
    except OSError:
        return []


@dataclass(frozen=True)
class _Input:
    path: Path  # resolved
    what: str  # what it is, for messages: "subs", "the workspace of film.mp4", "model ..."
    folder: bool  # a folder: every path below it is an input too
    inodes: frozenset[tuple[int, int]]  # the file's inode, or the inodes of the files below


@dataclass(frozen=True)
class _Output:
    path: Path  # resolved
    given: Path  # as the user wrote it (for messages)
    what: str  # "output", "--table file", ...
    inode: tuple[int, int] | None  # of an existing file at that path


@dataclass
class RunGuard:
    """The inputs and outputs of one run (see the module docstring)."""

    inputs: list[_Input] = field(default_factory=list)
    outputs: list[_Output] = field(default_factory=list)
    protected: set[tuple[int, int]] = field(default_factory=set)  # never replaced by a write
    _seen: set[Path] = field(default_factory=set)  # resolved input paths already declared

    def add_input(self, path: PathLike, what: str, *, protect: bool, folder: bool = False) -> None:
        resolved = _resolve(path)
        if resolved in self._seen:
            if protect and (ino := _inode(resolved)) is not None:
                self.protected.add(ino)
            return
        is_dir = folder or resolved.is_dir()
        if is_dir:
            inodes = frozenset(i for f in _files_below(resolved) if (i := _inode(f)) is not None)
        else:
            ino = _inode(resolved)
            inodes = frozenset([ino]) if ino is not None else frozenset()
        item = _Input(resolved, what, is_dir, inodes)
        for out in self.outputs:
            _refuse_if_same(out, item)
        self._seen.add(resolved)
        self.inputs.append(item)
        if protect:
            self.protected |= inodes

    def add_output(self, path: PathLike, what: str) -> Path:
        given = Path(path)
        if given.is_dir():
            raise InputError(f"the {what} is a folder; name a file instead", path=given)
        out = _Output(_resolve(given), given, what, _inode(given))
        for item in self.inputs:
            _refuse_if_same(out, item)
        self.outputs.append(out)
        return given


def _refuse_if_same(out: _Output, item: _Input) -> None:
    if item.folder and _inside(out.path, item.path):
        raise InputError(
            f"the {out.what} lies inside {item.path} ({item.what}), which this run reads; "
            "choose a path outside it",
            path=out.given,
        )
    if out.path == item.path or (out.inode is not None and out.inode in item.inodes):
        raise InputError(
            f"the {out.what} would overwrite the input {item.path} ({item.what}); choose "
            "another output path",
            path=out.given,
        )


_GUARD: contextvars.ContextVar[RunGuard | None] = contextvars.ContextVar(
    "vloc_run_guard", default=None
)


@contextlib.contextmanager
def run_guard() -> Iterator[RunGuard]:
    """The current run's guard, opened for the block when none is open (a run inside a run —
    a library call made by a command — shares the outer one)."""
    current = _GUARD.get()
    if current is not None:
        yield current
        return
    with next_run() as guard:
        yield guard


@contextlib.contextmanager
def next_run() -> Iterator[RunGuard]:
    """A new run for the block, even inside one: a step that reads what the enclosing run
    just wrote (``vloc translate --review`` reads the translation) checks its own inputs and
    outputs, not the enclosing run's."""
    guard = RunGuard()
    token = _GUARD.set(guard)
    try:
        yield guard
    finally:
        _GUARD.reset(token)


F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Run ``fn`` inside :func:`run_guard` (a library entry point: a whole run)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with run_guard():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def declare_inputs(
    paths: Iterable[PathLike | None], what: str = "input", *, protect: bool = True
) -> None:
    """Declare files or folders the current run reads (missing ones and None are skipped);
    an :class:`InputError` when one of them is a declared output. ``protect``: no atomic write
    may replace their files (False for folders vloc rewrites itself, such as a workspace).
    Without an open run this does nothing."""
    guard = _GUARD.get()
    if guard is None:
        return
    for p in paths:
        if p is None or str(p) == "" or not os.path.lexists(p):
            continue
        guard.add_input(p, what, protect=protect)


def declare_area(path: PathLike, what: str) -> None:
    """Declare a folder that vloc reads and rewrites itself (a video's workspace), existing or
    not yet: no user output may lie inside it; its files stay writable by vloc."""
    guard = _GUARD.get()
    if guard is not None:
        guard.add_input(path, what, protect=False, folder=True)


def note_read(path: PathLike, what: str = "read by this run") -> None:
    """A reader's call before it reads ``path``: the file is an input of the current run (not
    protected from vloc's own cache writes); an :class:`InputError` when the user asked this
    run to write there."""
    declare_inputs([path], what, protect=False)


def declare_output(path: PathLike, what: str = "output") -> Path:
    """Declare a file the user asked the current run to write; refused (:class:`InputError`)
    when it is a folder or one of the run's inputs (see the module docstring)."""
    guard = _GUARD.get()
    if guard is None:
        return RunGuard().add_output(path, what)
    return guard.add_output(path, what)


def check_output(
    path: PathLike, inputs: Iterable[PathLike | None] = (), *, what: str = "output"
) -> Path:
    """Declare ``inputs`` (protected) and the output ``path`` of the current run; without an
    open run, check ``path`` against ``inputs`` alone. Returns ``path``."""
    with run_guard():
        declare_inputs(inputs)
        return declare_output(path, what)


@contextlib.contextmanager
def protect_inputs(inputs: Iterable[PathLike | None]) -> Iterator[None]:
    """Within the block (a run, opened when none is), ``inputs`` are declared inputs whose
    files no atomic write may replace."""
    with run_guard():
        declare_inputs(inputs)
        yield


def protected() -> frozenset[tuple[int, int]]:
    """Inodes of the current run's protected input files (empty outside a run)."""
    guard = _GUARD.get()
    return frozenset(guard.protected) if guard is not None else frozenset()


def inode(path: PathLike) -> tuple[int, int] | None:
    """(device, inode) of ``path``, None when it does not exist."""
    return _inode(path)


__all__ = [
    "RunGuard",
    "check_output",
    "declare_area",
    "declare_inputs",
    "declare_output",
    "guarded",
    "inode",
    "next_run",
    "note_read",
    "protect_inputs",
    "protected",
    "run_guard",
]
