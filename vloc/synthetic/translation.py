"""Synthetic documentaries where only the film's global visual context resolves some words.

Each film has two sections, one per topic of a *topic pair* (e.g. water and city), each about a
place with its own name (two contiguous halves, or cross-cut in alternating runs: ``blocks``). A section's cues are:

* *revealing*: a line naming the topic ("The river at Karomi is wide and slow.") over a shot of
  that topic;
* *ambiguous*: a line with a word whose Chinese depends on the topic ("People meet at the bank
  in Karomi every morning." -> 河岸 or 银行) over a *neutral* shot;
* *filler*: topic-free narration over a neutral shot.

Both sections of a film use the **same** ambiguous templates, once per sense, so every film (and
therefore every split) holds each ambiguous template under each of its senses equally often: a
text-only model is at chance, and so is a segment-level model (the cue's own shot is neutral).
An ambiguous line shares its place name with the revealing lines of its section, so its nearest
neighbours in sentence-embedding space are those lines, whose shots show the topic.

Outputs in the set folder (see :func:`make_translation_set`): ``<id>.mp4``, ``<id>.en.srt``,
``<id>.zh.srt``, ``truth.json`` (topic and kind of every cue, expected word of ambiguous cues),
``splits.json`` and ``manifest.jsonl`` (the translator's manifest, :func:`films_to_records`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vloc.errors import InputError
from vloc.fileio import atomic_write_json, read_json
from vloc.subtitles import Cue, write_subtitles
from vloc.synthetic.films import NEUTRAL, RenderOptions, TimingOptions, lay_out, render_film
from vloc.synthetic.lexicon import (
    AMBIGUOUS_WORDS,
    FILLERS,
    AmbiguousWord,
    Name,
    fill,
    make_name,
)
from vloc.synthetic.lexicon import (
    REVEALING as REVEALING_LINES,
)
from vloc.synthetic.splits import check_film_count, check_split_shares, split_of

TRUTH_FORMAT = 1  # version of truth.json
MANIFEST = "manifest.jsonl"  # the translator's training manifest (vloc.translator.data)
SPLITS = ("train", "valid", "test")
FILM_PREFIX = "doc"  # film ids: doc000, doc001, ...
REVEALING, AMBIGUOUS, FILLER = "revealing", "ambiguous", "filler"  # cue kinds


def topic_pairs() -> tuple[tuple[str, str], ...]:
    """The topic pairs that ambiguous words distinguish, in first-seen order."""
    pairs: list[tuple[str, str]] = []
    for w in AMBIGUOUS_WORDS:
        if w.topics not in pairs:
            pairs.append(w.topics)
    return tuple(pairs)


@dataclass(frozen=True)
class TranslationSetOptions:
    """What :func:`make_translation_set` generates."""

    films: int = 60  # number of films; topic pairs are cycled so each gets films/4
    seed: int = 0  # everything (text, timing, pixels) follows from it and the film index
    cues: tuple[int, int] = (24, 32)  # fewest and most cues per film (two sections)
    ambiguous_per_section: int = 3  # ambiguous cues per section (fewer if the pair has fewer)
    revealing_share: float = 0.6  # share of a section's non-ambiguous cues that reveal the topic
    blocks: int = 1  # each section is cut into this many runs of cues, alternating between the
    # two places (1: two contiguous halves; 3+: temporal neighbours mix both topics, so only
    # retrieval by content, not nearness in time, finds the cue's own topic)
    split_shares: tuple[float, float, float] = (0.7, 0.1, 0.2)  # train, valid, test
    video: bool = True  # False: subtitles and truth only (no ffmpeg)
    render: RenderOptions = field(default_factory=RenderOptions)
    timing: TimingOptions = field(default_factory=TimingOptions)

    def __post_init__(self) -> None:
        shares = self.split_shares
        if self.blocks < 1:
            raise InputError(f"blocks must be at least 1, got {self.blocks}")
        check_split_shares(shares)


@dataclass(frozen=True)
class CueTruth:
    """What one cue is and, for ambiguous cues, which Chinese word is right."""

    index: int  # 1-based cue number in the film's SRT files
    start_ms: int
    end_ms: int
    kind: str  # "revealing" | "ambiguous" | "filler"
    topic: str  # the topic of the cue's section
    shot: str  # what the cue's shot shows: the topic for revealing cues, else "neutral"
    section: int  # 0 or 1
    en: str  # source line
    zh: str  # reference line
    word: str | None = None  # ambiguous English word ("bank")
    template: str | None = None  # ambiguous template id ("bank/0"), same text for every sense
    expected: str | None = None  # the right Chinese word ("河岸")
    wrong: tuple[str, ...] = ()  # Chinese words of the other senses ("银行",)


@dataclass(frozen=True)
class FilmTruth:
    """One generated film."""

    id: str  # "doc007"
    split: str  # "train" | "valid" | "test"
    topics: tuple[str, str]  # section topics in film order
    names: tuple[tuple[str, str], tuple[str, str]]  # per section (English, Chinese) place name
    cues: tuple[CueTruth, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _split_of(index: int, options: TranslationSetOptions) -> str:
    """Split by position within the film's topic pair, so every split cycles all pairs."""
    n_pairs = len(topic_pairs())
    per_pair = -(-options.films // n_pairs)  # films of the most frequent pair
    return split_of(index // n_pairs, per_pair, options.split_shares)


def _section_plan(
    rng: np.random.Generator,
    topic: str,
    name: Name,
    size: int,
    ambiguous: Sequence[tuple[AmbiguousWord, int]],
    fillers: list[int],
    revealing_share: float,
) -> list[dict[str, Any]]:
    """The shuffled cue contents of one section (without timing)."""
    rest = size - len(ambiguous)
    n_rev = max(3, round(revealing_share * rest))
    n_fill = max(0, rest - n_rev)
    reveal_pool = REVEALING_LINES[topic]
    rows: list[dict[str, Any]] = []
    for k in rng.choice(len(reveal_pool), size=min(n_rev, len(reveal_pool)), replace=False):
        en, zh = reveal_pool[int(k)]
        rows.append(
            dict(kind=REVEALING, shot=topic, en=fill(en, name, "en"), zh=fill(zh, name, "zh"))
        )
    for word, t in ambiguous:
        en, zh_by_topic = word.templates[t]
        rows.append(
            dict(
                kind=AMBIGUOUS,
                shot=NEUTRAL,
                en=fill(en, name, "en"),
                zh=fill(zh_by_topic[topic], name, "zh"),
                word=word.word,
                template=f"{word.word}/{t}",
                expected=word.senses[topic],
                wrong=tuple(v for k, v in word.senses.items() if k != topic),
            )
        )
    for _ in range(n_fill):
        en, zh = FILLERS[fillers.pop()]
        rows.append(dict(kind=FILLER, shot=NEUTRAL, en=en, zh=zh))
    return [rows[int(i)] for i in rng.permutation(len(rows))]


def plan_film(index: int, options: TranslationSetOptions) -> tuple[FilmTruth, list]:
    """Text, timing and shots of film ``index`` (no files written).

    Depends only on ``options.seed`` and ``index`` (not on how many films the set has, except
    for the split), so the first films of a larger set are the films of a smaller one.
    Returns the film's truth and its shots (for :func:`render_film`).
    """
    lo, hi = options.cues
    if not 2 * (options.ambiguous_per_section + 3) <= lo <= hi:
        raise InputError(
            f"cues per film must satisfy {2 * (options.ambiguous_per_section + 3)} <= min <= max, "
            f"got {lo}..{hi}"
        )
    rng = np.random.default_rng([options.seed, index])
    pairs = topic_pairs()
    pair = pairs[index % len(pairs)]
    topics = tuple(pair[int(i)] for i in rng.permutation(2))
    first = make_name(rng)
    second = make_name(rng, avoid=frozenset(first.syllables))
    combos = [(w, t) for w in AMBIGUOUS_WORDS if w.topics == pair for t in range(len(w.templates))]
    n_amb = min(options.ambiguous_per_section, len(combos))
    chosen = [combos[int(i)] for i in rng.choice(len(combos), size=n_amb, replace=False)]
    n_cues = int(rng.integers(lo, hi + 1))
    sizes = (n_cues // 2, n_cues - n_cues // 2)
    fillers = [int(i) for i in rng.permutation(len(FILLERS))]
    sections: list[list[dict[str, Any]]] = []
    for s, (topic, name, size) in enumerate(zip(topics, (first, second), sizes, strict=True)):
        if len(fillers) < size:  # pop() takes from the end: unused fillers go first
            fillers[:0] = [int(i) for i in rng.permutation(len(FILLERS))]
        section = _section_plan(rng, topic, name, size, chosen, fillers, options.revealing_share)
        sections.append([dict(r, topic=topic, section=s) for r in section])
    rows: list[dict[str, Any]] = []
    for k in range(options.blocks):  # blocks = 1: two contiguous sections; more: cross-cutting
        for section in sections:
            n = len(section)
            rows += section[k * n // options.blocks : (k + 1) * n // options.blocks]
    spans, shots = lay_out([r["shot"] for r in rows], rng, options.timing)
    cues = tuple(
        CueTruth(index=i + 1, start_ms=a, end_ms=b, **r)
        for i, (r, (a, b)) in enumerate(zip(rows, spans, strict=True))
    )
    film = FilmTruth(
        id=f"{FILM_PREFIX}{index:03d}",
        split=_split_of(index, options),
        topics=topics,  # type: ignore[arg-type]
        names=((first.en, first.zh), (second.en, second.zh)),
        cues=cues,
    )
    return film, shots


def film_subtitles(film: FilmTruth, lang: str) -> list[Cue]:
    """The film's cues in ``lang`` ("en" source or "zh" reference)."""
    return [
        Cue(index=c.index, start_ms=c.start_ms, end_ms=c.end_ms, text=getattr(c, lang))
        for c in film.cues
    ]


def films_to_records(
    out_dir: str | Path, films: Sequence[FilmTruth], *, video: bool = True
) -> list[Any]:
    """The films as translator manifest records (:class:`vloc.translator.data.Documentary`).

    Cues carry the source and reference text and their times in seconds; ``video`` points at
    ``<id>.mp4`` when it was rendered. Features are left out: they come from ``vloc features``.
    """
    from vloc.translator.data import Cue as ManifestCue
    from vloc.translator.data import Documentary

    out = Path(out_dir).resolve()
    return [
        Documentary(
            id=f.id,
            source_lang="en",
            target_lang="zh",
            cues=tuple(
                ManifestCue(c.index, c.start_ms / 1000, c.end_ms / 1000, c.en, c.zh) for c in f.cues
            ),
            split=f.split,
            video=out / f"{f.id}.mp4" if video else None,
        )
        for f in films
    ]


def make_translation_set(
    out_dir: str | Path,
    options: TranslationSetOptions = TranslationSetOptions(),
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[FilmTruth]:
    """Write a synthetic translation set into ``out_dir`` and return the films' truth.

    Files: ``<id>.mp4`` (unless ``options.video`` is False), ``<id>.en.srt``, ``<id>.zh.srt``,
    ``truth.json``, ``splits.json``, ``manifest.jsonl``. ``progress(done, total, film_id)`` is
    called after each film.
    """
    check_film_count(options.films)
    out = Path(out_dir)
    films: list[FilmTruth] = []
    for i in range(options.films):
        film, shots = plan_film(i, options)
        write_subtitles(out / f"{film.id}.en.srt", film_subtitles(film, "en"))
        write_subtitles(out / f"{film.id}.zh.srt", film_subtitles(film, "zh"))
        if options.video:
            render_film(out / f"{film.id}.mp4", shots, options.render)
        films.append(film)
        if progress is not None:
            progress(i + 1, options.films, film.id)
    truth = {
        "format": TRUTH_FORMAT,
        "task": "translation",
        "seed": options.seed,
        "films": [f.to_json() for f in films],
    }
    atomic_write_json(out / "truth.json", truth)
    atomic_write_json(
        out / "splits.json", {s: [f.id for f in films if f.split == s] for s in SPLITS}
    )
    from vloc.translator.data import write_manifest

    write_manifest(out / MANIFEST, films_to_records(out, films, video=options.video))
    return films


def load_truth(path: str | Path) -> list[dict[str, Any]]:
    """The films of a ``truth.json`` (or of the set folder that holds it), as dicts."""
    path = Path(path)
    if path.is_dir():
        path = path / "truth.json"
    data = read_json(path, what="synthetic set's truth")
    if not isinstance(data, dict) or data.get("format") != TRUTH_FORMAT or "films" not in data:
        raise InputError(f"not a truth.json of format {TRUTH_FORMAT}", path=path)
    return data["films"]


# --------------------------------------------------------------------------------- scoring


def ambiguous_correct(hyp: str, expected: str, wrong: Sequence[str]) -> bool:
    """True when ``hyp`` contains the expected Chinese word and none of the wrong senses."""
    return expected in hyp and not any(w in hyp for w in wrong)


def _cue_dicts(truth: Any) -> list[dict[str, Any]]:
    """Flatten a film (dict or FilmTruth), a list of films, or a list of cues into cue dicts."""
    if isinstance(truth, FilmTruth):
        truth = truth.to_json()
    if isinstance(truth, dict):
        truth = truth["cues"] if "cues" in truth else [truth]
    cues: list[dict[str, Any]] = []
    for item in truth:
        if isinstance(item, FilmTruth):
            cues += [asdict(c) for c in item.cues]
        elif isinstance(item, CueTruth):
            cues.append(asdict(item))
        elif isinstance(item, dict) and "cues" in item:
            cues += list(item["cues"])
        elif isinstance(item, dict):
            cues.append(item)
        else:
            raise InputError(f"truth items must be films or cues, got {type(item).__name__}")
    return cues


def ambiguous_scores(hyps: Sequence[str], truth: Any) -> dict[str, Any]:
    """Accuracy on the ambiguous cues, overall and per word.

    Args:
        hyps: one hypothesis per cue, aligned with the cues of ``truth`` (all kinds, in order).
        truth: a film (FilmTruth or its dict), a list of films, or a list of cue dicts.
    Returns:
        ``{"accuracy": float, "correct": int, "count": int, "per_word": {word: accuracy}}``.
    """
    cues = _cue_dicts(truth)
    if len(hyps) != len(cues):
        raise InputError(f"got {len(hyps)} hypotheses for {len(cues)} cues; counts must match")
    right: dict[str, list[bool]] = {}
    for hyp, cue in zip(hyps, cues, strict=True):
        if cue.get("kind") == AMBIGUOUS:
            ok = ambiguous_correct(hyp, cue["expected"], cue.get("wrong", ()))
            right.setdefault(cue["word"], []).append(ok)
    flat = [ok for oks in right.values() for ok in oks]
    if not flat:
        raise InputError("the truth holds no ambiguous cues")
    return {
        "accuracy": sum(flat) / len(flat),
        "correct": sum(flat),
        "count": len(flat),
        "per_word": {w: sum(oks) / len(oks) for w, oks in sorted(right.items())},
    }


def ambiguous_accuracy(hyps: Sequence[str], truth: Any) -> float:
    """Share of ambiguous cues whose hypothesis has the right sense (see :func:`ambiguous_scores`)."""
    return float(ambiguous_scores(hyps, truth)["accuracy"])
