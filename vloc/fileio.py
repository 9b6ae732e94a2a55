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
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vloc.errors import InputError, VlocError
from vloc.guard import inode, protected
from vloc.redact import redact_known

HASH_CHUNK = 1 << 20  # 1 MiB reads when hashing whole files
MANIFEST_LIMIT_BYTES = 64 << 20  # a manifest (CSV / JSON Lines) of 100,000 films is ~20 MB
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


def append_lines(path: str | Path, text: str, *, what: str) -> None:
    """Append ``text`` (whole lines, each ending in a newline) to the log at ``path`` in one
    fsynced write — kill-safe: after a line cut short by a kill, a newline first, so readers
    skip only that line. A registered secret (:mod:`vloc.redact`) never reaches the file; an
    OSError becomes a :class:`VlocError` naming ``what`` and the file."""
    path = Path(path)
    data = redact_known(text).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as f:
            if f.tell() > 0:
                with open(path, "rb") as r:
                    r.seek(-1, os.SEEK_END)
                    if r.read(1) != b"\n":
                        data = b"\n" + data
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise VlocError(f"cannot write the {what}: {e.strerror or e}", path=path) from e


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


# ---------------------------------------------------------------- bounded reads of side inputs

_KINDS = (  # what a path that is not a regular file is, for the error line
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)


def format_size(n: int) -> str:
    """``65536`` -> ``"64 KiB"``: a byte count as people read limits."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def read_bytes_limited(
    path: PathLike, limit_bytes: int, *, what: str, error: type[VlocError] = InputError
) -> bytes:
    """The bytes of the regular file at ``path``, refusing anything larger than
    ``limit_bytes`` and anything that is not a regular file (a folder, ``/dev/zero``, a FIFO,
    a socket), each with one ``error`` naming the file, ``what`` it was read as (``"synopsis"``,
    ``"subtitle file"``) and the limit.

    Never reads more than ``limit_bytes + 1`` bytes and never blocks on a FIFO: the file is
    opened non-blocking and checked with ``fstat`` before a byte is read, so a device or a
    pipe cannot hang or exhaust memory, and a file that grows while read is still refused.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{what} not found", path=path) from None
    except IsADirectoryError:  # Windows; POSIX opens folders and fstat says so below
        raise error(f"the {what} is a folder, not a regular file", path=path) from None
    except OSError as e:
        raise error(f"cannot read the {what}: {e.strerror or e}", path=path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a file")
            raise error(f"the {what} is {kind}, not a regular file", path=path)
        too_big = f"the {what} is {{size}}, over its limit of {format_size(limit_bytes)}"
        if st.st_size > limit_bytes:
            raise error(too_big.format(size=f"{st.st_size:,} bytes"), path=path)
        chunks: list[bytes] = []
        got = 0
        while got <= limit_bytes and (chunk := os.read(fd, min(HASH_CHUNK, limit_bytes + 1 - got))):
            chunks.append(chunk)
            got += len(chunk)
        if got > limit_bytes:  # it grew while being read
            raise error(too_big.format(size=f"more than {limit_bytes:,} bytes"), path=path)
        return b"".join(chunks)
    except OSError as e:
        raise error(f"cannot read the {what}: {e.strerror or e}", path=path) from None
    finally:
        os.close(fd)


def read_text_limited(
    path: PathLike,
    limit_bytes: int,
    *,
    what: str,
    encoding: str = "utf-8-sig",
    error: type[VlocError] = InputError,
) -> str:
    """:func:`read_bytes_limited`, decoded (a UTF-8 BOM dropped by default); bytes that are
    not ``encoding`` are one ``error`` naming the file and the first bad byte's offset."""
    data = read_bytes_limited(path, limit_bytes, what=what, error=error)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise error(
            f"the {what} is not {encoding.removesuffix('-sig').upper()} text "
            f"({e.reason} at byte {e.start})",
            path=path,
        ) from None


JSON_LIMIT_BYTES = 64 << 20  # configs, metadata, truth files (a 10,000-film truth.json: ~10 MB)
_RAISE: Any = object()  # read_json's "no default": failures raise
_JSON_NAMES = {list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "a boolean", type(None): "null"}  # fmt: skip


def read_json(
    path: PathLike,
    *,
    what: str,
    limit: int = JSON_LIMIT_BYTES,
    error: type[VlocError] = InputError,
    require_object: bool = False,
    default: Any = _RAISE,
) -> Any:
    """The JSON value in the file at ``path``: a bounded read (:func:`read_text_limited`, a
    UTF-8 BOM dropped), then parsed.

    A missing, unreadable, oversized or non-regular file, bytes that are not UTF-8, text that
    is not JSON (or nested too deep to parse) and — with ``require_object`` — a value that is
    not a JSON object are each one ``error`` naming the file and ``what`` it was read as
    (``"tokenizer metadata"``). With a ``default``, every one of those failures returns
    ``default`` instead (a cache or memo that is then recomputed)."""
    try:
        text = read_text_limited(path, limit, what=what, error=error)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise error(
                f"the {what} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})",
                path=path,
            ) from None
        except RecursionError:
            raise error(f"the {what} is nested too deeply to read", path=path) from None
        except ValueError as e:  # an integer of more digits than Python converts
            raise error(f"the {what} is not readable JSON ({e})", path=path) from None
        if require_object and not isinstance(value, dict):
            found = _JSON_NAMES.get(type(value), type(value).__name__)
            raise error(f"the {what} is not a JSON object (found {found})", path=path)
    except VlocError:
        if default is _RAISE:
            raise
        return default
    return value
