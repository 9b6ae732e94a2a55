"""Every file a command reads is an input that no output may replace (:mod:`vloc.guard`).

Each case names an output the user gave that is — or lies inside — something the run reads
(a file a manifest names, a model folder chosen by default, a side input, the engine settings,
the workspace, another batch row's subtitles): refused with one line and exit 1, before any
work, the file untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from cli_checks import one_error_line
from scripted_server import ScriptedServer
from tiny_films import make_video
from tiny_subtitles import TWO_CUES_SRT as SRT
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError
from vloc.guard import declare_area, declare_inputs, declare_output, note_read, run_guard

ROOT = Path(__file__).resolve().parents[2]


def _translate(video: Path, subs: Path, *flags: str):
    """``vloc translate VIDEO SUBS --to zh FLAGS...`` through the CLI."""
    return CliRunner().invoke(app, ["translate", str(video), str(subs), "--to", "zh", *flags])


def _snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


# ---------------------------------------------------------------- the mechanism
def test_inputs_and_outputs_are_checked_whichever_comes_first(tmp_path):
    a, b = tmp_path / "a.srt", tmp_path / "b.srt"
    a.write_text(SRT)
    b.write_text(SRT)
    with run_guard():
        declare_output(a, "output")
        with pytest.raises(InputError, match="would overwrite the input .*a.srt"):
            note_read(a, "subtitles")  # discovered after the output was named
    with run_guard():
        declare_inputs([b], "glossary")
        with pytest.raises(InputError, match=r"would overwrite the input .*b.srt \(glossary\)"):
            declare_output(b)
    with run_guard():  # a folder stands for everything below it, even files not there yet
        declare_area(tmp_path / "film.mp4.vloc", "the workspace of film.mp4")
        with pytest.raises(InputError, match="lies inside .*the workspace of film.mp4"):
            declare_output(tmp_path / "film.mp4.vloc" / "features" / "x.safetensors")
        declare_output(tmp_path / "film.zh.srt")  # beside it: fine
    note_read(a)  # outside a run: nothing to check against
    declare_output(a)


# ---------------------------------------------------------------- eval translate --table
def _eval_manifest(tmp_path: Path, video: Path) -> tuple[Path, Path, Path]:
    feats = tmp_path / "feats" / "doc.safetensors"
    feats.parent.mkdir()
    feats.write_bytes(b"features")
    meta = feats.with_suffix(".json")
    meta.write_text("{}")
    manifest = tmp_path / "manifest.jsonl"
    record = {
        "id": "doc", "source_lang": "en", "target_lang": "zh", "split": "test",
        "features": "feats/doc.safetensors", "video": video.name,
        "cues": [{"index": 1, "start": 0.0, "end": 1.0, "source": "The lions rest.",
                  "target": "狮子在休息"}],
    }  # fmt: skip
    manifest.write_text(json.dumps(record) + "\n")
    return manifest, feats, meta


@pytest.mark.parametrize("target", ["features", "features json", "video", "model config"])
@pytest.mark.parametrize("engine", ["vloc", "openai"])
def test_eval_table_may_not_be_a_file_the_manifest_or_the_model_names(film, target, engine):
    tmp = film["dir"]
    manifest, feats, meta = _eval_manifest(tmp, film["video"])
    model = tmp / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    table = {"features": feats, "features json": meta, "video": film["video"]}.get(
        target, model / "config.json"
    )
    if engine == "openai" and target == "model config":
        pytest.skip("an engine's model is a server's model id")
    before = _snapshot(feats, meta, film["video"], model / "config.json", manifest)
    argv = ["eval", "translate", "--model", str(model), "--data", str(manifest)]
    t0 = time.perf_counter()
    if engine == "openai":
        with ScriptedServer() as srv:
            res = CliRunner().invoke(
                app, [*argv, "--engine", "openai", "--base-url", srv.url, "--table", str(table)]
            )
            assert srv.requests == []  # refused before any request
    else:
        res = CliRunner().invoke(app, [*argv, "--table", str(table)])
    line = one_error_line(res, "--table file", table.name)
    assert ("lies inside" if target == "model config" else "would overwrite the input") in line
    assert time.perf_counter() - t0 < 30
    assert _snapshot(feats, meta, film["video"], model / "config.json", manifest) == before


# ---------------------------------------------------------------- batch: rows feed each other
@pytest.mark.parametrize("order", ["producer first", "consumer first"])
def test_a_batch_row_may_not_write_over_another_rows_subtitles(tmp_path, order):
    a = make_video(tmp_path / "a.mp4", seconds=2.0, fps=8, size="64x48")
    b = make_video(tmp_path / "b.mp4", seconds=2.0, fps=8, size="64x48")
    (tmp_path / "a.en.srt").write_text(SRT)
    victim = tmp_path / "a" / "a.zh.srt"  # what row a's translate:zh writes with --out .
    victim.parent.mkdir()
    victim.write_text(SRT)
    rows = [
        {"video": a.name, "subs": "a.en.srt", "name": "a"},
        {"video": b.name, "subs": "a/a.zh.srt", "name": "b"},
    ]
    if order == "consumer first":
        rows.reverse()
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    res = CliRunner().invoke(
        app, ["batch", str(manifest), "--tasks", "translate:zh", "--out", str(tmp_path)]
    )
    one_error_line(res, "a.zh.srt", "output of a (translate:zh)", "would overwrite the input")
    assert victim.read_text() == SRT
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # no work


# ---------------------------------------------------------------- translate's side inputs
def test_translate_may_not_write_over_its_synopsis_file(film):
    syn = film["dir"] / "syn.txt"
    syn.write_text("Lions by a river.")
    res = _translate(film["video"], film["subs"], "--synopsis", f"@{syn}", "-o", str(syn))
    one_error_line(res, "syn.txt", "would overwrite the input")
    assert syn.read_text() == "Lions by a river."


def test_translate_may_not_write_over_the_engine_settings(film):
    config = Path(os.environ["VLOC_HOME"]) / "engines.toml"  # the isolated home of conftest
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[openai]\nbase_url = "http://127.0.0.1:9/v1"\n')
    res = _translate(film["video"], film["subs"], "--format", "srt", "-o", str(config))
    one_error_line(res, "engines.toml", "engine settings")
    assert config.read_text() == '[openai]\nbase_url = "http://127.0.0.1:9/v1"\n'


def test_translate_may_not_write_into_the_films_workspace(film):
    entry = film["dir"] / "film.mp4.vloc" / "features" / "cue-0123.safetensors"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"cached features")
    res = _translate(film["video"], film["subs"], "--format", "srt", "-o", str(entry))
    one_error_line(res, "lies inside", "the workspace of film.mp4")
    assert entry.read_bytes() == b"cached features"


def test_a_default_models_files_are_refused_before_any_work(film):
    home = Path(os.environ["VLOC_HOME"])
    model = home / "models" / "synth-en-zh"  # a copy: found before the repository's
    shutil.copytree(ROOT / "models" / "synth-en-zh", model)
    target = model / "backbone.safetensors"
    before = target.read_bytes()
    demo_subs = film["dir"] / "film.en.srt"
    shutil.copy(ROOT / "examples" / "film.en.srt", demo_subs)  # text the demo covers
    t0 = time.perf_counter()
    res = _translate(film["video"], demo_subs, "--format", "srt", "-o", str(target))
    one_error_line(res, "backbone.safetensors", "model synth-en-zh")
    assert time.perf_counter() - t0 < 10  # before extraction, which takes seconds
    assert not (film["dir"] / "film.mp4.vloc").exists()
    assert target.read_bytes() == before
