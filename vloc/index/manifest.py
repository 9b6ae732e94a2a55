"""The on-disk frame of a subtitle index: where its folder is, its manifest, its data files.

An index folder (``<workspace>/index/<subtitle file name>/``, :func:`index_folder`) holds
``manifest.json`` and the data files it names with their sha256 (:mod:`vloc.index.store`
writes them, :mod:`vloc.index.clips` adds the clip index). This module reads and checks the
manifest (:func:`read_manifest`), reads the data files against their checksums
(:func:`read_files`), finds index folders under a path (:func:`find_indexes`) and names the
one error a damaged or foreign index raises (:func:`corrupt`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vloc.errors import CacheError, InputError
from vloc.fileio import check_format_version, sha256_bytes
from vloc.guard import note_read
from vloc.workspace import Workspace, safe_name

INDEX_FORMAT = "vloc-subtitle-index"
INDEX_FORMAT_VERSION = 1  # bump when the layout or the meaning of a field changes
INDEX_DIR = "index"  # the workspace sub-folder holding one folder per indexed subtitle file
MODEL_INDEX_DIR = "model-index"  # a translator's own retrieval indexes, one per encoder: never
# searched, never replacing the index ``vloc index`` built (``model-index/<encoder>/<subs>/``)
MANIFEST = "manifest.json"
KEY_CHARS = 16  # hex characters of the key used in data file names (64 bits)
DATA_SUFFIXES = (".faiss", ".cues.json", ".clips.json")  # an index folder's data files


def index_folder(
    video: str | Path,
    subtitles: str | Path,
    workdir: str | Path | None = None,
    *,
    private_encoder: str | None = None,
) -> Path:
    """Where the index of ``subtitles`` for ``video`` lives (nothing is created); with
    ``private_encoder`` (an encoder's sha256), the private index a translator retrieves with
    (:data:`MODEL_INDEX_DIR`), which :func:`find_indexes` never returns."""
    ws = Workspace.for_video(video, workdir)
    name = safe_name(Path(subtitles).name)
    if private_encoder is not None:
        return ws.root / MODEL_INDEX_DIR / private_encoder[:KEY_CHARS] / name
    return ws.root / INDEX_DIR / name


def corrupt(folder: Path, problem: str) -> CacheError:
    """The error of a damaged or foreign index folder (says how to rebuild it)."""
    return CacheError(
        f"corrupt or foreign subtitle index: {problem}; delete the folder and run 'vloc index' again",
        path=folder,
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """The parsed manifest of ``folder``, checked for format and version (CacheError)."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError as e:
        raise CacheError(
            f"no {MANIFEST}: not a vloc subtitle index (build one with 'vloc index VIDEO SUBS')",
            path=folder,
        ) from e
    except OSError as e:
        raise CacheError(f"cannot read: {e.strerror or e}", path=path) from e
    except (ValueError, UnicodeDecodeError) as e:
        raise corrupt(folder, f"{MANIFEST} is not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != INDEX_FORMAT:
        raise corrupt(folder, f"{MANIFEST} is not a {INDEX_FORMAT} manifest")
    version = check_format_version(
        manifest.get("format_version"), INDEX_FORMAT_VERSION, what="index format version",
        advice="upgrade vloc or re-index with this version", error=CacheError, path=folder,
    )  # fmt: skip
    if version < INDEX_FORMAT_VERSION:
        raise CacheError(
            f"index format version {version} is older than this vloc's "
            f"({INDEX_FORMAT_VERSION}); run 'vloc index' again to rebuild it",
            path=folder,
        )
    return manifest


def read_files(
    folder: Path, files: dict[str, Any], paths: dict[str, Path], *, verify: bool
) -> list[bytes]:
    """The bytes of each of ``paths`` (the manifest's ``files`` key → its path); with
    ``verify``, each must match its checksum there (``<key>_sha256``). CacheError otherwise."""
    for path in paths.values():
        note_read(path, "a subtitle index")
    try:
        data = [path.read_bytes() for path in paths.values()]
    except OSError as e:
        raise corrupt(folder, f"cannot read {e.filename}: {e.strerror or e}") from e
    if verify:
        for (key, path), content in zip(paths.items(), data, strict=True):
            if sha256_bytes(content) != files.get(f"{key}_sha256"):
                raise corrupt(folder, f"{path.name} does not match the checksum in {MANIFEST}")
    return data


def find_indexes(path: str | Path) -> list[Path]:
    """Index folders under ``path``: an index folder, a workspace, or a folder of workspaces.

    Returns them sorted by path. Raises :class:`InputError` when there is none.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", path=path)
    if path.is_file() and path.name == MANIFEST:
        return [path.parent]
    if (path / MANIFEST).is_file():
        return [path]
    found = sorted(m.parent for m in path.rglob(MANIFEST) if m.parent.parent.name == INDEX_DIR)
    if not found:
        raise InputError(
            "no vloc subtitle index found here (give an index folder, a video's workspace, or a "
            "folder of workspaces; build indexes with 'vloc index VIDEO SUBS')",
            path=path,
        )
    return found


__all__ = [
    "DATA_SUFFIXES",
    "INDEX_DIR",
    "INDEX_FORMAT",
    "INDEX_FORMAT_VERSION",
    "KEY_CHARS",
    "MANIFEST",
    "MODEL_INDEX_DIR",
    "corrupt",
    "find_indexes",
    "index_folder",
    "read_files",
    "read_manifest",
]
