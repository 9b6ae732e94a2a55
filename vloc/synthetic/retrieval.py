"""Synthetic films for search by what is seen: scenes described in English and Chinese that
their subtitles never name.

Every cue of a film sits over its own shot of one *scene*: a visual topic
(:data:`~vloc.synthetic.lexicon.TOPICS`: water, desert, forest, city, drawn by
:func:`vloc.synthetic.films.render_shot`) under one *light* (:data:`LIGHTS`: day, dusk, night,
fog — a colour grade applied to every frame), so there are 16 scenes. The subtitles are
topic-free narration (:data:`~vloc.synthetic.lexicon.FILLERS` and
:data:`~vloc.synthetic.lexicon.NAMED_NEUTRAL`): no line names a topic or a light
(:func:`scene_words_in` checks), so a search of what is *said* can only find a scene by chance.

Descriptions of a scene compose a topic phrase and a light phrase (``"sand dunes at night"``,
``"夜色中的沙丘"``). The phrases are split: :data:`TRAIN` phrasings describe the training films'
cues, :data:`QUERY` phrasings (never seen in training) are the benchmark's queries, so a model
must carry what it learnt to new wordings and, through the multilingual encoder, to Chinese.

Outputs in the set folder (:func:`make_retrieval_set`): ``<id>.mp4``, ``<id>.en.srt`` and
``truth.json`` (split, scene and line of every cue). Films come in three splits: training
films (their cues are described), held-out films (searched by the benchmark) and validation
films (searched to choose settings, such as the fusion of ``--by both``, before the held-out
ones are looked at); :func:`line_queries` gives queries about what is *said* instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vloc.errors import InputError
from vloc.fileio import atomic_write_json, read_json
from vloc.subtitles import Cue, write_subtitles
from vloc.synthetic.films import RenderOptions, TimingOptions, lay_out, render_film, render_shot
from vloc.synthetic.lexicon import FILLERS, NAMED_NEUTRAL, TOPICS, fill, make_name

TRUTH_FORMAT = 1  # version of truth.json
TRUTH_FILE = "truth.json"
FILM_PREFIX = "scene"  # film ids: scene000, scene001, ...
SPLITS = ("train", "test", "val")  # film order: training, held-out, then validation films
SEP = "/"  # scene = "<topic>/<light>", also the shot kind given to the renderer
TRAIN, QUERY = "train", "query"  # the two phrasings of each part of a description

LIGHTS = ("day", "dusk", "night", "fog")  # colour grades, one per light

# per light: (per-channel gain (3,), offset added after the gain, share of the frame kept;
# the rest is replaced by the offset colour): out = keep * gain * img + (1 - keep) * offset
GRADES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float], float]] = {
    "day": ((1.15, 1.15, 1.1), (40.0, 40.0, 35.0), 0.9),  # brighter, a little washed
    "dusk": ((1.1, 0.7, 0.45), (60.0, 20.0, 10.0), 0.85),  # orange, warm
    "night": ((0.3, 0.35, 0.6), (0.0, 5.0, 20.0), 1.0),  # dark blue
    "fog": ((1.0, 1.0, 1.0), (200.0, 200.0, 205.0), 0.4),  # low contrast, pale grey
}

# (English, Chinese) phrases; English: "<topic> <light>", Chinese: "<light><topic>"
TOPIC_PHRASES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "water": {
        TRAIN: (("a river", "河流"), ("waves on a lake", "湖面上的波浪"), ("open water", "开阔的水面"),
                ("a flowing river", "流淌的河水"), ("ripples on the water", "水面上的涟漪")),
        QUERY: (("rolling water", "翻滚的水流"), ("a broad river", "宽阔的大河")),
    },
    "desert": {
        TRAIN: (("sand dunes", "沙丘"), ("a desert", "沙漠"), ("dry sand", "干燥的沙地"),
                ("a sea of sand", "一片沙海"), ("desert dunes", "沙漠里的沙丘")),
        QUERY: (("dunes of sand", "连绵的沙丘"), ("a sandy wasteland", "荒凉的沙地")),
    },
    "forest": {
        TRAIN: (("a forest", "森林"), ("trees and leaves", "树木和树叶"), ("the woods", "树林"),
                ("leafy trees", "枝叶茂盛的树"), ("a wood of tall trees", "高大的树林")),
        QUERY: (("dense woodland", "茂密的林地"), ("a thick forest", "浓密的森林")),
    },
    "city": {
        TRAIN: (("city buildings", "城市建筑"), ("lit windows of towers", "高楼亮着灯的窗户"),
                ("a street of houses", "房屋林立的街道"), ("a big city", "大城市"),
                ("tall buildings downtown", "市中心的高楼")),
        QUERY: (("high-rise towers of a city", "城市里的摩天高楼"), ("skyscrapers", "摩天大楼")),
    },
}  # fmt: skip
LIGHT_PHRASES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "day": {
        TRAIN: (("in bright daylight", "明亮阳光下的"), ("on a sunny day", "晴天里的"),
                ("in the daytime", "白天的"), ("in full sun", "烈日下的"),
                ("in sunshine", "阳光中的"), ("on a bright afternoon", "明媚午后的")),
        QUERY: (("in broad daylight", "大白天的"), ("in the midday sun", "正午阳光下的")),
    },
    "dusk": {
        TRAIN: (("at sunset", "日落时的"), ("at dusk", "黄昏时的"), ("in the evening", "傍晚的"),
                ("at twilight", "暮色中的"), ("as the sun sets", "太阳落山时的"),
                ("in the golden hour", "金色余晖里的")),
        QUERY: (("in the evening glow", "傍晚余晖中的"), ("at sundown", "日暮时分的")),
    },
    "night": {
        TRAIN: (("at night", "夜晚的"), ("in the dark", "黑暗中的"), ("at midnight", "午夜的"),
                ("by night", "夜里的"), ("late at night", "深夜的"), ("in darkness", "黑夜里的")),
        QUERY: (("under the night sky", "夜空下的"), ("in the night", "夜色里的")),
    },
    "fog": {
        TRAIN: (("in thick fog", "浓雾中的"), ("in the mist", "薄雾里的"), ("in fog", "雾中的"),
                ("shrouded in mist", "笼罩在雾里的"), ("wrapped in fog", "被雾包裹的"),
                ("in grey mist", "灰蒙蒙雾里的")),
        QUERY: (("through a haze", "雾霭中的"), ("in heavy mist", "大雾中的")),
    },
}  # fmt: skip


def scenes() -> tuple[str, ...]:
    """All scenes, ``"water/day"`` ... ``"city/fog"`` (topic-major)."""
    return tuple(f"{t}{SEP}{li}" for t in TOPICS for li in LIGHTS)


def split_scene(scene: str) -> tuple[str, str]:
    """``"water/night"`` → ``("water", "night")``; ValueError for anything else."""
    topic, _, light = scene.partition(SEP)
    if topic not in TOPICS or light not in LIGHTS:
        raise ValueError(f"unknown scene {scene!r}; valid: {', '.join(scenes())}")
    return topic, light


def descriptions(scene: str, phrasing: str) -> list[tuple[str, str]]:
    """Every (English, Chinese) description of ``scene`` in ``phrasing`` (TRAIN or QUERY)."""
    topic, light = split_scene(scene)
    return [
        (f"{t_en} {l_en}", f"{l_zh}{t_zh}")
        for t_en, t_zh in TOPIC_PHRASES[topic][phrasing]
        for l_en, l_zh in LIGHT_PHRASES[light][phrasing]
    ]


def scene_words_in(text: str) -> list[str]:
    """The description words (either language, either phrasing) that occur in ``text``."""
    low = text.lower()
    words: set[str] = set()
    for table in (TOPIC_PHRASES, LIGHT_PHRASES):
        for by_phrasing in table.values():
            for rows in by_phrasing.values():
                for en, zh in rows:
                    stop = {"a", "an", "the", "in", "on", "of", "at", "and", "as", "under", "after"}
                    words.update(w for w in en.lower().split() if w not in stop)
                    words.add(zh.rstrip("的"))
    return sorted(w for w in words if (f" {w} " in f" {low} " if w.isascii() else w in text))


def render_scene(
    kind: str, n_frames: int, seed: int, *, height: int, width: int, fps: int
) -> Iterator[np.ndarray]:
    """Frames of a shot of scene ``kind`` (``"topic/light"``): the topic's frames
    (:func:`~vloc.synthetic.films.render_shot`) under the light's grade; ``(H, W, 3)`` uint8."""
    topic, light = split_scene(kind)
    gain, offset, keep = GRADES[light]
    g = np.asarray(gain, np.float32) * np.float32(keep)  # (3,)
    o = np.asarray(offset, np.float32) * np.float32(1 - keep)  # (3,)
    for frame in render_shot(topic, n_frames, seed, height=height, width=width, fps=fps):
        yield np.clip(frame.astype(np.float32) * g + o, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class RetrievalSetOptions:
    """What :func:`make_retrieval_set` generates."""

    train_films: int = 40  # films whose cues (with descriptions) train the align model
    test_films: int = 12  # held-out films: indexed and searched
    cues: tuple[int, int] = (10, 14)  # fewest and most cues per film
    seed: int = 0  # everything (scenes, names, lines, pixels) follows from it
    val_films: int = 0  # validation films (after the held-out ones): for choosing settings
    render: RenderOptions = RenderOptions(width=112, height=84)  # small frames: fast
    timing: TimingOptions = TimingOptions(cue_ms=(1500, 2500), gap_ms=(200, 400))


@dataclass(frozen=True)
class SceneFilm:
    """One generated film and what every cue shows."""

    id: str  # "scene007"
    split: str  # "train", "test" or "val"
    scenes: tuple[str, ...]  # per cue, "topic/light"
    spans: tuple[tuple[int, int], ...]  # per cue, [start_ms, end_ms)
    lines: tuple[str, ...]  # per cue, the English subtitle (names no scene)
    lines_zh: tuple[str, ...] = ()  # per cue, its Chinese translation (() in older sets)


def plan_scene_film(i: int, options: RetrievalSetOptions) -> tuple[SceneFilm, list[Any]]:
    """Film ``i`` (train films first, then held-out, then validation) and its shots; depends
    only on ``i`` and the seed, so adding validation films leaves the others unchanged."""
    rng = np.random.default_rng([options.seed, i])
    split = SPLITS[0] if i < options.train_films else SPLITS[1]
    if i >= options.train_films + options.test_films:
        split = SPLITS[2]
    all_scenes = scenes()
    n = int(rng.integers(options.cues[0], options.cues[1] + 1))
    picked = [all_scenes[int(k)] for k in rng.integers(0, len(all_scenes), n)]
    spans, shots = lay_out(picked, rng, options.timing)
    name = make_name(rng)
    pool = [en for en, _ in FILLERS] + [fill(en, name, "en") for en, _ in NAMED_NEUTRAL]
    pool_zh = [zh for _, zh in FILLERS] + [fill(zh, name, "zh") for _, zh in NAMED_NEUTRAL]
    picks = [int(k) for k in rng.permutation(len(pool))[:n]]
    while len(picks) < n:  # more cues than lines: repeat some
        picks.append(int(rng.integers(len(pool))))
    lines = [pool[k] for k in picks]
    film = SceneFilm(
        id=f"{FILM_PREFIX}{i:03d}",
        split=split,
        scenes=tuple(picked),
        spans=tuple(spans),
        lines=tuple(lines),
        lines_zh=tuple(pool_zh[k] for k in picks),
    )
    return film, shots


def make_retrieval_set(folder: str | Path, options: RetrievalSetOptions) -> list[SceneFilm]:
    """Render every film and its English subtitles into ``folder``; write ``truth.json``."""
    if options.train_films < 1 or options.test_films < 1:
        raise InputError("a retrieval set needs at least one training and one test film")
    if not 1 <= options.cues[0] <= options.cues[1]:
        raise InputError(f"cues must be (fewest, most) with 1 <= fewest <= most: {options.cues}")
    if options.val_films < 0:
        raise InputError(f"val_films must be >= 0, got {options.val_films}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    films = []
    for i in range(options.train_films + options.test_films + options.val_films):
        film, shots = plan_scene_film(i, options)
        render_film(folder / f"{film.id}.mp4", shots, options.render, frames=render_scene)
        cues = [
            Cue(index=k + 1, start_ms=s, end_ms=e, text=line)
            for k, ((s, e), line) in enumerate(zip(film.spans, film.lines, strict=True))
        ]
        write_subtitles(folder / f"{film.id}.en.srt", cues)
        films.append(film)
    truth = {
        "format": TRUTH_FORMAT,
        "options": {
            "seed": options.seed,
            "cues": list(options.cues),
            "films": {sp: sum(f.split == sp for f in films) for sp in SPLITS},
        },
        "films": [asdict(f) for f in films],
    }
    atomic_write_json(folder / TRUTH_FILE, truth)
    return films


def load_scene_truth(folder: str | Path) -> list[SceneFilm]:
    """The films recorded in ``folder/truth.json``."""
    path = Path(folder) / TRUTH_FILE
    data = read_json(path, what="retrieval set's truth")
    return [
        SceneFilm(
            id=f["id"],
            split=f["split"],
            scenes=tuple(f["scenes"]),
            spans=tuple(tuple(s) for s in f["spans"]),  # type: ignore[misc]
            lines=tuple(f["lines"]),
            lines_zh=tuple(f.get("lines_zh", ())),
        )
        for f in data["films"]
    ]


def training_descriptions(
    films: Sequence[SceneFilm], per_cue: int = 4, seed: int = 0
) -> list[tuple[SceneFilm, int, list[str], list[str]]]:
    """(film, cue position, English descriptions, their Chinese translations) for every cue of
    ``films``: ``per_cue`` distinct TRAIN-phrasing descriptions per cue, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    rows = []
    for film in films:
        for k, scene in enumerate(film.scenes):
            options = descriptions(scene, TRAIN)
            picks = rng.permutation(len(options))[: max(1, per_cue)]
            rows.append((film, k, [options[i][0] for i in picks], [options[i][1] for i in picks]))
    return rows


def queries(lang: str) -> list[tuple[str, str]]:
    """(scene, query) for every QUERY-phrasing description of every scene in ``lang``."""
    if lang not in ("en", "zh"):
        raise InputError(f"queries exist in en and zh, not {lang!r}")
    pick = 0 if lang == "en" else 1
    return [(s, d[pick]) for s in scenes() for d in descriptions(s, QUERY)]


def line_queries(
    films: Sequence[SceneFilm], lang: str
) -> list[tuple[frozenset[tuple[str, int]], str]]:
    """Queries about what is *said*: one per distinct subtitle line of ``films``, the line
    itself (``en``: a quote) or its Chinese translation (``zh``: a paraphrase in another
    language), with the cues that carry it as (film id, cue position)."""
    if lang not in ("en", "zh"):
        raise InputError(f"queries exist in en and zh, not {lang!r}")
    where: dict[str, set[tuple[str, int]]] = {}
    text: dict[str, str] = {}
    for film in films:
        if lang == "zh" and len(film.lines_zh) != len(film.lines):
            raise InputError(f"film {film.id} has no Chinese lines: regenerate the set")
        for k, line in enumerate(film.lines):
            where.setdefault(line, set()).add((film.id, k))
            text[line] = line if lang == "en" else film.lines_zh[k]
    return [(frozenset(where[line]), text[line]) for line in sorted(where)]


def chance_recall(relevant: int, total: int, k: int) -> float:
    """Probability that a random ranking of ``total`` items puts one of ``relevant`` in the
    top ``k``: 1 - C(total - relevant, k) / C(total, k)."""
    if relevant <= 0:
        return 0.0
    miss = 1.0
    for j in range(min(k, total)):
        miss *= max(total - relevant - j, 0) / (total - j)
    return 1.0 - miss


__all__ = [
    "LIGHTS",
    "QUERY",
    "TRAIN",
    "RetrievalSetOptions",
    "SceneFilm",
    "chance_recall",
    "descriptions",
    "line_queries",
    "load_scene_truth",
    "make_retrieval_set",
    "plan_scene_film",
    "queries",
    "render_scene",
    "scene_words_in",
    "scenes",
    "split_scene",
    "training_descriptions",
]
