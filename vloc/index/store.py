"""Build and cache the subtitle vector index of one video.

Layout inside the video's workspace (one index per subtitle file name, so the English and the
Chinese subtitles of a film can both be indexed)::

    <workspace>/index/<subtitle file name>/
        manifest.json          written last: format, version, inputs' hashes, encoder, files
        <key>.faiss            faiss IndexFlatIP over the L2-normalised cue embeddings (N × D)
        <key>.cues.json        cue metadata, columns: index, start_ms, end_ms, text

With an align model (``vloc index VIDEO SUBS --align MODEL``) the folder also holds the *clip
index* of what is seen (:mod:`vloc.index.clips`) and the manifest a ``"clips"`` block. Reading
the manifest and finding index folders is :mod:`vloc.index.manifest`; loading and searching an
index is :mod:`vloc.index.subtitle_index`.

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

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.align.clip import is_clip_model
from vloc.errors import CacheError, InputError, SubtitleError, VlocError
from vloc.fileio import atomic_path, atomic_write_json, file_fingerprint, sha256_file, stable_hash
from vloc.index.clips import (
    CLIP_KINDS,
    ClipBlock,
    clip_embeddings,
    clip_model_embeddings,
    write_clips,
)
from vloc.index.manifest import (
    DATA_SUFFIXES,
    INDEX_FORMAT,
    INDEX_FORMAT_VERSION,
    KEY_CHARS,
    MANIFEST,
    index_folder,
)
from vloc.index.subtitle_index import SubtitleIndex, load_index
from vloc.subtitles import check_subtitle_file
from vloc.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np

    from vloc.align.clip import ClipRef, LoadedClip
    from vloc.align.model import LoadedAlign
    from vloc.encoders import Encoder, EncoderRef


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


__all__ = ["IndexResult", "build_index"]
