"""Translate a film's cues with an engine, batch by batch, with the film-wide context.

The cues with text are cut into consecutive batches of ``batch_cues``. For batch ``b`` the
request carries (``--context global``):

* **related lines** — for every cue of the batch its top-P most similar cues of the film
  (eq. 1 over the subtitle embeddings of the film's index), minus the batch's own
  neighbourhood (the batch and the ``previous`` lines before it); merged over the batch by
  their best score, at most ``max_related``, best first;
* **previous lines** — the ``previous`` cues just before the batch;
* each with its translation where batch ``b`` may see it: translations of batches that end at
  least ``lag`` batches before ``b``. The rule does not depend on timing, so ``--concurrency``
  up to ``lag`` and a resumed run give byte-identical output;
* the synopsis, the glossary terms that occur in the batch or its context, and keyframes;
* with a translation memory (:mod:`vloc.memory.film`), its examples in the stable prefix. Cues
  the memory translates (``FilmText.fixed``) are never sent; as context they show the memory's
  translation from the first batch on.

``--context window`` keeps only the previous lines, ``none`` sends the batch alone.

After the loop, an engine over a chat model gives the translations a last pass
(:mod:`vloc.engines.last_pass`): words left in the source's language, lines still over their
budget.

Every finished batch is appended to the journal under a key over the engine's identity, the
batch's text and everything its prompt showed (context lines and translations, glossary,
synopsis, frames), so a killed run resumes, and a changed glossary re-translates only the
batches it reaches. With a ``context_log``, each batch the engine translated also appends a
record of what its prompt showed (:mod:`vloc.decoding.context_log`), which ``vloc review`` shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vloc.engines.base import BatchRequest, BatchResult, Engine, Line, Usage
from vloc.engines.last_pass import LastPass
from vloc.engines.options import EngineOptions
from vloc.engines.replies import CONDENSE_ROUNDS, target_script
from vloc.fileio import sha256_bytes, stable_hash
from vloc.glossary.file import GlossaryTerm, glossary_hash, terms_in
from vloc.text import subtitle_punctuation

if TYPE_CHECKING:
    import numpy as np

    from vloc.style.budget import Budget

ProgressFn = Callable[[str, int, int], None]
WarnFn = Callable[[str], None]
FramesFn = Callable[[list[int], list[int]], list[bytes]]  # (batch rows, related rows) -> JPEGs


class JournalLike(Protocol):
    entries: dict[str, str]
    path: Path | None  # named in errors (None: kept in memory)

    def append(self, items: list[tuple[str, str]]) -> None: ...


@dataclass(frozen=True)
class FilmText:
    """A film's cues as the engines see them."""

    texts: Sequence[str]  # plain source text per cue, "" for an empty cue
    source_lang: str
    target_lang: str
    embeddings: np.ndarray | None = None  # (N, E) L2-normalised, for --context global
    synopsis: str = ""
    glossary: tuple[GlossaryTerm, ...] = ()
    budgets: Sequence[Budget] | None = None  # per cue (``--style``): the prompt's limits
    fixed: Mapping[int, str] = field(default_factory=dict)  # cue -> translation from memory
    examples: tuple[tuple[str, str], ...] = ()  # translation memory pairs (vloc.memory.film)


@dataclass
class EngineRunResult:
    translations: dict[int, str]  # cue position (0-based) -> translation
    usage: Usage = field(default_factory=Usage)
    batches: int = 0  # batches sent to the engine by this run
    reused: int = 0  # cues taken from the journal
    translated: int = 0  # cues translated by this run
    prompt_lines: int = 0  # context lines shown to the engine, summed over batches


def make_batches(
    texts: Sequence[str], size: int, fixed: Mapping[int, str] | None = None
) -> list[list[int]]:
    """Consecutive runs of ``size`` cues with text (0-based positions), without the cues
    whose translation is ``fixed`` (taken from a translation memory)."""
    fixed = fixed or {}
    rows = [i for i, t in enumerate(texts) if t.strip() and i not in fixed]
    return [rows[s : s + size] for s in range(0, len(rows), size)]


def related_rows(
    embeddings: np.ndarray, rows: list[int], *, p: int, exclude: set[int], limit: int
) -> list[int]:
    """The cues most similar to any cue of ``rows`` (eq. 1), outside ``exclude``, best first."""
    from vloc.index import PAD_ID, retrieve

    n = embeddings.shape[0]
    ids, scores = retrieve(embeddings, p=min(n, p + len(exclude)), rows=rows)  # (B, P')
    best: dict[int, float] = {}
    for r in range(ids.shape[0]):
        kept = 0
        for j, s in zip(ids[r].tolist(), scores[r].tolist(), strict=True):
            if j == PAD_ID or j in exclude:
                continue
            if s > best.get(j, float("-inf")):
                best[j] = s
            kept += 1
            if kept >= p:
                break
    return sorted(best, key=lambda j: (-best[j], j))[:limit]


class EngineRunner:
    """The batch loop (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        film: FilmText,
        options: EngineOptions,
        journal: JournalLike,
        *,
        frames: FramesFn | None = None,
        progress: ProgressFn | None = None,
        warn: WarnFn | None = None,
        context_log: str | Path | None = None,
    ) -> None:
        self.engine, self.film, self.options, self.journal = engine, film, options, journal
        self.context_log = None if context_log is None else Path(context_log)
        self.frames = frames if (frames is not None and options.frames > 0) else None
        self.progress = progress or (lambda *_: None)
        self.warn = warn or (lambda _m: None)
        self.batches = make_batches(film.texts, options.batch_cues, film.fixed)
        self.batch_of = {i: b for b, rows in enumerate(self.batches) for i in rows}
        self.examples = film.examples  # like the glossary: sent in every --context mode
        self.base_key = stable_hash(
            {
                "engine": engine.identity,
                "synopsis": sha256_bytes(film.synopsis.encode()),
                # ":checked": replies are checked against the glossary (re-asked when a term
                # is missed), which batches journaled before that rule were not
                "glossary": glossary_hash(film.glossary) + (":checked" if film.glossary else ""),
                "context": options.context,
                "related": [options.related, options.max_related, options.previous, options.lag],
                "frames": [options.frames, options.frame_select],
                "langs": [film.source_lang, film.target_lang],
                # replies into another script are checked for words left untranslated, which
                # batches journaled before that rule were not
                **(
                    {"checks": "untranslated-words"}
                    if target_script(film.target_lang) != "latin"
                    else {}
                ),
                # a translation memory's examples (absent without one: earlier journals hold)
                **(
                    {"memory": stable_hash([list(p) for p in self.examples])}
                    if self.examples
                    else {}
                ),
            }
        )

    # ------------------------------------------------------------ one batch's request

    def _line(self, i: int, b: int, done: dict[int, str]) -> Line:
        if i in self.film.fixed:  # approved earlier: known from the start
            return Line(i + 1, self.film.texts[i], self.film.fixed[i])
        visible = self.batch_of.get(i, -1) <= b - self.options.lag
        text = done.get(i) if visible else None
        return Line(i + 1, self.film.texts[i], text)

    def request(self, b: int, done: dict[int, str]) -> tuple[BatchRequest, list[int]]:
        """Batch ``b``'s request, and the rows of its related lines."""
        rows = self.batches[b]
        opt, film = self.options, self.film
        related: list[int] = []
        previous: list[int] = []
        if opt.context in ("global", "window") and opt.previous:
            start = rows[0]
            previous = [
                i for i in range(max(0, start - opt.previous), start) if film.texts[i].strip()
            ]
        if opt.context == "global" and film.embeddings is not None and opt.max_related:
            exclude = set(range(max(0, rows[0] - opt.previous), rows[-1] + 1))
            related = [
                i
                for i in related_rows(
                    film.embeddings, rows, p=opt.related, exclude=exclude, limit=opt.max_related
                )
                if film.texts[i].strip()
            ]
        shown = [film.texts[i] for i in [*rows, *related, *previous]]
        req = BatchRequest(
            cues=tuple(
                Line(i + 1, film.texts[i], budget=film.budgets[i] if film.budgets else None)
                for i in rows
            ),
            source_lang=film.source_lang,
            target_lang=film.target_lang,
            related=tuple(self._line(i, b, done) for i in related),
            previous=tuple(self._line(i, b, done) for i in previous),
            synopsis=film.synopsis if opt.context != "none" else "",
            glossary=terms_in(shown, film.glossary),
            examples=self.examples,
        )
        return req, related

    def key(self, req: BatchRequest, images: Sequence[bytes]) -> str:
        obj = {
            "run": self.base_key,
            "cues": [[c.number, c.source] for c in req.cues],
            "related": [[r.number, r.source, r.translation] for r in req.related],
            "previous": [[p.number, p.source, p.translation] for p in req.previous],
            "glossary": [[t.source, t.target, t.note] for t in req.glossary],
            "images": [sha256_bytes(x) for x in images],
        }
        if any(c.budget is not None for c in req.cues):  # absent without --style: old keys hold
            obj["budgets"] = [
                [c.budget.chars, c.budget.style.lines, c.budget.style.chars_per_line]
                for c in req.cues
                if c.budget is not None
            ]
            obj["condense_rounds"] = CONDENSE_ROUNDS  # batches condensed under another policy
        return stable_hash(obj)

    def punctuate(self, text: str) -> str:
        """An engine's translation in the target's subtitle punctuation (``--punctuation``);
        the journal keeps what the engine wrote."""
        if self.options.punctuation == "keep":
            return text
        return subtitle_punctuation(text, self.film.target_lang)

    # ------------------------------------------------------------ the loop

    def run(self) -> EngineRunResult:
        result = EngineRunResult(translations={})
        done = result.translations
        workers = max(1, min(self.options.concurrency, self.options.lag))
        total = len(self.batches)
        self.progress("decode", 0, total)
        pending: dict[int, tuple[Future[BatchResult] | None, BatchRequest, str]] = {}
        shown: dict[int, tuple[list[int], list[int]]] = {}  # batch -> (related rows, frames ms)
        finished = 0

        def settle(b: int) -> None:
            nonlocal finished
            fut, req, key = pending.pop(b)
            if fut is None:  # from the journal
                texts = _split_entry(self.journal.entries[key], len(req.cues), self.journal.path)
                result.reused += len(req.cues)
            else:
                res = fut.result()
                texts = [res.translations[n] for n in req.numbers]
                self.journal.append([(key, _join_entry(texts))])
                if self.context_log is not None:
                    self._log_context(req, shown.pop(b, ([], [])))
                result.usage.add(res.usage)
                result.translated += len(req.cues)
                result.batches += 1
            for c, t in zip(req.cues, texts, strict=True):
                done[c.number - 1] = self.punctuate(t)
            finished += 1
            self.progress("decode", finished, total)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                for b in range(total):
                    # batch b may see batches <= b - lag: settle those first, in order
                    for older in sorted(pending):
                        if older <= b - self.options.lag or len(pending) >= workers:
                            settle(older)
                    req, related = self.request(b, done)
                    images = self.frames(self.batches[b], related) if self.frames else []
                    stamps = getattr(self.frames, "last_stamps", None) if images else None
                    shown[b] = (related, list(stamps or []))
                    if images:
                        req = dataclasses.replace(req, images=tuple(images))
                    key = self.key(req, images)
                    result.prompt_lines += len(req.related) + len(req.previous)
                    if key in self.journal.entries:
                        pending[b] = (None, req, key)
                    else:
                        pending[b] = (pool.submit(self.engine.translate_batch, req), req, key)
                for older in sorted(pending):
                    settle(older)
            except BaseException:
                for fut, _, _ in pending.values():
                    if fut is not None:
                        fut.cancel()
                raise
        ask = getattr(self.engine, "ask_aside", None)  # engines over a chat model
        if ask is not None:
            LastPass(ask, self.film, self.journal, self.base_key, punctuate=self.punctuate,
                     warn=self.warn, progress=self.progress).run(result)  # fmt: skip
        return result

    def _log_context(self, req: BatchRequest, shown: tuple[list[int], list[int]]) -> None:
        """Append what batch ``req``'s prompt showed to the context log."""
        from vloc.decoding.context_log import append_context, context_record

        related, frames_ms = shown
        scores: list[float | None] = [None] * len(related)
        emb = self.film.embeddings
        if emb is not None and related:
            rows = [c.number - 1 for c in req.cues]
            sims = emb[related] @ emb[rows].T  # (R, B) cosine: unit vectors
            scores = [float(x) for x in sims.max(axis=1)]
        record = context_record(
            req.numbers,
            [c.source for c in req.cues],
            related=list(zip([i + 1 for i in related], scores, strict=True)),
            previous=[p.number for p in req.previous],
            glossary=[t.source for t in req.glossary],
            frames_ms=frames_ms,
        )
        append_context(self.context_log, [record])  # type: ignore[arg-type]


def _join_entry(texts: list[str]) -> str:
    import json

    return json.dumps(texts, ensure_ascii=False)


def _split_entry(entry: str, n: int, journal: Path) -> list[str]:
    """The ``n`` translations of a journal entry; a VlocError naming the journal when the
    entry is not a list of ``n`` strings (the file was edited by hand or damaged)."""
    import json

    try:
        texts = json.loads(entry)
    except ValueError:
        texts = None
    if not isinstance(texts, list) or len(texts) != n:
        from vloc.errors import VlocError

        raise VlocError(
            f"an entry of this translation journal does not hold the {n} lines of its batch "
            "(edited or damaged); delete the file and run again",
            path=journal,
        )
    return [str(t) for t in texts]


def describe(options: EngineOptions) -> dict[str, Any]:
    return {
        "context": options.context,
        "batch_cues": options.batch_cues,
        "related": options.related,
        "previous": options.previous,
        "lag": options.lag,
        "frames": options.frames,
        "frame_select": options.frame_select,
    }
