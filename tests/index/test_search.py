"""vloc search: one query over many indexes, merged by score."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_subtitles import FILMS, write_srt
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.cli.search import timestamp
from vloc.errors import InputError
from vloc.index import build_index, find_indexes
from vloc.search import IndexSet, search


@pytest.fixture
def archive(tmp_path: Path, tiny_model: Path) -> Path:
    """Three films indexed into one workdir ``archive/``."""
    for name, texts in FILMS.items():
        video = tmp_path / name
        video.write_bytes(b"video bytes are not decoded by the index " + name.encode())
        subs = write_srt(tmp_path / f"{name}.en.srt", texts, step_ms=61_000)
        build_index(video, subs, encoder=tiny_model, workdir=tmp_path / "archive")
    return tmp_path / "archive"


def _brute_force(archive: Path, query_vec: np.ndarray, k: int) -> list[tuple[str, int, float]]:
    from vloc.index import load_index

    rows = []
    for folder in find_indexes(archive):
        ix = load_index(folder)
        for pos, s in enumerate(ix.embeddings() @ query_vec):
            rows.append((ix.video, pos, float(s)))
    return sorted(rows, key=lambda r: -r[2])[:k]


def test_search_merges_all_films_by_score(archive, tiny_model):
    from vloc.encoders import load_encoder

    enc = load_encoder(tiny_model)
    query = "ice melting in spring"
    res = search(query, [archive], top_k=5)
    assert res.indexes == 3 and res.cues == 9 and len(res.hits) == 5
    want = _brute_force(archive, enc.encode([query])[0], 5)
    assert [(h.video, h.position) for h in res.hits] == [(v, p) for v, p, _ in want]
    np.testing.assert_allclose([h.score for h in res.hits], [s for *_, s in want], atol=1e-5)
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    top = res.hits[0]
    texts = FILMS[top.video]
    assert top.text == texts[top.position] and top.cue == top.position + 1
    assert top.start_ms == top.position * 61_000 and top.end_ms == top.start_ms + 60_900


def test_exact_text_is_the_best_hit_and_top_k_beyond_total(archive):
    res = search("The market crashed and the factories closed.", [archive], top_k=50)
    assert (res.hits[0].video, res.hits[0].position) == ("money.mp4", 1)
    assert res.hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert len(res.hits) == 9


def test_heap_merge_equals_one_exact_ranking_over_all_films(archive, tiny_model):
    """Per-index top-k lists heap-merged = ranking every cue of every film at once, for k
    below, at and beyond one film's size and beyond the total."""
    from vloc.encoders import load_encoder

    ixs = IndexSet.load([archive])
    q = load_encoder(tiny_model).encode(["water", "glacier", "bankers crashed"])  # (3, D)
    every = [(m, p, v) for m, ix in enumerate(ixs.indexes) for p, v in enumerate(ix.embeddings())]
    for k in (1, 3, 4, 20):
        for qi, got in enumerate(ixs.search(q, k)):
            want = sorted(((float(v @ q[qi]), m, p) for m, p, v in every), key=lambda h: -h[0])
            want = want[: min(k, len(every))]
            assert [(m, p) for _, m, p in got] == [(m, p) for _, m, p in want]
            np.testing.assert_allclose([s for s, *_ in got], [s for s, *_ in want], atol=1e-6)


def test_paths_may_be_index_workspace_or_parent(archive):
    folders = find_indexes(archive)
    assert len(folders) == 3
    ws = archive / "ice.mkv.vloc"
    assert find_indexes(ws) == [ws / "index" / "ice.mkv.en.srt"]
    assert find_indexes(folders[0]) == [folders[0]]
    assert find_indexes(folders[0] / "manifest.json") == [folders[0]]
    res = search("glacier", [ws, folders[0], archive], top_k=20)  # duplicates counted once
    assert res.indexes == 3 and res.cues == 9
    (archive.parent / "empty").mkdir()
    with pytest.raises(InputError, match="no vloc subtitle index found"):
        find_indexes(archive.parent / "empty")
    with pytest.raises(InputError, match="no such file"):
        search("x", [archive / "missing"])


def test_indexes_from_different_encoders_are_refused(archive, tmp_path, tiny_model_b):
    video = tmp_path / "other.mp4"
    video.write_bytes(b"other")
    subs = write_srt(tmp_path / "other.srt", ["Something else entirely."])
    build_index(video, subs, encoder=tiny_model_b, workdir=archive)
    with pytest.raises(InputError, match="different encoders") as e:
        search("glacier", [archive])
    assert str(tiny_model_b) in str(e.value)


def test_query_encoder_must_match(archive, tiny_model, tiny_model_b):
    assert search("glacier", [archive], encoder=tiny_model).hits
    with pytest.raises(InputError, match="built with encoder") as e:
        search("glacier", [archive], encoder=tiny_model_b)
    assert str(tiny_model) in str(e.value) and str(tiny_model_b) in str(e.value)


def test_bad_queries():
    with pytest.raises(InputError, match="empty"):
        search("  ", ["."])
    with pytest.raises(InputError, match="top-k"):
        search("x", ["."], top_k=0)


def test_timestamp_format():
    assert timestamp(0) == "00:00:00.000"
    assert timestamp(3_723_045) == "01:02:03.045"
    assert timestamp(100 * 3_600_000) == "100:00:00.000"


def test_cli_search_table_and_json(archive):
    runner = CliRunner()
    r = runner.invoke(app, ["search", "glacier ice", "--index", str(archive), "-k", "3"])
    assert r.exit_code == 0, r.stderr
    assert "ice.mkv" in r.stdout and "score" in r.stdout and " – 00:0" in r.stdout
    r = runner.invoke(
        app, ["search", "glacier ice", "--index", str(archive), "--top-k", "4", "--json"]
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert r.stdout.strip().count("\n") == 0
    assert out["ok"] and out["indexes"] == 3 and len(out["hits"]) == 4
    h = out["hits"][0]
    assert set(h) >= {"video", "start", "end", "text", "score", "cue"}
    assert h["start"] == timestamp(h["start_ms"])
    # --index A B: extra positional paths are more indexes
    ws = [str(archive / f"{n}.vloc") for n in FILMS]
    r = runner.invoke(app, ["search", "money", "--index", ws[0], ws[1], ws[2], "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["indexes"] == 3


def test_cli_search_errors(archive, tmp_path, tiny_model_b):
    runner = CliRunner()
    r = runner.invoke(app, ["search", "x"])
    assert r.exit_code == 2 and "--index" in r.stderr
    r = runner.invoke(app, ["search", "x", "--index", str(tmp_path / "nothing"), "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["ok"] is False
    r = runner.invoke(app, ["search", "x", "--index", str(archive), "--encoder", str(tiny_model_b)])
    assert r.exit_code == 1 and "built with encoder" in r.stderr and r.stdout == ""
