"""A loaded subtitle index: the faiss index and the cue metadata of one subtitle file.

:func:`load_index` reads an index folder (its manifest checked by :mod:`vloc.index.manifest`,
its data files against their sha256) into a :class:`SubtitleIndex`, which searches by vector
or by text. Building one is :func:`vloc.index.store.build_index`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.index.clips import ClipIndex, load_clips
from vloc.index.manifest import MANIFEST, corrupt, read_files, read_manifest

if TYPE_CHECKING:
    import numpy as np

    from vloc.encoders import Encoder


@dataclass(frozen=True)
class SubtitleIndex:
    """A loaded index: the faiss index and the cue metadata of one subtitle file.

    Attributes:
        folder: the index folder (holding ``manifest.json``).
        manifest: the parsed manifest (format, video, subtitles, encoder, files).
        faiss_index: ``faiss.IndexFlatIP`` with N unit vectors of width D.
        cue_index, start_ms, end_ms: ``(N,)`` int64 cue numbers and times in milliseconds.
        text: N cue texts as written in the file (tags kept).
    """

    folder: Path
    manifest: dict[str, Any]
    faiss_index: Any = field(repr=False)
    cue_index: np.ndarray = field(repr=False)
    start_ms: np.ndarray = field(repr=False)
    end_ms: np.ndarray = field(repr=False)
    text: list[str] = field(repr=False)
    clips: ClipIndex | None = field(default=None, repr=False)  # with an align model only

    @property
    def size(self) -> int:
        return int(self.faiss_index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.faiss_index.d)

    @property
    def video(self) -> str:
        """The video id: the video's file name."""
        return str(self.manifest["video"]["name"])

    @property
    def encoder_name(self) -> str:
        return str(self.manifest["encoder"]["name"])

    @property
    def encoder_sha256(self) -> str:
        return str(self.manifest["encoder"]["sha256"])

    def embeddings(self) -> np.ndarray:
        """The stored cue embeddings ``(N, D)`` float32, L2-normalised, in cue order."""
        return self.faiss_index.reconstruct_n(0, self.size)

    def check_encoder(self, sha256: str, name: str) -> None:
        """Raise :class:`InputError` unless the index was built with the encoder ``sha256``."""
        if sha256 != self.encoder_sha256:
            raise InputError(
                f"this index was built with encoder {self.encoder_name!r} "
                f"(sha256 {self.encoder_sha256[:12]}) and cannot be queried with encoder "
                f"{name!r} (sha256 {sha256[:12]}); use the same encoder or re-index",
                path=self.folder,
            )

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product search: queries ``(Q, D)`` unit rows → scores, ids ``(Q, k)``.

        ids are 0-based cue positions, -1 (with score -inf) where k exceeds N.
        """
        import numpy as np

        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise InputError(f"queries must be (Q, {self.dim}), got {q.shape}", path=self.folder)
        scores, ids = self.faiss_index.search(q, k)
        scores[ids < 0] = -np.inf
        return scores, ids

    def search_text(self, encoder: Encoder, texts: list[str], k: int):
        """Embed ``texts`` with ``encoder`` (it must be the index's own) and search."""
        self.check_encoder(encoder.sha256, encoder.name)
        return self.search(encoder.encode(texts), k)


def load_index(folder: str | Path, *, verify: bool = True) -> SubtitleIndex:
    """Load an index folder (the one holding ``manifest.json``).

    Args:
        verify: check the data files' sha256 against the manifest (a few ms per film).
    Raises:
        CacheError: missing, truncated, foreign or inconsistent files, or a newer format.
    """
    import faiss
    import numpy as np

    folder = Path(folder)
    manifest = read_manifest(folder)
    try:
        files = manifest["files"]
        faiss_path, cues_path = folder / files["faiss"], folder / files["cues"]
        n, dim = int(manifest["cue_count"]), int(manifest["encoder"]["dim"])
        _ = (str(manifest["video"]["name"]), str(manifest["encoder"]["sha256"]))
    except (KeyError, TypeError, ValueError) as e:
        raise corrupt(folder, f"{MANIFEST} lacks field {e}") from e
    faiss_bytes, cues_bytes = read_files(
        folder, files, {"faiss": faiss_path, "cues": cues_path}, verify=verify
    )
    try:
        index = faiss.deserialize_index(np.frombuffer(faiss_bytes, dtype=np.uint8))
    except RuntimeError as e:
        raise corrupt(folder, f"{faiss_path.name} is not a readable faiss index") from e
    try:
        cues = json.loads(cues_bytes)
        columns = [np.asarray(cues[c], dtype=np.int64) for c in ("index", "start_ms", "end_ms")]
        text = [str(t) for t in cues["text"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise corrupt(folder, f"{cues_path.name} is not valid cue metadata ({e})") from e
    if not isinstance(index, faiss.IndexFlatIP):
        raise corrupt(folder, f"{faiss_path.name} holds a {type(index).__name__}, not IndexFlatIP")
    sizes = {index.ntotal, len(text), *(len(c) for c in columns)}
    if sizes != {n} or index.d != dim:
        raise corrupt(
            folder,
            f"inconsistent sizes (manifest {n} cues × {dim}, faiss {index.ntotal} × {index.d}, "
            f"metadata {len(text)} cues)",
        )
    clips = load_clips(folder, manifest, verify) if "clips" in manifest else None
    return SubtitleIndex(folder, manifest, index, *columns, text, clips)


__all__ = ["SubtitleIndex", "load_index"]
