"""The synthetic documentary sets: text, balance, timing, pixels, scoring, retrieval."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from vloc.errors import InputError
from vloc.subtitles import read_subtitles
from vloc.synthetic import (
    RenderOptions,
    SummarizationSetOptions,
    TimingOptions,
    TranslationSetOptions,
    ambiguous_accuracy,
    ambiguous_correct,
    ambiguous_scores,
    load_truth,
    make_summarization_set,
    make_translation_set,
    plan_film,
    plan_summary_film,
)
from vloc.synthetic.lexicon import AMBIGUOUS_WORDS, REVEALING, TOPICS
from vloc.synthetic.summarization import TOPIC_WORDS
from vloc.translator.data import read_manifest

ROOT = Path(__file__).resolve().parents[2]
TEXT_ONLY = TranslationSetOptions(films=8, seed=3, video=False)  # two films per topic pair
SHORT = TimingOptions(cue_ms=(1000, 1500), gap_ms=(100, 300), lead_ms=200, tail_ms=200)
TINY_VIDEO = TranslationSetOptions(
    films=2, seed=5, cues=(10, 10), ambiguous_per_section=2, timing=SHORT
)  # films 0 and 1: topic pairs (water, desert) and (water, city)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    out = tmp_path_factory.mktemp("synthetic")
    return out, make_translation_set(out, TINY_VIDEO)


def _name_free(text: str, names: list[str]) -> str:
    for n in names:
        text = text.replace(n, "{n}")
    return text


# ----------------------------------------------------------------------------------- text


def test_text_is_deterministic_and_seeded(tmp_path: Path) -> None:
    a = make_translation_set(tmp_path / "a", TEXT_ONLY)
    b = make_translation_set(tmp_path / "b", TEXT_ONLY)
    assert a == b
    for name in ["truth.json", "splits.json", "doc000.en.srt", "doc007.zh.srt"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = plan_film(0, TranslationSetOptions(seed=4, video=False))[0]
    assert [c.en for c in other.cues] != [c.en for c in a[0].cues]
    assert not list((tmp_path / "a").glob("*.mp4"))  # video=False writes no video


def test_every_template_appears_under_each_sense_equally_often() -> None:
    for films in (range(8), range(8, 16)):  # any whole number of topic-pair cycles
        counts: Counter[tuple[str, str]] = Counter()
        for i in films:
            film = plan_film(i, TEXT_ONLY)[0]
            per_film: Counter[tuple[str, str]] = Counter()
            for c in film.cues:
                if c.kind == "ambiguous":
                    per_film[(c.template, c.expected)] += 1
            # within a film, each chosen template occurs once per sense
            templates = {t for t, _ in per_film}
            assert per_film and all(v == 1 for v in per_film.values()), per_film
            assert len(per_film) == 2 * len(templates)
            counts += per_film
        by_template: dict[str, list[int]] = {}
        for (t, _), v in counts.items():
            by_template.setdefault(t, []).append(v)
        assert all(len(v) == 2 and v[0] == v[1] for v in by_template.values()), by_template


def test_ambiguous_sentences_are_identical_across_topics() -> None:
    texts: dict[str, set[str]] = {}
    senses: dict[str, set[str]] = {}
    for i in range(8):
        film = plan_film(i, TEXT_ONLY)[0]
        names = [n for pair in film.names for n in pair]
        for c in film.cues:
            if c.kind != "ambiguous":
                continue
            texts.setdefault(c.template, set()).add(_name_free(c.en, names))
            senses.setdefault(c.template, set()).add(c.topic)
            assert c.shot == "neutral"
            assert re.search(rf"\b{c.word}\b", c.en), c.en
            assert c.expected in c.zh and not any(w in c.zh for w in c.wrong), c.zh
    assert len(texts) >= 6
    for template, variants in texts.items():
        assert len(variants) == 1, (template, variants)  # same English whatever the topic
        assert len(senses[template]) == 2, template


def test_lexicon_is_consistent() -> None:
    words = {w.word for w in AMBIGUOUS_WORDS}
    assert 4 <= len(AMBIGUOUS_WORDS) <= 8
    for w in AMBIGUOUS_WORDS:
        assert set(w.topics) <= set(TOPICS) and len(set(w.senses.values())) == 2
        a, b = w.senses.values()
        assert a not in b and b not in a  # the scorer's substring test stays unambiguous
    for topic, lines in REVEALING.items():
        assert len(lines) >= 8, topic
        for en, zh in lines:  # revealing lines never contain an ambiguous word
            assert "{n}" in en and "{n}" in zh
            assert not words & set(re.findall(r"[a-z]+", en.lower())), en


def test_section_structure() -> None:
    film = plan_film(2, TEXT_ONLY)[0]
    kinds = Counter(c.kind for c in film.cues)
    assert kinds["ambiguous"] == 6 and kinds["revealing"] >= 6 and kinds["filler"] >= 1
    for c in film.cues:
        assert c.topic == film.topics[c.section]
        assert (c.shot == c.topic) == (c.kind == "revealing")
        if c.kind != "filler":
            assert film.names[c.section][0] in c.en and film.names[c.section][1] in c.zh
    sections = [c.section for c in film.cues]
    assert sections == sorted(sections)  # two contiguous sections
    crosscut = plan_film(2, TranslationSetOptions(seed=3, video=False, blocks=3))[0]
    assert sorted(crosscut.cues, key=lambda c: c.section) != list(crosscut.cues)
    runs = 1 + sum(a.section != b.section for a, b in pairwise(crosscut.cues))
    assert runs == 6  # A B A B A B
    assert Counter(c.en for c in crosscut.cues) == Counter(c.en for c in film.cues)


def test_invalid_options_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cues per film"):
        plan_film(0, TranslationSetOptions(cues=(6, 8)))
    with pytest.raises(InputError, match="at least 1"):
        make_translation_set(tmp_path, TranslationSetOptions(films=0, video=False))


# -------------------------------------------------------------------------------- scoring


def test_ambiguous_scorer() -> None:
    assert ambiguous_correct("到了夏末，它已经干涸了。", "干涸", ["干燥"])
    assert not ambiguous_correct("到了夏末，它已经干燥了。", "干涸", ["干燥"])
    assert not ambiguous_correct("干涸还是干燥？", "干涸", ["干燥"])  # hedging is wrong
    films = [plan_film(i, TEXT_ONLY)[0] for i in range(4)]
    refs = [c.zh for f in films for c in f.cues]
    assert ambiguous_accuracy(refs, films) == 1.0
    # a text-only system that always picks the first sense is exactly at chance
    first_sense = {w.word: next(iter(w.senses.values())) for w in AMBIGUOUS_WORDS}
    first = [
        c.zh.replace(c.expected, first_sense[c.word]) if c.kind == "ambiguous" else c.zh
        for f in films
        for c in f.cues
    ]
    scores = ambiguous_scores(first, [f.to_json() for f in films])
    assert scores["accuracy"] == 0.5 and scores["count"] == 24
    assert set(scores["per_word"].values()) == {0.5}
    with pytest.raises(InputError, match="counts must match"):
        ambiguous_accuracy(refs[:-1], films)


# ----------------------------------------------------------------------- files and video


def test_subtitle_files_and_timing(tiny_set: tuple[Path, list]) -> None:
    out, films = tiny_set
    truth = load_truth(out)
    assert [f["id"] for f in truth] == ["doc000", "doc001"]
    for film in films:
        en = read_subtitles(out / f"{film.id}.en.srt")
        zh = read_subtitles(out / f"{film.id}.zh.srt")
        assert not en.warnings and not zh.warnings
        assert [c.text for c in en.cues] == [c.en for c in film.cues]
        assert [c.text for c in zh.cues] == [c.zh for c in film.cues]
        assert [(c.start_ms, c.end_ms) for c in en.cues] == [
            (c.start_ms, c.end_ms) for c in zh.cues
        ]
        prev_end = 0
        for c in en.cues:
            assert 1000 <= c.end_ms - c.start_ms <= 1500 and c.start_ms % 100 == 0
            assert c.start_ms - prev_end >= 100  # a gap, never an overlap
            prev_end = c.end_ms
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
             "stream=width,height,nb_read_frames", "-of", "json", str(out / f"{film.id}.mp4")],
            capture_output=True, check=True, text=True,
        )  # fmt: skip
        stream = json.loads(probe.stdout)["streams"][0]
        assert (stream["width"], stream["height"]) == (160, 120)
        assert int(stream["nb_read_frames"]) == (prev_end + SHORT.tail_ms) // 100
    docs = read_manifest(out / "manifest.jsonl")
    assert [d.id for d in docs] == ["doc000", "doc001"] and docs[0].split == films[0].split
    assert all(d.video is not None and d.video.is_file() for d in docs)
    assert [c.target for c in docs[1].cues] == [c.zh for c in films[1].cues]
    assert docs[1].cues[0].start == films[1].cues[0].start_ms / 1000
    splits = json.loads((out / "splits.json").read_text())
    assert sorted(sum(splits.values(), [])) == ["doc000", "doc001"]


def _cue_frames(video: Path, times_ms: list[int]) -> np.ndarray:
    """Decode the frame at each time → ``(N, 120, 160, 3)`` uint8 RGB."""
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    frames = np.frombuffer(proc.stdout, np.uint8).reshape(-1, 120, 160, 3)
    return frames[[t // 100 for t in times_ms]]


def test_neutral_shots_are_topic_free_and_revealing_shots_differ(
    tiny_set: tuple[Path, list],
) -> None:
    out, films = tiny_set
    means: dict[str, list[np.ndarray]] = {}
    stds: dict[str, list[float]] = {}
    for film in films:
        mids = [(c.start_ms + c.end_ms) // 2 // 100 * 100 for c in film.cues]
        frames = _cue_frames(out / f"{film.id}.mp4", mids).astype(np.float32)
        for c, f in zip(film.cues, frames, strict=True):
            key = c.shot if c.shot != "neutral" else f"neutral/{c.topic}"
            means.setdefault(key, []).append(f.mean(axis=(0, 1)))
            stds.setdefault(key, []).append(float(f.mean(axis=2).std()))
    neutral = [k for k in means if k.startswith("neutral/")]
    assert {"neutral/water", "neutral/desert", "neutral/city"} <= set(neutral)
    for k in neutral:  # grey, flat, in the same range whatever the section's topic
        m = np.stack(means[k])
        assert np.all(np.ptp(m, axis=1) < 8), (k, m)
        assert np.all((m > 85) & (m < 170)), (k, m)
        assert max(stds[k]) < 8, (k, stds[k])
    topics = {k: np.stack(v).mean(axis=0) for k, v in means.items() if k in TOPICS}
    assert set(topics) == {"water", "desert", "city"}
    keys = sorted(topics)
    for i, a in enumerate(keys):
        assert min(stds[a]) > 12, (a, stds[a])  # textured
        assert np.ptp(topics[a]) > 40, (a, topics[a])  # coloured, unlike the grey neutral shots
        for b in keys[i + 1 :]:
            assert np.abs(topics[a] - topics[b]).max() > 60, (a, b, topics[a], topics[b])


def test_script_writes_a_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_synthetic", ROOT / "scripts/make_synthetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["translation", str(tmp_path / "t"), "--films", "2", "--no-video"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["films"] == 2 and report["ambiguous_cues"] == 12
    assert (tmp_path / "t" / "doc001.zh.srt").is_file()


# -------------------------------------------------------------------------- summarization


def test_summarization_set(tmp_path: Path) -> None:
    options = SummarizationSetOptions(films=8, seed=1, video=False)
    films = make_summarization_set(tmp_path, options)
    assert films == make_summarization_set(tmp_path / "again", options)
    assert Counter(f.topic for f in films) == Counter({t: 2 for t in TOPICS})
    function_words = {"the", "and", "at", "on", "under", "old", "main"}
    topic_words = {w for ws in TOPIC_WORDS.values() for x in ws for w in x.split()} - function_words
    for f in films:
        en = f.transcript["en"].lower()
        assert not topic_words & set(re.findall(r"[a-z]+", en)), en  # hides the topic
        assert TOPIC_WORDS[f.topic][0] in f.summary and f.name[0] in f.summary
        assert f.name[1] in f.transcript["zh"] and f.name[0] in f.transcript["en"]
        assert (tmp_path / f"{f.id}.en.summary.txt").read_text().strip() == f.summary
        zh = read_subtitles(tmp_path / f"{f.id}.zh.srt")
        assert "".join(c.text for c in zh.cues) == f.transcript["zh"]
        assert sum(c["shot"] == f.topic for c in f.cues) == round(len(f.cues) / 2)
    how2 = tmp_path / "how2"
    for split in ("pretrain", "train", "val", "test"):
        rows = [
            (how2 / f"{split}{s}").read_text().splitlines()
            for s in ("_action.txt", "_art_zh.txt", "_art_en.txt", "_sum.txt")
        ]
        assert len({len(r) for r in rows}) == 1, split
    assert (how2 / "pretrain_action.txt").read_text() == (how2 / "train_action.txt").read_text()
    assert plan_summary_film(3, options)[0] == films[3]


# ------------------------------------------------------------------------------ retrieval


@pytest.mark.slow
def test_retrieval_brings_revealing_cues_to_ambiguous_ones() -> None:
    from vloc.encoders import load_encoder
    from vloc.index.context import retrieve

    encoder = load_encoder("all-MiniLM-L6-v2")  # what the synthetic films were written for
    hits = total = 0
    for i in range(8):
        film = plan_film(i, TEXT_ONLY)[0]
        ids, _ = retrieve(encoder.encode([c.en for c in film.cues]), p=10)
        for c in film.cues:
            if c.kind == "ambiguous":
                top = [film.cues[j] for j in ids[c.index - 1]]
                right = sum(t.kind == "revealing" and t.topic == c.topic for t in top)
                hits += right >= 3
                total += 1
    assert total == 48
    assert hits / total >= 0.9, f"{hits}/{total} ambiguous cues retrieve >= 3 revealing cues"


def test_render_options_are_checked() -> None:
    r = RenderOptions()
    assert (r.width, r.height, r.fps) == (160, 120, 10)
    with pytest.raises(InputError, match="multiple of 10"):
        RenderOptions(fps=25)
    with pytest.raises(InputError, match="even"):
        RenderOptions(width=161)
    with pytest.raises(InputError, match="sum to 1"):
        TranslationSetOptions(split_shares=(0.5, 0.1, 0.1))
