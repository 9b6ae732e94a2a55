"""Synthetic cross-lingual video summarization: transcripts that hide the topic, videos that show it.

Each film is about one place (a random name) of one visual topic. Its transcript (Chinese
source, with a parallel English version for monolingual pre-training and distillation) is
topic-free narration: filler lines and lines that only name the place. The English summary
names the place and describes it with topic-specific phrases (the kind of place, what the film
shows there, what lives there: "herons wading among reeds", "camels carrying salt across
dunes"), so most of its words depend on the topic: a model that ignores the video can at best
guess it, while the video's shots (half of them show the topic, the rest are neutral) reveal it.

Outputs in the set folder (see :func:`make_summarization_set`):

* per film ``<id>.mp4``, ``<id>.zh.srt`` / ``<id>.en.srt`` (the transcript as timed cues),
  ``<id>.zh.transcript.txt`` / ``<id>.en.transcript.txt`` and ``<id>.en.summary.txt``;
* ``summaries.jsonl`` (one record per film), ``truth.json``, ``splits.json``;
* ``how2/`` — the same data in the How2-MCLS text layout (``<split>_action.txt``,
  ``<split>_art_zh.txt``, ``<split>_art_en.txt``, ``<split>_sum.txt``) for splits ``pretrain``
  (the training films, for stage-1 monolingual training), ``train``, ``val`` and ``test``; the
  video features (``video_action_features/``) are computed from the mp4 files separately.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vloc.errors import InputError
from vloc.fileio import atomic_write_json, atomic_write_text
from vloc.subtitles import Cue, write_subtitles
from vloc.synthetic.films import NEUTRAL, RenderOptions, TimingOptions, lay_out, render_film
from vloc.synthetic.lexicon import FILLERS, NAMED_NEUTRAL, TOPICS, fill, make_name
from vloc.synthetic.splits import check_film_count, check_split_shares, split_of

TRUTH_FORMAT = 1
FILM_PREFIX = "sum"  # film ids: sum000, sum001, ...
HOW2_SPLITS = {"pretrain": "train", "train": "train", "val": "valid", "test": "test"}

# What each topic's summary says: (place noun, kind of place, a scene, a sight, what lives
# there). Every phrase is specific to its topic and none of its words occurs in a transcript, so
# most of a summary depends on what the video shows: a text-only model can only guess the topic
# (1 in 4) and shares little more than the frame words and the place name with the reference.
TOPIC_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "water": (
        "river", "fishing harbour", "boats crossing the lake at dawn",
        "fishermen casting nets", "herons wading among reeds",
    ),
    "desert": (
        "desert", "salt oasis", "camels carrying salt across dunes",
        "nomads walking under the burning sun", "lizards hiding beneath rocks",
    ),
    "forest": (
        "forest", "woodcutters village", "deer walking under tall pines",
        "moss covering old oaks", "owls hunting at dusk",
    ),
    "city": (
        "city", "crowded metropolis", "traffic filling the streets at dawn",
        "buses crowding the main square", "commuters rushing into subways",
    ),
}  # fmt: skip
SUMMARY_TEMPLATES = (
    "A documentary about the {noun} of {n}, a {kind}. It shows {scene}, {sight} and {life}.",
    "The film follows a year in the {noun} of {n}, a {kind}: {scene}, {sight} and {life}.",
)  # chosen independently of the topic: only the topic words differ between topics


@dataclass(frozen=True)
class SummarizationSetOptions:
    """What :func:`make_summarization_set` generates."""

    films: int = 60  # topics are cycled, so each gets films/4
    seed: int = 0
    cues: tuple[int, int] = (10, 16)  # transcript lines (= cues = shots) per film
    revealing_share: float = 0.5  # share of shots that show the topic (the rest are neutral)
    split_shares: tuple[float, float, float] = (0.7, 0.1, 0.2)  # train, valid, test
    video: bool = True  # False: text only (no ffmpeg)
    render: RenderOptions = field(default_factory=RenderOptions)
    timing: TimingOptions = field(default_factory=TimingOptions)

    def __post_init__(self) -> None:
        check_split_shares(self.split_shares)


@dataclass(frozen=True)
class SummaryFilm:
    """One generated film of the summarization set."""

    id: str  # "sum004"
    split: str  # "train" | "valid" | "test"
    topic: str  # what the revealing shots show
    name: tuple[str, str]  # (English, Chinese) place name
    summary: str  # English reference summary (names the topic)
    transcript: dict[str, str]  # language -> whole transcript ("zh" source, "en" parallel)
    cues: tuple[dict[str, Any], ...]  # per cue: index, start_ms, end_ms, shot, en, zh


def _split_of(index: int, options: SummarizationSetOptions) -> str:
    per_topic = -(-options.films // len(TOPICS))
    return split_of(index // len(TOPICS), per_topic, options.split_shares)


def plan_summary_film(index: int, options: SummarizationSetOptions) -> tuple[SummaryFilm, list]:
    """Text, timing and shots of film ``index`` (no files written); see ``plan_film``."""
    lo, hi = options.cues
    if not 2 <= lo <= hi:
        raise InputError(f"cues per film must satisfy 2 <= min <= max, got {lo}..{hi}")
    rng = np.random.default_rng([options.seed, 1_000_003, index])  # apart from translation films
    topic = TOPICS[index % len(TOPICS)]
    name = make_name(rng)
    n = int(rng.integers(lo, hi + 1))
    n_named = min(len(NAMED_NEUTRAL), n // 2)
    lines = [NAMED_NEUTRAL[int(i)] for i in rng.choice(len(NAMED_NEUTRAL), n_named, replace=False)]
    lines += [FILLERS[int(i) % len(FILLERS)] for i in rng.permutation(max(n, len(FILLERS)))][
        : n - n_named
    ]
    lines = [lines[int(i)] for i in rng.permutation(n)]
    n_rev = max(1, round(options.revealing_share * n))
    shots = [topic] * n_rev + [NEUTRAL] * (n - n_rev)
    shots = [shots[int(i)] for i in rng.permutation(n)]
    spans, shot_list = lay_out(shots, rng, options.timing)
    noun, kind, scene, sight, life = TOPIC_WORDS[topic]
    template = SUMMARY_TEMPLATES[int(rng.integers(len(SUMMARY_TEMPLATES)))]  # after the shots
    summary = template.format(noun=noun, n=name.en, kind=kind, scene=scene, sight=sight, life=life)
    cues = tuple(
        dict(
            index=i + 1,
            start_ms=a,
            end_ms=b,
            shot=s,
            en=fill(en, name, "en"),
            zh=fill(zh, name, "zh"),
        )
        for i, ((en, zh), s, (a, b)) in enumerate(zip(lines, shots, spans, strict=True))
    )
    film = SummaryFilm(
        id=f"{FILM_PREFIX}{index:03d}",
        split=_split_of(index, options),
        topic=topic,
        name=(name.en, name.zh),
        summary=summary,
        transcript={"zh": "".join(c["zh"] for c in cues), "en": " ".join(c["en"] for c in cues)},
        cues=cues,
    )
    return film, shot_list


def make_summarization_set(
    out_dir: str | Path,
    options: SummarizationSetOptions = SummarizationSetOptions(),
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[SummaryFilm]:
    """Write a synthetic summarization set into ``out_dir`` (files: see the module docstring)."""
    check_film_count(options.films)
    out = Path(out_dir)
    films: list[SummaryFilm] = []
    for i in range(options.films):
        film, shots = plan_summary_film(i, options)
        for lang in ("zh", "en"):
            cues = [Cue(c["index"], c["start_ms"], c["end_ms"], c[lang]) for c in film.cues]
            write_subtitles(out / f"{film.id}.{lang}.srt", cues)
            atomic_write_text(
                out / f"{film.id}.{lang}.transcript.txt", film.transcript[lang] + "\n"
            )
        atomic_write_text(out / f"{film.id}.en.summary.txt", film.summary + "\n")
        if options.video:
            render_film(out / f"{film.id}.mp4", shots, options.render)
        films.append(film)
        if progress is not None:
            progress(i + 1, options.films, film.id)
    records = [
        {
            "id": f.id,
            "split": f.split,
            "video": str((out / f"{f.id}.mp4").resolve()),
            "transcript_zh": f.transcript["zh"],
            "transcript_en": f.transcript["en"],
            "summary_en": f.summary,
        }
        for f in films
    ]
    atomic_write_text(
        out / "summaries.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    )
    atomic_write_json(
        out / "truth.json",
        {
            "format": TRUTH_FORMAT,
            "task": "summarization",
            "seed": options.seed,
            "films": [asdict(f) for f in films],
        },
    )
    splits = {s: [f.id for f in films if f.split == s] for s in ("train", "valid", "test")}
    atomic_write_json(out / "splits.json", splits)
    for how2_split, split in HOW2_SPLITS.items():
        rows = [f for f in films if f.split == split]
        files = {
            "_action.txt": [f.id for f in rows],
            "_art_zh.txt": [f.transcript["zh"] for f in rows],
            "_art_en.txt": [f.transcript["en"] for f in rows],
            "_sum.txt": [f.summary for f in rows],
        }
        for suffix, lines in files.items():
            atomic_write_text(
                out / "how2" / f"{how2_split}{suffix}", "".join(x + "\n" for x in lines)
            )
    return films
