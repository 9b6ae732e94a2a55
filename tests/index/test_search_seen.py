"""Search by what is seen: vloc train align, vloc index --align, vloc search --by, end to end on
real ffmpeg-rendered synthetic films, plus the benchmark in miniature."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tiny_models import build_tiny_clip, build_tiny_sentence_model
from typer.testing import CliRunner

from vloc.align.data import write_manifest
from vloc.cli.app import app
from vloc.features import extract_features
from vloc.synthetic.retrieval import (
    RetrievalSetOptions,
    make_retrieval_set,
    scene_words_in,
    training_descriptions,
)
from vloc.synthetic.retrieval_benchmark import SeenBenchSettings, feature_options, run_benchmark

runner = CliRunner()
pytestmark = pytest.mark.slow  # renders and extracts real films: ~30 s of setup on 2 busy cores


def vloc(*args: str) -> tuple[int, str]:
    """(exit code, stdout and stderr together)."""
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.output


def jvloc(*args: str) -> tuple[int, dict]:
    """(exit code, the JSON object on stdout) of a --json run."""
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.exit_code, json.loads(r.stdout)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Four small films (two to train on, two to search), their features, a training
    manifest and two align models trained with a tiny local sentence encoder."""
    root = tmp_path_factory.mktemp("seen")
    enc = build_tiny_sentence_model(root / "encoder")
    films = make_retrieval_set(
        root / "set", RetrievalSetOptions(train_films=2, test_films=2, cues=(4, 5), seed=1)
    )
    fo = feature_options(SeenBenchSettings())
    feats = {}
    for f in films:
        r = extract_features(
            root / "set" / f"{f.id}.mp4", subs=root / "set" / f"{f.id}.en.srt", options=fo,
            workdir=root / "ws", warn=lambda _m: None,
        )  # fmt: skip
        feats[f.id] = r.outputs["cues"]
    train = [f for f in films if f.split == "train"]
    rows = [
        {"features": str(feats[f.id]), "start_ms": f.spans[k][0], "end_ms": f.spans[k][1],
         "description_en": en, "description_zh": zh}
        for f, k, en, zh in training_descriptions(train, 2)
    ]  # fmt: skip
    manifest = write_manifest(root / "moments.jsonl", rows)
    models = []
    for seed in (0, 1):
        code, out = vloc(
            "train", "align", "--data", manifest, "--out", root / f"align{seed}",
            "--config", "steps=20", "--config", f"encoder={enc}", "--config", "hidden=16",
            "--seed", seed, "--json",
        )  # fmt: skip
        assert code == 0, out
        models.append(root / f"align{seed}")
    return {"root": root, "films": films, "encoder": enc, "models": models}


def _index(world: dict, film: str, workdir: Path, *extra: str) -> dict:
    s = world["root"] / "set"
    return jvloc(
        "index", s / f"{film}.mp4", s / f"{film}.en.srt", "--encoder", world["encoder"],
        "--workdir", workdir, "--json", *extra,
    )[1]  # fmt: skip


def test_subtitles_never_name_what_is_seen(world):
    for f in world["films"]:
        for line in f.lines:
            assert scene_words_in(line) == [], line


def test_index_align_then_search_by_seen_said_both(world, tmp_path):
    test = [f.id for f in world["films"] if f.split == "test"]
    for film in test:
        rec = _index(world, film, tmp_path, "--align", world["models"][0])
        assert rec["clips"]["count"] == rec["cues"] and rec["clips"]["kind"] == "cues"
    again = _index(world, test[0], tmp_path, "--align", world["models"][0])
    assert again["cached"] is True
    results = {}
    for by in ("said", "seen", "both"):
        _, results[by] = jvloc(
            "search", "a river at night", "--index", tmp_path, "--by", by, "--json"
        )
        assert results[by]["by"] == by
        hits = results[by]["hits"]
        assert hits and all(h["source"] == by for h in hits)
        assert {"video", "cue", "start_ms", "end_ms", "text", "score", "index"} <= set(hits[0])
    assert results["said"]["align"] is None and results["seen"]["align"] == "align0"
    assert all("said_rank" in h and "seen_rank" in h for h in results["both"]["hits"])
    # said is today's subtitle search: same hits as without --by
    _, plain = jvloc("search", "a river at night", "--index", tmp_path, "--json")
    assert [h["cue"] for h in plain["hits"]] == [h["cue"] for h in results["said"]["hits"]]


def test_both_centres_are_the_mean_cosine_over_every_item(world, tmp_path):
    from vloc.encoders import load_encoder
    from vloc.search import IndexSet, Searcher, fuse

    test = [f.id for f in world["films"] if f.split == "test"]
    for film in test:
        _index(world, film, tmp_path, "--align", world["models"][0])
    indexes = IndexSet.load([tmp_path])
    searcher = Searcher(indexes, by="both", encoder=load_encoder(str(world["encoder"])))
    lists = searcher.rankings("a river at night", indexes.size)
    for name, r in lists.items():
        cosines = [c for c, _, _ in r.rows]
        assert len(cosines) == indexes.size, name  # one clip per cue: every item ranked
        assert r.centre == pytest.approx(sum(cosines) / len(cosines), abs=1e-5), name
    hits = searcher.ranked("a river at night", 3)
    want = fuse(
        {n: [(c, k) for c, k, _ in r.rows] for n, r in lists.items()},
        {n: r.centre for n, r in lists.items()},
        3,
    )
    assert [(h.score, h.said_rank, h.seen_rank) for h in hits] == [
        (s, ranks.get("said"), ranks.get("seen")) for s, _, ranks in want
    ]


def test_by_seen_errors(world, tmp_path):
    test = [f.id for f in world["films"] if f.split == "test"]
    plain, mixed = tmp_path / "plain", tmp_path / "mixed"
    _index(world, test[0], plain)
    code, out = vloc("search", "a forest", "--index", plain, "--by", "seen")
    assert code == 1 and out.count("\n") == 1 and "has no clip embeddings" in out, out
    assert "--align" in out
    _index(world, test[0], mixed, "--align", world["models"][0])
    _index(world, test[1], mixed, "--align", world["models"][1])
    code, out = vloc("search", "a forest", "--index", mixed, "--by", "both")
    assert code == 1 and "different align models" in out, out
    clip = build_tiny_clip(tmp_path / "tiny-clip")  # a CLIP index beside an align-model one
    _index(world, test[1], tmp_path / "with-clip", "--align", f"clip:{clip}")
    code, out = vloc("search", "a forest", "--index", plain, "--index", tmp_path / "with-clip",
                     "--by", "seen")  # fmt: skip
    assert code == 1 and "has no clip embeddings" in out, out
    _index(world, test[0], tmp_path / "with-align", "--align", world["models"][0])
    code, out = vloc("search", "a forest", "--index", tmp_path / "with-align", "--index",
                     tmp_path / "with-clip", "--by", "seen")  # fmt: skip
    assert code == 1 and out.count("\n") == 1 and "different align models" in out, out
    assert "clip:" in out and "align0" in out
    code, out = vloc("search", "a forest", "--index", plain, "--by", "sideways")
    assert code == 2 and "--by must be one of said, seen, both" in out


def test_moved_align_model_is_named_and_can_be_given(world, tmp_path):
    test = [f.id for f in world["films"] if f.split == "test"]
    model = tmp_path / "model"
    shutil.copytree(world["models"][0], model)
    _index(world, test[0], tmp_path / "ws", "--align", model)
    moved = tmp_path / "moved"
    model.rename(moved)
    code, out = vloc("search", "a forest", "--index", tmp_path / "ws", "--by", "seen")
    assert code == 1 and "no longer at" in out and "--align" in out, out
    code, out = vloc("search", "a forest", "--index", tmp_path / "ws", "--by", "seen",
                     "--align", moved)  # fmt: skip
    assert code == 0, out
    code, out = vloc("search", "a forest", "--index", tmp_path / "ws", "--by", "seen",
                     "--align", world["models"][1])  # fmt: skip
    assert code == 1 and "query with the same model" in out, out
    code, out = vloc("index", "x.mp4", "y.srt", "--align", tmp_path / "none")
    assert code == 1 and out.count("\n") == 1


def test_benchmark_in_miniature_seen_beats_said(tmp_path):
    s = SeenBenchSettings(
        train_films=12, test_films=4, val_films=2, cues=(8, 10), steps=300, variants=("en+zh",)
    )
    r = run_benchmark(tmp_path / "bench", s, log=lambda _m: None)
    main = r["scores"]["en+zh"]
    for lang in ("en", "zh"):
        assert main["seen"][lang]["R@5"] >= main["said"][lang]["R@5"] + 0.3, r["scores"]
        assert main["seen"][lang]["mean_rank"] < main["said"][lang]["mean_rank"]
        # the fusion follows the informative ranking: seen for scenes, said for quoted lines
        assert main["both"][lang]["R@5"] >= main["seen"][lang]["R@5"] - 0.1, r["scores"]
        lines = r["lines"]
        assert lines["both"][lang]["R@5"] >= lines["said"][lang]["R@5"] - 0.1, lines
        assert lines["said"][lang]["R@5"] >= lines["seen"][lang]["R@5"] + 0.3, lines
    assert {"scenes", "lines"} <= set(r["validation"])
    assert (tmp_path / "bench" / "results.md").is_file()
