"""Build, cache and load the subtitle vector index of one video.

Layout inside the video's workspace (one index per subtitle file name, so the English and the
Chinese subtitles of a film can both be indexed)::

    <workspace>/index/<subtitle file name>/
        manifest.json          written last: format, version, inputs' hashes, encoder, files
        <key>.faiss            faiss IndexFlatIP over the L2-normalised cue embeddings (N × D)
        <key>.cues.json        cue metadata, columns: index, start_ms, end_ms, text

With an align model (``vloc index VIDEO SUBS --align MODEL``, :mod:`vloc.align`) the folder also
holds the *clip index*: the video's clip features (extracted, or found in the feature store, with
the settings the model records; one clip per cue, or fixed-stride clips) projected by the
model's video head::

        <key>.clips.faiss      faiss IndexFlatIP over the projected clip embeddings (M × D')
        <key>.clips.json       clip metadata, columns: start_ms, end_ms, cue (the position of
                               the cue the clip overlaps most, -1 for none)

and the manifest's ``"clips"`` block records the align model (name, folder, sha256), its text
encoder, the clip kind and the feature entry. ``vloc search --by seen`` queries it.

``key`` hashes the format version, the subtitle file's bytes, the requested encoding, the
encoder's content hash and, with an align model, the model's hash and the clip kind. The data files are written under new names before the manifest is
replaced, and the manifest records their sha256: a crash at any point leaves either the old
index or the new one, never a mix. Building again with the same inputs is a cache hit.
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

from vloc.errors import CacheError, InputError, SubtitleError, VlocError
from vloc.fileio import (
    atomic_path,
    atomic_write_json,
    file_fingerprint,
    sha256_bytes,
    sha256_file,
    stable_hash,
)
from vloc.text import plain_text
from vloc.workspace import Workspace, safe_name

if TYPE_CHECKING:
    import numpy as np

    from vloc.align.model import LoadedAlign
    from vloc.encoders import Encoder, EncoderRef

INDEX_FORMAT = "vloc-subtitle-index"
INDEX_FORMAT_VERSION = 1  # bump when the layout or the meaning of a field changes
INDEX_DIR = "index"  # the workspace sub-folder holding one folder per indexed subtitle file
MANIFEST = "manifest.json"
PROGRESS_CHUNK = 256  # cues embedded between progress reports (4 encoder batches)
KEY_CHARS = 16  # hex characters of the key used in data file names (64 bits)
CLIP_KINDS = ("cues", "stride")  # clip index: one clip per cue, or the fixed-stride clips
DATA_SUFFIXES = (".faiss", ".cues.json", ".clips.json")  # an index folder's data files


@dataclass(frozen=True)
class ClipIndex:
    """The projected clip embeddings of a video (an index's second FAISS index).

    Attributes:
        faiss_index: ``faiss.IndexFlatIP`` with M unit vectors of the align space's width.
        start_ms, end_ms: ``(M,)`` int64 clip spans in milliseconds.
        cue: ``(M,)`` int64 position of the cue each clip overlaps most, -1 when none.
        info: the manifest's ``"clips"`` block (align model, encoder, kind, feature entry).
    """

    faiss_index: Any = field(repr=False)
    start_ms: np.ndarray = field(repr=False)
    end_ms: np.ndarray = field(repr=False)
    cue: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.faiss_index.ntotal)

    @property
    def align_sha256(self) -> str:
        return str(self.info["align"]["sha256"])

    @property
    def align_name(self) -> str:
        return str(self.info["align"]["name"])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product search: ``(Q, D')`` unit rows → scores, ids ``(Q, k)``
        (-1 with score -inf where k exceeds M)."""
        import numpy as np

        q = np.ascontiguousarray(queries, dtype=np.float32)
        scores, ids = self.faiss_index.search(q, k)
        scores[ids < 0] = -np.inf
        return scores, ids


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


def index_folder(
    video: str | Path, subtitles: str | Path, workdir: str | Path | None = None
) -> Path:
    """Where the index of ``subtitles`` for ``video`` lives (nothing is created)."""
    ws = Workspace.for_video(video, workdir)
    return ws.root / INDEX_DIR / safe_name(Path(subtitles).name)


def _fail(folder: Path, problem: str) -> CacheError:
    return CacheError(
        f"corrupt or foreign subtitle index: {problem}; delete the folder and run 'vloc index' again",
        path=folder,
    )


def _read_manifest(folder: Path) -> dict[str, Any]:
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
        raise _fail(folder, f"{MANIFEST} is not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != INDEX_FORMAT:
        raise _fail(folder, f"{MANIFEST} is not a {INDEX_FORMAT} manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > INDEX_FORMAT_VERSION:
        raise CacheError(
            f"index format version {version!r} is newer than this vloc reads "
            f"(up to {INDEX_FORMAT_VERSION}); upgrade vloc or re-index with this version",
            path=folder,
        )
    if version < INDEX_FORMAT_VERSION:
        raise CacheError(
            f"index format version {version} is older than this vloc's "
            f"({INDEX_FORMAT_VERSION}); run 'vloc index' again to rebuild it",
            path=folder,
        )
    return manifest


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
    manifest = _read_manifest(folder)
    try:
        files = manifest["files"]
        faiss_path, cues_path = folder / files["faiss"], folder / files["cues"]
        n, dim = int(manifest["cue_count"]), int(manifest["encoder"]["dim"])
        _ = (str(manifest["video"]["name"]), str(manifest["encoder"]["sha256"]))
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(folder, f"{MANIFEST} lacks field {e}") from e
    faiss_bytes, cues_bytes = _read_files(
        folder, files, {"faiss": faiss_path, "cues": cues_path}, verify=verify
    )
    try:
        index = faiss.deserialize_index(np.frombuffer(faiss_bytes, dtype=np.uint8))
    except RuntimeError as e:
        raise _fail(folder, f"{faiss_path.name} is not a readable faiss index") from e
    try:
        cues = json.loads(cues_bytes)
        columns = [np.asarray(cues[c], dtype=np.int64) for c in ("index", "start_ms", "end_ms")]
        text = [str(t) for t in cues["text"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise _fail(folder, f"{cues_path.name} is not valid cue metadata ({e})") from e
    if not isinstance(index, faiss.IndexFlatIP):
        raise _fail(folder, f"{faiss_path.name} holds a {type(index).__name__}, not IndexFlatIP")
    sizes = {index.ntotal, len(text), *(len(c) for c in columns)}
    if sizes != {n} or index.d != dim:
        raise _fail(
            folder,
            f"inconsistent sizes (manifest {n} cues × {dim}, faiss {index.ntotal} × {index.d}, "
            f"metadata {len(text)} cues)",
        )
    clips = _load_clips(folder, manifest, verify) if "clips" in manifest else None
    return SubtitleIndex(folder, manifest, index, *columns, text, clips)


def _read_files(
    folder: Path, files: dict[str, Any], paths: dict[str, Path], *, verify: bool
) -> list[bytes]:
    """The bytes of each of ``paths`` (the manifest's ``files`` key → its path); with
    ``verify``, each must match its checksum there (``<key>_sha256``). CacheError otherwise."""
    try:
        data = [path.read_bytes() for path in paths.values()]
    except OSError as e:
        raise _fail(folder, f"cannot read {e.filename}: {e.strerror or e}") from e
    if verify:
        for (key, path), content in zip(paths.items(), data, strict=True):
            if sha256_bytes(content) != files.get(f"{key}_sha256"):
                raise _fail(folder, f"{path.name} does not match the checksum in {MANIFEST}")
    return data


def _load_clips(folder: Path, manifest: dict[str, Any], verify: bool) -> ClipIndex:
    """The clip index the manifest's ``"clips"`` block names (CacheError when damaged)."""
    import faiss
    import numpy as np

    block = manifest["clips"]
    try:
        files = block["files"]
        faiss_path, meta_path = folder / files["faiss"], folder / files["clips"]
        n, dim = int(block["count"]), int(block["align"]["dim"])
        _ = str(block["align"]["sha256"])
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(folder, f"{MANIFEST} clips block lacks field {e}") from e
    faiss_bytes, meta_bytes = _read_files(
        folder, files, {"faiss": faiss_path, "clips": meta_path}, verify=verify
    )
    try:
        index = faiss.deserialize_index(np.frombuffer(faiss_bytes, dtype=np.uint8))
        meta = json.loads(meta_bytes)
        cols = [np.asarray(meta[c], dtype=np.int64) for c in ("start_ms", "end_ms", "cue")]
    except (RuntimeError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise _fail(folder, f"the clip index is unreadable ({e})") from e
    if {index.ntotal, *(len(c) for c in cols)} != {n} or index.d != dim:
        raise _fail(folder, f"inconsistent clip index sizes (manifest {n} clips × {dim})")
    return ClipIndex(index, *cols, info=block)


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
    align: str | Path | LoadedAlign | None = None,
    clips: str = "cues",
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
            recorded settings, or found in the feature store).
        clips: with ``align``: ``"cues"`` (one clip per cue) or ``"stride"`` (fixed-length
            clips of the whole video).
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
    if not subtitles.is_file():
        raise SubtitleError("subtitle file not found", path=subtitles)
    if clips not in CLIP_KINDS:
        raise InputError(f"unknown clip kind {clips!r}; valid: {', '.join(CLIP_KINDS)}")
    aligner = _load_align(align) if align is not None else None
    ref: EncoderRef = encoder.ref if isinstance(encoder, Encoder) else resolve_encoder(encoder)
    subs_sha = sha256_file(subtitles)
    fields = {"v": INDEX_FORMAT_VERSION, "subs": subs_sha, "enc": encoding, "encoder": ref.sha256}
    if aligner is not None:
        fields["align"] = {"sha256": aligner.sha256, "clips": clips}
    key = stable_hash(fields)
    folder = index_folder(video, subtitles, workdir)
    hit, reason = (None, "forced") if force else _find(folder, key, subs_sha, ref, aligner)
    if hit is not None:
        return IndexResult(hit, True, reason, time.perf_counter() - t0, 0.0)
    subs = _read_cues(subtitles, encoding)  # bad subtitles fail before the workspace is touched
    with Workspace.for_video(video, workdir).lock(f"index-{folder.name}", notify=warn):
        if not force:  # built by the run this one waited for?
            hit, _ = _find(folder, key, subs_sha, ref, aligner)
            if hit is not None:
                return IndexResult(hit, True, "up to date", time.perf_counter() - t0, 0.0)
        clip_block = (
            _clip_index(aligner, clips, video, subtitles, workdir, warn)
            if aligner is not None
            else None
        )
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
    folder: Path, key: str, subs_sha: str, ref: EncoderRef, aligner: LoadedAlign | None = None
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


def _load_align(align: str | Path | LoadedAlign) -> LoadedAlign:
    from vloc.align.model import LoadedAlign, load_align

    return align if isinstance(align, LoadedAlign) else load_align(align)


def align_feature_options(aligner: LoadedAlign, clips: str) -> Any:
    """The :class:`~vloc.features.FeatureOptions` the align model's clips are extracted with
    (its recorded settings; a weights file named in the model folder is read from there)."""
    from vloc.features import FeatureOptions

    f = aligner.features
    weights = f.get("weights")
    if isinstance(weights, str) and (aligner.folder / weights).is_file():
        weights = str(aligner.folder / weights)
    try:
        return FeatureOptions(
            backbone=str(f["backbone"]), weights=weights, seed=f.get("seed"),
            width=float(f.get("width") or 1.0), fps=f.get("fps"),
            clip_len=int(f.get("clip_len") or 16), size=f.get("size"),
            grid=int(f.get("grid") or 1), mode=clips, threads=1,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"align.json: unusable feature settings ({e})", path=aligner.folder) from e


def _clip_index(
    aligner: LoadedAlign,
    clips: str,
    video: Path,
    subtitles: Path,
    workdir: str | Path | None,
    warn: Callable[[str], None] | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(projected clip embeddings (M, D') unit rows, spans (M, 2) ms, manifest block)."""
    import numpy as np

    from vloc.features import extract_features
    from vloc.features.store import read_entry

    options = align_feature_options(aligner, clips)
    res = extract_features(
        video,
        subs=subtitles if clips == "cues" else None,
        options=options,
        workdir=workdir,
        warn=warn or (lambda _m: None),
    )
    fs = read_entry(res.outputs[clips])
    if fs.spans_ms is None:
        raise InputError("the clip features record no times", path=fs.path)
    emb = aligner.project_video(fs.pooled)  # (M, D') unit rows
    block = {
        "align": {
            "name": aligner.name,
            "folder": str(aligner.folder.resolve()),
            "sha256": aligner.sha256,
            "dim": int(emb.shape[1]),
        },
        "encoder": {k: aligner.encoder[k] for k in ("name", "sha256", "dim")},
        "kind": clips,
        "count": int(emb.shape[0]),
        "features": {"file": str(fs.path), "key": fs.meta.get("key")},
    }
    return emb, np.asarray(fs.spans_ms, dtype=np.int64), block


def overlap_cue(spans: np.ndarray, cue_start: np.ndarray, cue_end: np.ndarray) -> np.ndarray:
    """For each clip span ``(M, 2)``, the position of the cue ``(N,)`` it overlaps most
    (earliest on ties), -1 when it overlaps none → ``(M,)`` int64."""
    import numpy as np

    if len(cue_start) == 0:
        return np.full(len(spans), -1, dtype=np.int64)
    lo = np.maximum(spans[:, :1], cue_start[None])  # (M, N)
    hi = np.minimum(spans[:, 1:], cue_end[None])
    ov = hi - lo
    best = ov.argmax(axis=1)
    return np.where(ov[np.arange(len(spans)), best] > 0, best, -1).astype(np.int64)


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
    clip_block: tuple[np.ndarray, np.ndarray, dict[str, Any]] | None = None,
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
    clip_block: tuple[np.ndarray, np.ndarray, dict[str, Any]] | None = None,
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

        clip_emb, spans, block = clip_block
        clip_faiss, clip_meta = f"{stem}.clips.faiss", f"{stem}.clips.json"
        cidx = faiss.IndexFlatIP(int(clip_emb.shape[1]))
        cidx.add(np.ascontiguousarray(clip_emb, dtype=np.float32))
        with atomic_path(folder / clip_faiss) as tmp:
            faiss.write_index(cidx, str(tmp))
        starts = np.asarray(cues["start_ms"], dtype=np.int64)
        ends = np.asarray(cues["end_ms"], dtype=np.int64)
        meta = {
            "start_ms": spans[:, 0].tolist(),
            "end_ms": spans[:, 1].tolist(),
            "cue": overlap_cue(spans, starts, ends).tolist(),
        }
        atomic_write_json(folder / clip_meta, meta)
        manifest["clips"] = {
            **block,
            "files": {
                "faiss": clip_faiss,
                "faiss_sha256": sha256_file(folder / clip_faiss),
                "clips": clip_meta,
                "clips_sha256": sha256_file(folder / clip_meta),
            },
        }
        keep |= {clip_faiss, clip_meta}
    atomic_write_json(folder / MANIFEST, manifest)
    for old in folder.iterdir():
        if old.name.endswith(DATA_SUFFIXES) and old.name not in keep:
            try:
                old.unlink()
            except OSError as e:
                raise VlocError(
                    f"cannot remove a superseded index file: {e.strerror}", path=old
                ) from e


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
    "CLIP_KINDS",
    "ClipIndex",
    "INDEX_FORMAT",
    "INDEX_FORMAT_VERSION",
    "IndexResult",
    "SubtitleIndex",
    "build_index",
    "find_indexes",
    "index_folder",
    "load_index",
    "plain_text",
]
