"""A memory opened for use: its pairs, their sentence embeddings in a FAISS index (built once,
cached), and the lookup of a film's lines.

Cache layout (shared by every film that uses the memory)::

    $VLOC_HOME/memory/<key>/
        manifest.json       written last: format, key, identity, encoder, sources, files
        <key>.faiss         faiss IndexFlatIP over the unit embeddings of the entries (E × D)

``key`` hashes the format, the pairs (texts, films and cues: editing a file's header or
re-saving it unchanged keeps the key) and the encoder's content hash. An entry is one distinct
(source, target) pair, in the order first read; a build holds the lock ``memory-<key>`` and
looks again once it holds it, so two runs started together embed once. A corrupt cache is
rebuilt.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import CacheError, VlocError
from vloc.fileio import atomic_path, atomic_write_json, read_json, sha256_file, stable_hash
from vloc.memory.lookup import MemoryLookup, MemoryMatch, MemoryOptions
from vloc.memory.sources import MemorySources, read_memory
from vloc.memory.text import match_key, numbers, similarity, similarity_bound, tokens
from vloc.workspace import Workspace, vloc_home

if TYPE_CHECKING:
    import numpy as np

    from vloc.encoders import Encoder, EncoderRef

MEMORY_DIR = "memory"  # under vloc_home()
MEMORY_FORMAT = "vloc-memory-index"
MEMORY_FORMAT_VERSION = 1
KEY_CHARS = 16  # hex characters of the key in folder and file names
MANIFEST = "manifest.json"
ProgressFn = Callable[[int, int], None]
WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class MemoryEntry:
    """One distinct (source, target) pair of the memory."""

    source: str
    target: str
    film: str  # of its last occurrence
    origin: str  # of its last occurrence
    cue: str  # of its last occurrence
    count: int  # how often the memory holds this pair
    last: int  # position of its last occurrence among the pairs (later wins a tie)


def _entries(pairs: Sequence[Any]) -> list[MemoryEntry]:
    first: dict[tuple[str, str], int] = {}
    rows: list[list[Any]] = []
    for n, p in enumerate(pairs):
        k = (p.source, p.target)
        if k not in first:
            first[k] = len(rows)
            rows.append([p.source, p.target, p.film, p.origin, p.cue, 0, n])
        row = rows[first[k]]
        row[2:5] = [p.film, p.origin, p.cue]
        row[5] += 1
        row[6] = n
    return [MemoryEntry(*r) for r in rows]


@dataclass
class TranslationMemory:
    """An opened memory (:func:`open_memory`)."""

    sources: MemorySources  # the pairs and what each file gave
    entries: tuple[MemoryEntry, ...]  # distinct pairs, in the order first read
    faiss_index: Any = field(repr=False)  # IndexFlatIP over the entries' embeddings (E × D)
    encoder_ref: EncoderRef = field(repr=False)
    options: MemoryOptions
    folder: Path  # the cache folder
    cached: bool  # True when the index came from the cache
    _encoder: Encoder | None = field(default=None, repr=False)
    _by_key: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _tokens: dict[int, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for e, entry in enumerate(self.entries):
            key = match_key(entry.source)
            if key:
                self._by_key.setdefault(key, []).append(e)

    @property
    def identity(self) -> str:
        """Stable hash of everything that decides what the memory gives a film: the pairs,
        the languages, the encoder's content and the options. Key journals on it."""
        return stable_hash(
            {
                "v": MEMORY_FORMAT_VERSION,
                "pairs": self.sources.sha256,
                "encoder": self.encoder_ref.sha256,
                "options": self.options.to_json(),
            }
        )

    @property
    def size(self) -> int:
        return len(self.entries)

    def entry_match(self, e: int, kind: str, score: float, alternatives: int = 0) -> MemoryMatch:
        x = self.entries[e]
        return MemoryMatch(kind, score, x.source, x.target, x.film, x.origin, x.cue, alternatives)

    def encoder(self) -> Encoder:
        """The memory's encoder (loaded on first use)."""
        if self._encoder is None:
            from vloc.encoders import load_encoder

            self._encoder = load_encoder(self.encoder_ref)
        return self._encoder

    def match(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> MemoryLookup:
        """Look up a film's lines (exact, fuzzy, nearest pairs; see :mod:`vloc.memory.lookup`).

        Args:
            texts: the lines, plain or with tags; "" for a cue with no text.
            embeddings: ``(len(texts), D)`` unit rows from this memory's encoder
                (``encoder_ref.sha256``), e.g. the film's own index; None: embedded here.
        """
        import numpy as np

        from vloc.index.context import embed_texts

        opts = self.options
        keys = [match_key(t) for t in texts]
        rows = [i for i, k in enumerate(keys) if k]
        matches: list[MemoryMatch | None] = [None] * len(texts)
        neighbours: list[tuple[tuple[int, float], ...]] = [()] * len(texts)
        if not rows:
            return MemoryLookup(self, tuple(matches), tuple(neighbours))
        if embeddings is None:
            emb = embed_texts(self.encoder(), [texts[i] for i in rows])  # (R, D)
        else:
            if embeddings.shape != (len(texts), self.faiss_index.d):
                raise ValueError(f"embeddings must be ({len(texts)}, {self.faiss_index.d})")
            emb = embeddings[rows]
        k = min(opts.candidates, self.size)
        scores, ids = self.faiss_index.search(np.ascontiguousarray(emb, dtype=np.float32), k)
        for r, i in enumerate(rows):
            near = tuple(
                (int(e), float(s)) for e, s in zip(ids[r], scores[r], strict=True) if e >= 0
            )
            neighbours[i] = near
            if opts.reuse:
                matches[i] = self._exact(keys[i]) or self._fuzzy(texts[i], near)
        return MemoryLookup(self, tuple(matches), tuple(neighbours))

    def _exact(self, key: str) -> MemoryMatch | None:
        ids = self._by_key.get(key)
        if not ids:
            return None
        votes: Counter[str] = Counter()
        latest: dict[str, int] = {}
        for e in ids:
            x = self.entries[e]
            votes[x.target] += x.count
            if x.last >= self.entries[latest.get(x.target, e)].last:
                latest[x.target] = e
        target = max(votes, key=lambda t: (votes[t], self.entries[latest[t]].last))
        return self.entry_match(latest[target], "exact", 1.0, len(votes) - 1)

    def _fuzzy(self, text: str, near: Sequence[tuple[int, float]]) -> MemoryMatch | None:
        threshold = self.options.fuzzy
        toks = tokens(text)
        nums = numbers(toks)
        best: tuple[float, int, int] | None = None
        for e, _ in near:
            other = self._entry_tokens(e)
            if similarity_bound(toks, other) < threshold or numbers(other) != nums:
                continue
            sim = similarity(toks, other)
            x = self.entries[e]
            cand = (sim, x.count, x.last)
            if sim >= threshold and (best is None or cand > best[:3]):
                best = (*cand, e)  # type: ignore[assignment]
        if best is None:
            return None
        return self.entry_match(best[3], "fuzzy", best[0])  # type: ignore[misc]

    def _entry_tokens(self, e: int) -> list[str]:
        if e not in self._tokens:
            self._tokens[e] = tokens(self.entries[e].source)
        return self._tokens[e]


def memory_root() -> Path:
    return vloc_home() / MEMORY_DIR


def open_memory(
    paths: Sequence[str | Path] | MemorySources,
    *,
    source_lang: str = "",
    target_lang: str = "",
    encoder: str | Path | Encoder | None = None,
    options: MemoryOptions | None = None,
    encoding: str | None = None,
    warn: WarnFn | None = None,
    progress: ProgressFn | None = None,
) -> TranslationMemory:
    """Read a memory's files (:func:`vloc.memory.sources.read_memory`) and open its index,
    building it on first use.

    Args:
        paths: the ``--memory`` paths, or sources already read.
        source_lang, target_lang: the film's languages (required with paths).
        encoder: name, folder or loaded encoder; None: vloc's default index encoder.
        options: thresholds (:class:`~vloc.memory.lookup.MemoryOptions`).
        encoding: subtitle text encoding of the memory's subtitle files, None: detect.
        warn: lines about files left out, pairs that align poorly, a cache rebuilt.
        progress: ``progress(done, total)`` entries while embedding.
    """
    from vloc.encoders import Encoder, resolve_encoder

    if isinstance(paths, MemorySources):
        src = paths
    else:
        if not source_lang or not target_lang:
            raise ValueError("open_memory needs source_lang and target_lang with paths")
        src = read_memory(
            paths, source_lang=source_lang, target_lang=target_lang, encoding=encoding, warn=warn
        )
    loaded = encoder if isinstance(encoder, Encoder) else None
    ref = loaded.ref if loaded is not None else resolve_encoder(encoder)  # type: ignore[arg-type]
    entries = _entries(src.pairs)
    fields = {"v": MEMORY_FORMAT_VERSION, "pairs": src.sha256, "encoder": ref.sha256}
    key = stable_hash(fields)[:KEY_CHARS]
    folder = memory_root() / key
    index, cached = _cached(folder, key, len(entries), warn), True
    if index is None:
        with Workspace(memory_root(), MEMORY_DIR).lock(f"memory-{key}", notify=warn):
            index = _cached(folder, key, len(entries), None)
            if index is None:
                cached = False
                loaded = loaded or _load(ref)
                index = _build(folder, key, entries, src, loaded, progress)
    return TranslationMemory(
        src, tuple(entries), index, ref, options or MemoryOptions(), folder, cached, loaded
    )


def _load(ref: EncoderRef) -> Encoder:
    from vloc.encoders import load_encoder

    return load_encoder(ref)


def _cached(folder: Path, key: str, n: int, warn: WarnFn | None) -> Any:
    """The cached faiss index when it is there, whole and of ``n`` entries; else None."""
    import faiss

    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        info = read_json(manifest, what="memory index manifest", error=CacheError)
        path = folder / info["files"]["faiss"]
        ok = (
            info.get("format") == MEMORY_FORMAT
            and info.get("key") == key
            and info.get("entries") == n
            and sha256_file(path) == info["files"]["faiss_sha256"]
        )
        index = faiss.read_index(str(path)) if ok else None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, VlocError) as e:
        ok, index = False, None
        reason = f" ({e})"
    else:
        reason = ""
    if (not ok or index is None or index.ntotal != n) and warn is not None:
        warn(f"{folder}: the memory's cached index is unusable{reason}; rebuilding it")
    return index if ok and index is not None and index.ntotal == n else None


def _build(
    folder: Path,
    key: str,
    entries: Sequence[MemoryEntry],
    src: MemorySources,
    encoder: Encoder,
    progress: ProgressFn | None,
) -> Any:
    """Embed the entries and write the index, then the manifest (the caller holds the lock)."""
    import faiss

    from vloc.index.context import embed_texts

    t0 = time.perf_counter()
    emb = embed_texts(encoder, [e.source for e in entries], progress=progress)  # (E, D) unit
    index = faiss.IndexFlatIP(encoder.dim)
    index.add(emb)
    name = f"{key}.faiss"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / name) as tmp:
        faiss.write_index(index, str(tmp))
    atomic_write_json(
        folder / MANIFEST,
        {
            "format": MEMORY_FORMAT,
            "format_version": MEMORY_FORMAT_VERSION,
            "key": key,
            "entries": len(entries),
            "pairs": len(src.pairs),
            "languages": [src.source_lang, src.target_lang],
            "encoder": {"name": encoder.name, "sha256": encoder.sha256, "dim": encoder.dim},
            "sources": [s.to_json() for s in src.sources],
            "embed_seconds": round(time.perf_counter() - t0, 3),
            "files": {"faiss": name, "faiss_sha256": sha256_file(folder / name)},
        },
    )
    return index
