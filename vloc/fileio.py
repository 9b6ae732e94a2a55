"""Atomic writes and content hashes.

Every output vloc produces goes through :func:`atomic_write`: data is written to a
temporary file in the destination folder, flushed, fsynced and renamed over the
target, so a crash or a full disk never leaves a partial file and never damages a
previous version of the output. An atomic write never replaces a protected input of the
current run (:mod:`vloc.guard`: the output guard that checks every file a user asks vloc to
write against every file the run reads).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vloc.errors import InputError, VlocError
from vloc.guard import inode, protected
from vloc.redact import redact_known

HASH_CHUNK = 1 << 20  # 1 MiB reads when hashing whole files
FINGERPRINT_SAMPLES = 16  # evenly spaced 64 KiB windows read by file_fingerprint
FINGERPRINT_WINDOW = 1 << 16
FILE_MODE = 0o666  # what open() would create, before the umask


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask, read once (os.umask can only read it by setting it)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


PathLike = str | os.PathLike


def _publish(tmp: str, path: Path) -> None:
    """Give ``tmp`` the permissions a plain ``open(path, "w")`` would, then rename it over ``path``.

    mkstemp creates files readable by their owner only; outputs are meant to be shared.
    A protected input (:func:`protect_inputs`) is never replaced.
    """
    if inode(path) in protected():
        raise InputError("refusing to overwrite an input of this run", path=path)
    if os.path.isdir(path):
        raise InputError("the output is a folder; name a file instead", path=path)
    os.chmod(tmp, FILE_MODE & ~_umask())
    os.replace(tmp, path)


def _temp_beside(path: Path) -> tuple[int, str]:
    """Create a temporary file beside ``path`` (and ``path``'s folder) → (fd, its name)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise VlocError(f"cannot write here: {e.strerror or e}", path=path.parent) from e


@contextlib.contextmanager
def _published(tmp: str, path: Path) -> Iterator[None]:
    """Rename ``tmp`` over ``path`` when the block succeeds; on any exception remove ``tmp``
    (an OSError becomes a :class:`VlocError` naming ``path``)."""
    try:
        yield
        _publish(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise VlocError(f"cannot write: {e.strerror or e}", path=path) from e
        raise


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    fd, tmp = _temp_beside(path)
    with _published(tmp, path), os.fdopen(fd, mode, **open_kwargs) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` atomically; a registered secret (:mod:`vloc.redact`) never reaches it."""
    with atomic_write(path, "w", encoding=encoding, newline="") as f:
        f.write(redact_known(text))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for libraries that write by file name.

    The temporary file is renamed over ``path`` when the block succeeds, removed otherwise. A
    library's own write error (safetensors' ``SafetensorError`` on a full disk, ...) becomes a
    :class:`VlocError` naming ``path``.
    """
    path = Path(path)
    fd, tmp = _temp_beside(path)
    os.close(fd)
    with _published(tmp, path):
        try:
            yield Path(tmp)
        except (VlocError, OSError):
            raise
        except Exception as e:
            raise VlocError(f"cannot write ({type(e).__name__}: {e})", path=path) from e


def check_folder(path: Path, what: str) -> None:
    """An :class:`InputError` when ``path`` exists (or is a link) but is no usable folder — a
    file, or a symbolic link whose target is missing (``mkdir`` would fail with a bare "File
    exists"); a missing path is fine (it will be created)."""
    if path.is_dir() or not os.path.lexists(path):
        return
    if path.is_symlink():
        target = os.readlink(path)
        raise InputError(
            f"{what} is a symbolic link to {target}, which does not exist; create that folder "
            "or choose another",
            path=path,
        )
    raise InputError(f"{what} is a file, not a folder", path=path)


def check_format_version(
    version: Any,
    supported: int,
    *,
    what: str,
    advice: str = "upgrade vloc",
    error: type[VlocError] = VlocError,
    path: str | Path,
) -> int:
    """``version`` (a file's ``format_version``) when this vloc reads it (an int up to
    ``supported``); otherwise ``error`` naming ``path``: "``what`` <version> is newer than this
    vloc reads (up to ``supported``); ``advice``"."""
    if not isinstance(version, int) or version > supported:
        raise error(
            f"{what} {version!r} is newer than this vloc reads (up to {supported}); {advice}",
            path=path,
        )
    return version


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_into(h: Any, path: str | Path) -> None:
    """Feed the bytes of the file at ``path`` to the hashlib object ``h``, ``HASH_CHUNK`` at a
    time (an OSError goes to the caller, who names what it was reading)."""
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)


def sha256_file(path: str | Path, *, what: str = "") -> str:
    """Full sha256 of a file (for weights and subtitles: small or verified once); ``what``
    names the file in the error ("cannot read weights: ...")."""
    h = hashlib.sha256()
    try:
        hash_into(h, path)
    except OSError as e:
        name = f" {what}" if what else ""
        raise InputError(f"cannot read{name}: {e.strerror or e}", path=path) from e
    return h.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """A content fingerprint of a (possibly multi-GB) video in milliseconds.

    sha256 over the size, the first and last 1 MiB and ``FINGERPRINT_SAMPLES`` evenly
    spaced 64 KiB windows. It depends only on content (never on names or timestamps),
    so a copied or touched file keeps its fingerprint, while re-encoded, truncated or
    edited files change it.
    """
    try:
        size = os.path.getsize(path)
        h = hashlib.sha256(f"vloc-fp1:{size}:".encode())
        with open(path, "rb") as f:
            if size <= 4 * HASH_CHUNK:
                h.update(f.read())
            else:
                h.update(f.read(HASH_CHUNK))
                step = (size - 2 * HASH_CHUNK) // (FINGERPRINT_SAMPLES + 1)
                for i in range(1, FINGERPRINT_SAMPLES + 1):
                    f.seek(HASH_CHUNK + i * step)
                    h.update(f.read(FINGERPRINT_WINDOW))
                f.seek(size - HASH_CHUNK)
                h.update(f.read(HASH_CHUNK))
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from e
    return h.hexdigest()


def stable_hash(obj: Any) -> str:
    """sha256 of a JSON-serialisable object with sorted keys (cache keys from settings)."""
    return sha256_bytes(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode())
