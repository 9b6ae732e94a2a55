"""Build, cache and load the subtitle vector index of one video.

Layout inside the video's workspace (one index per subtitle file name, so the English and the
Chinese subtitles of a film can both be indexed)::

    <workspace>/index/<subtitle file name>/
        manifest.json          written last: format, version, inputs' hashes, encoder, files
        <key>.faiss            faiss IndexFlatIP over the L2-normalised cue embeddings (N × D)
        <key>.cues.json        cue metadata, columns: index, start_ms, end_ms, text

With an align model (``vloc index VIDEO SUBS --align MODEL``) the folder also holds the *clip
index* of what is seen (:mod:`vloc.index.clips`) and the manifest a ``"clips"`` block. Reading
the manifest and finding index folders is :mod:`vloc.index.manifest`.

``key`` hashes the format version, the subtitle file's bytes, the requested encoding, the
encoder's content hash and, with an align model, the model's hash and the clip kind. The
data files are written under new names before the manifest is replaced, and the manifest
records their sha256: a crash at any point leaves either the old index or the new one, never
a mix. Building again with the same inputs is a cache hit.
A build holds the workspace lock ``index-<subtitle file name>``
(:meth:`vloc.workspace.Workspace.lock`) and looks for the index again once it holds it: of two
runs started together, one builds and the other finds the cache hit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.align.clip import is_clip_model
from vloc.errors import CacheError, InputError, SubtitleError, VlocError
from vloc.fileio import atomic_path, atomic_write_json, file_fingerprint, sha256_file, stable_hash
from vloc.index.clips import (
    CLIP_KINDS,
    ClipBlock,
    ClipIndex,
    align_feature_options,
    clip_embeddings,
    clip_model_embeddings,
    load_clips,
    overlap_cue,
    write_clips,
)
from vloc.index.manifest import (
    DATA_SUFFIXES,
    INDEX_DIR,
    INDEX_FORMAT,
    INDEX_FORMAT_VERSION,
    KEY_CHARS,
    MANIFEST,
    corrupt,
    find_indexes,
    index_folder,
    read_files,
    read_manifest,
)
from vloc.subtitles import check_subtitle_file
from vloc.text import plain_text
from vloc.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np

    from vloc.align.clip import ClipRef, LoadedClip
    from vloc.align.model import LoadedAlign
    from vloc.encoders import Encoder, EncoderRef

PROGRESS_CHUNK = 256  # cues embedded between progress reports (4 encoder batches)


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


@dataclass(frozen=True)
class IndexResult:
    """What :func:`build_index` did."""

    index: SubtitleIndex  # the index, loaded
    cached: bool  # True when an up-to-date index was found and nothing was computed
    reason: str  # why it was (re)built or reused, for logs
    seconds: float  # wall time of the whole call
    embed_seconds: float  # time spent embedding (0 on a cache hit)
    warnings: tuple[str, ...] = ()  # the subtitle reader's warnings (none on a cache hit)

    @property
    def folder(self) -> Path:
        return self.index.folder


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


def _read_cues(subtitles: Path, encoding: str | None):
    from vloc.subtitles import read_subtitles

    subs = read_subtitles(subtitles, encoding=encoding)
    if not subs.cues:
        raise SubtitleError("no cues to index (the file holds no subtitles)", path=subtitles)
    return subs


def build_index(
    video: str | Path,
    subtitles: str | Path,
    *,
    encoder: str | Path | Encoder | None = None,
    encoding: str | None = None,
    workdir: str | Path | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    align: str | Path | LoadedAlign | LoadedClip | ClipRef | None = None,
    clips: str = "cues",
    private: bool = False,
) -> IndexResult:
    """Embed every cue of ``subtitles`` and store the index in ``video``'s workspace.

    Args:
        video: the video file (must exist; it names the workspace and the video id, it is
            not decoded).
        subtitles: SRT/WebVTT file read with :func:`vloc.subtitles.read_subtitles`.
        encoder: encoder name, folder, or an already loaded :class:`~vloc.encoders.Encoder`;
            None = the embedded default.
        encoding: subtitle text encoding, or None to detect it.
        workdir: where workspaces live (default: beside the video).
        force: rebuild even when an up-to-date index exists.
        progress: called as ``progress(done, total)`` cues while embedding.
        warn: called once with a ``waiting for another vloc run ...`` line when another run
            has been building this index for a while (and with the feature extractor's
            warnings when clips are extracted).
        align: an align model (name, folder or loaded): also store the clip index of the
            video's clip features projected by it (features extracted with the model's
            recorded settings, or found in the feature store); or a CLIP model
            (``clip:NAME`` or found/loaded, :mod:`vloc.align.clip`): its image tower embeds
            each cue's frames straight from the video.
        clips: with ``align``: ``"cues"`` (one clip per cue) or ``"stride"`` (fixed-length
            clips of the whole video; trained align models only).
        private: a translator's own retrieval index: the index ``vloc index`` built is used
            when it is up to date with this encoder; otherwise the index is built beside it,
            under the encoder's name (:func:`index_folder`), so it never replaces the index
            that ``vloc search`` finds (a batch's ``index`` task and a ``translate`` task with
            a model retrieving with another encoder keep both).
    Returns:
        :class:`IndexResult`; a cache hit loads no model at all.
    """
    from vloc.encoders import Encoder, resolve_encoder

    t0 = time.perf_counter()
    video, subtitles = Path(video), Path(subtitles)
    if not video.is_file():
        raise InputError(
            "video not found (the video names the index; give an existing file)", path=video
        )
    check_subtitle_file(subtitles)
    if clips not in CLIP_KINDS:
        raise InputError(f"unknown clip kind {clips!r}; valid: {', '.join(CLIP_KINDS)}")
    aligner = _align_model(align) if align is not None else None
    if aligner is not None and is_clip_model(aligner) and clips != "cues":
        raise InputError(
            f"--clips {clips} needs a trained align model: a CLIP model embeds one clip per cue "
            "(--clips cues)"
        )
    ref: EncoderRef = encoder.ref if isinstance(encoder, Encoder) else resolve_encoder(encoder)
    subs_sha = sha256_file(subtitles)
    fields = {"v": INDEX_FORMAT_VERSION, "subs": subs_sha, "enc": encoding, "encoder": ref.sha256}
    if aligner is not None:
        fields["align"] = {"sha256": aligner.sha256, "clips": clips}
    key = stable_hash(fields)
    folder = index_folder(video, subtitles, workdir)
    if private:
        hit, _ = (None, "") if force else _find(folder, key, subs_sha, ref, aligner)
        if hit is not None:
            return IndexResult(hit, True, "up to date", time.perf_counter() - t0, 0.0)
        folder = index_folder(video, subtitles, workdir, private_encoder=ref.sha256)
    hit, reason = (None, "forced") if force else _find(folder, key, subs_sha, ref, aligner)
    if hit is not None:
        return IndexResult(hit, True, reason, time.perf_counter() - t0, 0.0)
    subs = _read_cues(subtitles, encoding)  # bad subtitles fail before the workspace is touched
    ws = Workspace.for_video(video, workdir)
    lock = "-".join(folder.relative_to(ws.root).parts)  # index-<subs> as before
    with ws.lock(lock, notify=warn):
        if not force:  # built by the run this one waited for?
            hit, _ = _find(folder, key, subs_sha, ref, aligner)
            if hit is not None:
                return IndexResult(hit, True, "up to date", time.perf_counter() - t0, 0.0)
        clip_block = _clip_block(aligner, clips, video, subtitles, subs, workdir, warn)
        embed_s = _build(
            folder, key, subs, encoder, ref, video, subtitles, subs_sha, encoding, progress,
            clip_block,
        )  # fmt: skip
    return IndexResult(
        load_index(folder),
        False,
        reason,
        time.perf_counter() - t0,
        embed_s,
        tuple(subs.warnings),
    )


def _find(
    folder: Path,
    key: str,
    subs_sha: str,
    ref: EncoderRef,
    aligner: LoadedAlign | LoadedClip | ClipRef | None = None,
) -> tuple[SubtitleIndex | None, str]:
    """(the index in ``folder`` when it is up to date, else None; why it is or is not)."""
    if not (folder / MANIFEST).exists():
        return None, "no index yet"
    try:
        old = load_index(folder)
    except CacheError as e:
        return None, f"previous index unusable ({e})"
    if old.manifest.get("key") == key:
        return old, "up to date"
    if (old.manifest.get("subtitles") or {}).get("sha256") != subs_sha:
        return None, "subtitles changed"
    if old.encoder_sha256 != ref.sha256:
        return None, f"encoder changed ({old.encoder_name} -> {ref.name})"
    if aligner is not None and old.clips is None:
        return None, "clip embeddings requested"
    if aligner is not None and old.clips is not None and old.clips.align_sha256 != aligner.sha256:
        return None, f"align model changed ({old.clips.align_name} -> {aligner.name})"
    return None, "settings changed"


def _align_model(
    align: str | Path | LoadedAlign | LoadedClip | ClipRef,
) -> LoadedAlign | LoadedClip | ClipRef:
    """The align model to embed clips with: a trained one loaded (small), a CLIP model only
    found and hashed (loaded when clips are embedded, so that a cache hit loads nothing)."""
    from vloc.align.clip import find_clip, is_clip_spec
    from vloc.align.model import LoadedAlign, load_align

    if isinstance(align, LoadedAlign) or is_clip_model(align):
        return align  # type: ignore[return-value]
    if is_clip_spec(align):
        return find_clip(str(align))
    return load_align(align)  # type: ignore[arg-type]


def _clip_block(
    aligner: LoadedAlign | LoadedClip | ClipRef | None,
    clips: str,
    video: Path,
    subtitles: Path,
    subs: Any,
    workdir: str | Path | None,
    warn: Callable[[str], None] | None,
) -> ClipBlock | None:
    """The clip index to store beside the cues (None without an align model)."""
    from vloc.align.clip import ClipRef

    if aligner is None:
        return None
    if not is_clip_model(aligner):
        return clip_embeddings(aligner, clips, video, subtitles, workdir, warn)  # type: ignore[arg-type]
    model = aligner.load() if isinstance(aligner, ClipRef) else aligner
    spans = [(c.start_ms, c.end_ms) for c in subs.cues]
    return clip_model_embeddings(model, video, spans, warn)  # type: ignore[arg-type]


def _build(
    folder: Path,
    key: str,
    subs: Any,
    encoder: str | Path | Encoder | None,
    ref: EncoderRef,
    video: Path,
    subtitles: Path,
    subs_sha: str,
    encoding: str | None,
    progress: Callable[[int, int], None] | None,
    clip_block: ClipBlock | None = None,
) -> float:
    """Embed the cues and write the index (the caller holds the index's lock); returns the
    seconds spent embedding."""

    from vloc.encoders import Encoder

    enc = encoder if isinstance(encoder, Encoder) else _load(ref)
    t1 = time.perf_counter()
    from vloc.index.context import embed_texts

    emb = embed_texts(enc, [c.text for c in subs.cues], progress=progress)  # (N, D) unit rows
    embed_seconds = time.perf_counter() - t1
    _write(folder, key, emb, subs, ref, enc.dim, video, subtitles, subs_sha, encoding, clip_block)
    return embed_seconds


def _load(ref: EncoderRef) -> Encoder:
    from vloc.encoders import load_encoder

    return load_encoder(ref)


def _write(
    folder: Path,
    key: str,
    emb: np.ndarray,
    subs: Any,
    ref: EncoderRef,
    dim: int,
    video: Path,
    subtitles: Path,
    subs_sha: str,
    encoding: str | None,
    clip_block: ClipBlock | None = None,
) -> None:
    """Data files under new names, then the manifest, then remove superseded data files."""
    import faiss

    index = faiss.IndexFlatIP(dim)
    index.add(emb)
    stem = key[:KEY_CHARS]
    faiss_name, cues_name = f"{stem}.faiss", f"{stem}.cues.json"
    with atomic_path(folder / faiss_name) as tmp:
        faiss.write_index(index, str(tmp))
    cues = {
        "index": [c.index for c in subs.cues],
        "start_ms": [c.start_ms for c in subs.cues],
        "end_ms": [c.end_ms for c in subs.cues],
        "text": [c.text for c in subs.cues],
    }
    atomic_write_json(folder / cues_name, cues)
    manifest = {
        "format": INDEX_FORMAT,
        "format_version": INDEX_FORMAT_VERSION,
        "key": key,
        "cue_count": int(emb.shape[0]),
        "video": {
            "name": video.name,
            "path": str(video.resolve()),
            "fingerprint": file_fingerprint(video),
        },
        "subtitles": {
            "name": subtitles.name,
            "path": str(subtitles.resolve()),
            "sha256": subs_sha,
            "encoding": subs.encoding,
            "requested_encoding": encoding,
            "format": subs.format,
        },
        "encoder": {
            "name": ref.name,
            "folder": str(ref.folder),
            "sha256": ref.sha256,
            "dim": int(dim),
        },
        "files": {
            "faiss": faiss_name,
            "faiss_sha256": sha256_file(folder / faiss_name),
            "cues": cues_name,
            "cues_sha256": sha256_file(folder / cues_name),
        },
    }
    keep = {faiss_name, cues_name}
    if clip_block is not None:
        import numpy as np

        starts = np.asarray(cues["start_ms"], dtype=np.int64)
        ends = np.asarray(cues["end_ms"], dtype=np.int64)
        manifest["clips"], written = write_clips(folder, stem, clip_block, starts, ends)
        keep |= written
    atomic_write_json(folder / MANIFEST, manifest)
    for old in folder.iterdir():
        if old.name.endswith(DATA_SUFFIXES) and old.name not in keep:
            try:
                old.unlink()
            except OSError as e:
                raise VlocError(
                    f"cannot remove a superseded index file: {e.strerror}", path=old
                ) from e


__all__ = [
    "CLIP_KINDS",
    "DATA_SUFFIXES",
    "INDEX_DIR",
    "INDEX_FORMAT",
    "INDEX_FORMAT_VERSION",
    "KEY_CHARS",
    "MANIFEST",
    "ClipIndex",
    "IndexResult",
    "SubtitleIndex",
    "build_index",
    "find_indexes",
    "index_folder",
    "align_feature_options",
    "load_index",
    "overlap_cue",
    "plain_text",
]
