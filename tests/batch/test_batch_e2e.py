"""`vloc batch` end to end with the real features and index tasks: resumability after SIGKILL,
byte-identical outputs, the report, CI-friendly logs and the Ray executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_films import make_video
from tiny_models import build_tiny_sentence_model
from typer.testing import CliRunner

from vloc.cli.app import app

VLOC = [sys.executable, "-m", "vloc"]
# x3d_m at 1/16 width on 32 px crops: a few hundred ms per video on one CPU core
TINY_ARGS = (
    "--backbone x3d_m --weights random --seed 0 --width 0.0625 --size 32 --fps 8 --clip-len 8"
).split()
SRT = "1\n00:00:00,000 --> 00:00:01,000\nHello {n}, the lions rest.\n\n2\n00:00:01,000 --> 00:00:02,000\nThe river floods.\n"


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("batch-enc"))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch-src")
    for n in ("alpha", "beta", "gamma"):
        make_video(folder / f"{n}.mp4", seconds=2.0, fps=8, size="64x48")
        (folder / f"{n}.en.srt").write_text(SRT.format(n=n), encoding="utf-8")
    return folder


def batch_args(source: Path, out: Path, encoder: Path) -> list[str]:
    return ["batch", str(source), "--tasks", "features,index", "--out", str(out),
            "--encoder", str(encoder), *TINY_ARGS]  # fmt: skip


def output_files(out: Path) -> dict[str, bytes]:
    """Every output below ``out`` except the report (and workspace lock files), byte for byte."""
    files = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file() or p.name == "report.json" or "locks" in p.relative_to(out).parts:
            continue
        files[str(p.relative_to(out))] = p.read_bytes()
    return files


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    e.pop("VLOC_DEBUG", None)
    return e


@pytest.mark.slow
def test_sigkill_then_rerun_completes_with_identical_outputs(tmp_path, source, encoder):
    ref = tmp_path / "ref"
    done = subprocess.run(VLOC + batch_args(source, ref, encoder), capture_output=True,
                          text=True, env=env(), timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr  # no ANSI codes when not a TTY
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 3 and all(": ok (" in ln for ln in lines), done.stderr
    expected = output_files(ref)
    assert len(expected) == 3 * 5  # per video: features .safetensors + .json, index x3

    out = tmp_path / "killed"
    proc = subprocess.Popen(VLOC + batch_args(source, out, encoder), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env())  # fmt: skip
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("[1/3]"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    report = json.loads((out / "report.json").read_text())
    statuses = sorted(v["status"] for v in report["videos"])
    assert statuses.count("ok") >= 1 and statuses.count("pending") >= 1, statuses
    finished = {v["name"] for v in report["videos"] if v["status"] == "ok"}
    mtimes = {
        p: p.stat().st_mtime_ns for n in finished for p in (out / n).rglob("*") if p.is_file()
    }

    time.sleep(0.05)
    again = subprocess.run(VLOC + batch_args(source, out, encoder) + ["--json"],
                           capture_output=True, text=True, env=env(), timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    rep = json.loads(again.stdout)
    assert rep["ok"] is True
    assert rep["summary"] == {
        "videos": 3, "ok": 3 - len(finished), "skipped": len(finished), "failed": 0
    }  # fmt: skip
    by = {v["name"]: v for v in rep["videos"]}
    for n in finished:  # complete before the re-run: every task found its outputs
        assert by[n]["status"] == "skipped" and by[n]["cached"] == ["features", "index"]
    assert output_files(out) == expected  # byte-identical to the uninterrupted run
    # finished videos were not redone: their files were not rewritten
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_report_and_exit_code_with_one_bad_video(tmp_path, source, encoder):
    src = tmp_path / "src"
    src.mkdir()
    for n in ("alpha", "beta"):
        (src / f"{n}.mp4").write_bytes((source / f"{n}.mp4").read_bytes())
        (src / f"{n}.en.srt").write_bytes((source / f"{n}.en.srt").read_bytes())
    (src / "broken.mp4").write_text("not a video")
    (src / "broken.en.srt").write_text(SRT.format(n="x"))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, batch_args(src, out, encoder) + ["--json"])
    assert res.exit_code == 1, res.output
    rep = json.loads(res.stdout)
    assert rep["ok"] is False and rep["summary"] == {
        "videos": 3,
        "ok": 2,
        "skipped": 0,
        "failed": 1,
    }
    by = {v["name"]: v for v in rep["videos"]}
    assert by["broken"]["status"] == "failed"
    assert by["broken"]["error"].startswith("features:") and "broken.mp4" in by["broken"]["error"]
    assert by["alpha"]["status"] == "ok" and set(by["alpha"]["outputs"]) == {"features", "index"}
    for v in ("alpha", "beta"):
        for rel in by[v]["outputs"]["features"] + by[v]["outputs"]["index"]:
            assert (out / rel).is_file() and rel.startswith(f"{v}/")
    assert json.loads((out / "report.json").read_text())["summary"] == rep["summary"]
    # nothing written beside the inputs
    assert sorted(p.name for p in src.iterdir()) == sorted(
        ["alpha.mp4", "alpha.en.srt", "beta.mp4", "beta.en.srt", "broken.mp4", "broken.en.srt"]
    )


def test_task_needing_subtitles_fails_only_that_video(tmp_path, source, encoder):
    src = tmp_path / "src"
    src.mkdir()
    (src / "alpha.mp4").write_bytes((source / "alpha.mp4").read_bytes())
    (src / "alpha.en.srt").write_bytes((source / "alpha.en.srt").read_bytes())
    (src / "nosubs.mp4").write_bytes((source / "beta.mp4").read_bytes())
    res = CliRunner().invoke(
        app,
        [
            "batch",
            str(src),
            "--tasks",
            "index",
            "--out",
            str(tmp_path / "o"),
            "--encoder",
            str(encoder),
            "--json",
        ],  # fmt: skip
    )
    assert res.exit_code == 1
    by = {v["name"]: v for v in json.loads(res.stdout)["videos"]}
    assert by["alpha"]["status"] == "ok"
    assert "needs subtitles" in by["nosubs"]["error"] and "nosubs.mp4" in by["nosubs"]["error"]


def test_three_videos_with_colliding_names_get_three_folders(tmp_path, encoder):
    """``film.mp4``, ``film.mkv`` and ``film-2.mp4``: two stems are ``film`` and one name is
    already ``film-2``; every video still gets its own folder, its own outputs and its own
    report row, and a re-run finds each of them complete under the same name."""
    src = tmp_path / "src"
    src.mkdir()
    make_video(src / "film.mp4", seconds=2.0, fps=8, size="64x48", source="testsrc2")
    make_video(src / "film.mkv", seconds=2.0, fps=8, size="64x48", source="mandelbrot")
    make_video(src / "film-2.mp4", seconds=2.0, fps=8, size="64x48", source="rgbtestsrc")
    (src / "film.en.srt").write_text(SRT.format(n="film"), encoding="utf-8")
    (src / "film-2.en.srt").write_text(SRT.format(n="film-2"), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, batch_args(src, out, encoder) + ["--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["summary"] == {"videos": 3, "ok": 3, "skipped": 0, "failed": 0}
    assert len(rep["videos"]) == 3
    assert {Path(v["video"]).name: v["name"] for v in rep["videos"]} == {
        "film-2.mp4": "film-2",
        "film.mkv": "film",
        "film.mp4": "film-3",
    }
    assert sorted(p.name for p in out.iterdir()) == ["film", "film-2", "film-3", "report.json"]
    features = {}
    for v in rep["videos"]:
        for rel in v["outputs"]["features"] + v["outputs"]["index"]:
            assert rel.startswith(v["name"] + "/") and (out / rel).is_file(), rel
        (tensors,) = [r for r in v["outputs"]["features"] if r.endswith(".safetensors")]
        features[v["name"]] = (out / tensors).read_bytes()
    assert len(set(features.values())) == 3, "three videos, three different feature files"
    assert json.loads((out / "report.json").read_text())["videos"] == rep["videos"]

    files = output_files(out)
    again = CliRunner().invoke(app, batch_args(src, out, encoder) + ["--json"])
    assert again.exit_code == 0, again.output
    rep2 = json.loads(again.stdout)
    assert rep2["summary"] == {"videos": 3, "ok": 0, "skipped": 3, "failed": 0}
    assert [(v["name"], v["video"]) for v in rep2["videos"]] == [
        (v["name"], v["video"]) for v in rep["videos"]
    ]
    assert output_files(out) == files


def test_a_video_named_like_the_report_does_not_replace_it(tmp_path, source):
    """The report is OUT/report.json; ``report.json.mp4`` would be the folder OUT/report.json
    and ``report.mp4`` the folder OUT/report: the first is renamed, the second is fine."""
    src = tmp_path / "src"
    src.mkdir()
    for n in ("report.json", "report"):
        (src / f"{n}.mp4").write_bytes((source / "alpha.mp4").read_bytes())
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["batch", str(src), "--tasks", "features", "--out", str(out),
                                   "--json", *TINY_ARGS])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (out / "report.json").is_file()
    rep = json.loads((out / "report.json").read_text())
    assert sorted(v["name"] for v in rep["videos"]) == ["report", "report.json-2"]
    assert sorted(p.name for p in out.iterdir()) == ["report", "report.json", "report.json-2"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tasks", "features,bogus"], "unknown task 'bogus'"),
        (["--tasks", "translate"], "needs a target language"),
        (["--tasks", "features", "--executor", "spark"], "unknown --executor"),
        (["--tasks", "features", "--weights", "random"], "needs --seed"),
        (["--tasks", "features", "--workers", "0"], "--workers must be >= 1"),
        (
            ["--tasks", "features", "--backbone-path", "bogus"],
            "unknown backbone path 'bogus'; valid paths: auto, eager, jit, compile",
        ),
        (
            ["--tasks", "features", "--compile", "--backbone-path", "jit"],
            "--compile contradicts --backbone-path jit",
        ),
    ],
)
def test_usage_errors_are_one_line(tmp_path, source, args, message):
    res = CliRunner().invoke(app, ["batch", str(source), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 1
    assert message in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_ray_missing_gives_install_hint(tmp_path, source, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    res = CliRunner().invoke(
        app,
        [
            "batch",
            str(source),
            "--tasks",
            "features",
            "--executor",
            "ray",
            "--out",
            str(tmp_path / "o"),
        ],  # fmt: skip
    )
    assert res.exit_code == 1
    assert "pip install 'vloc[ray]'" in res.stderr


@pytest.mark.slow
def test_ray_executor_runs_two_videos(tmp_path, source, encoder):
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'vloc[ray]'")
    from vloc.batch import BatchOptions, discover, parse_tasks, run_batch
    from vloc.features.options import FeatureOptions

    src = tmp_path / "src"
    src.mkdir()
    for n in ("alpha", "beta"):
        (src / f"{n}.mp4").write_bytes((source / f"{n}.mp4").read_bytes())
        (src / f"{n}.en.srt").write_bytes((source / f"{n}.en.srt").read_bytes())
    features = FeatureOptions(backbone="x3d_m", weights="random", seed=0, width=1 / 16, size=32,
                              fps=8.0, clip_len=8)  # fmt: skip
    opts = BatchOptions(features=features, encoder=str(encoder))
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": env()["PYTHONPATH"]}})  # fmt: skip
    try:
        out = tmp_path / "ray-out"
        rep = run_batch(discover(src), parse_tasks("features,index"), out, options=opts,
                        executor="ray")  # fmt: skip
    finally:
        ray.shutdown()
    assert rep["summary"] == {"videos": 2, "ok": 2, "skipped": 0, "failed": 0}, rep
    local = tmp_path / "local-out"
    run_batch(discover(src), parse_tasks("features,index"), local, options=opts)
    assert output_files(out) == output_files(local)


def test_summarize_task_uses_the_installed_summarizer_and_its_extractor(tmp_path):
    """`summarize:en` with no --model and no --backbone: the shipped zh→en summarizer, with the
    feature extractor recorded in its folder (not the features task's default backbone)."""
    from vloc.errors import WeightsError
    from vloc.subtitles import Cue, write_subtitles
    from vloc.summarizer.summarize import default_model
    from vloc.synthetic import RenderOptions, SummarizationSetOptions
    from vloc.synthetic.films import render_film
    from vloc.synthetic.summarization import plan_summary_film

    try:
        default_model("en")
    except WeightsError:
        pytest.skip("no zh→en summarizer installed in models/")
    film, shots = plan_summary_film(703, SummarizationSetOptions(seed=0))  # held out
    src = tmp_path / "src"
    src.mkdir()
    render_film(src / "talk.mp4", shots, RenderOptions())
    cues = [Cue(c["index"], c["start_ms"], c["end_ms"], c["zh"]) for c in film.cues]
    write_subtitles(src / "talk.zh.srt", cues)
    out = tmp_path / "out"
    args = ["batch", str(src), "--tasks", "summarize:en", "--out", str(out), "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    (video,) = rep["videos"]
    assert video["status"] == "ok", video
    (rel,) = video["outputs"]["summarize:en"]
    assert rel == "talk/talk.en.summary.md"
    text = (out / rel).read_text(encoding="utf-8")
    assert text.startswith("# Summary (en)\n\n") and len(text.split()) > 10
    assert sorted(p.name for p in src.iterdir()) == ["talk.mp4", "talk.zh.srt"]  # inputs only


def test_index_and_translate_tasks_keep_each_others_files(tmp_path, encoder):
    """`--tasks index,translate:zh` with a translator that retrieves with another encoder: the
    translator's index is built beside the searchable one, never over it; the report lists
    files that exist; a re-run finds both tasks complete."""
    from tiny_models import build_tiny_translator

    from vloc.encoders import resolve_encoder
    from vloc.index import find_indexes, load_index

    other = build_tiny_sentence_model(tmp_path / "other-enc", seed=1)
    model = build_tiny_translator(tmp_path / "tr", variant="full", encoder=other)
    src = tmp_path / "src"
    src.mkdir()
    make_video(src / "alpha.mp4", seconds=2.0, fps=8, size="64x48")
    (src / "alpha.en.srt").write_text(SRT.format(n="alpha"), encoding="utf-8")
    out = tmp_path / "out"
    args = ["batch", str(src), "--tasks", "index,translate:zh", "--out", str(out),
            "--encoder", str(encoder), "--model", str(model), "--json"]  # fmt: skip
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    (video,) = json.loads(first.stdout)["videos"]
    listed = [p for paths in video["outputs"].values() for p in paths]
    assert listed and all((out / p).is_file() for p in listed), listed
    (searchable,) = find_indexes(out)
    assert load_index(searchable).encoder_sha256 == resolve_encoder(encoder).sha256
    assert (out / "alpha" / "alpha.zh.srt").is_file()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    (video,) = json.loads(again.stdout)["videos"]
    assert video["status"] == "skipped" and sorted(video["cached"]) == ["index", "translate:zh"]
