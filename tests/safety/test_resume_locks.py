"""Truncated videos, resumable extraction (chunks) and workspace locks, with real `vloc` runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_films import make_video
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import MediaError
from vloc.features import FeatureOptions, extract_features
from vloc.features.chunks import CHUNK_CLIPS
from vloc.workspace import LOCKS_DIR, WAIT_NOTICE_S, Workspace

ROOT = Path(__file__).resolve().parents[2]
CLI_TINY = ["--weights", "random", "--seed", "0", "--size", "32", "--fps", "8", "--clip-len", "8"]
# a small real backbone with random weights: 7 ms per clip on one thread of a quiet 2-core CPU,
# 10 ms with three busy processes beside it (two threads: 6.5 ms quiet, 65 ms so loaded)
X3D = ["--backbone", "x3d_m", *CLI_TINY, "--threads", "1"]
TINY = FeatureOptions(weights="random", seed=0, width=1 / 16, size=32, fps=8.0, clip_len=8)
LONG_S = 240  # s: 240 stride clips at 8 fps × 8 frames: 3 chunks of 64 and 48 more; a kill
# at the first chunk leaves more than a second of work


def _srt(spans: list[tuple[int, int]]) -> str:
    def ts(ms: int) -> str:
        return (
            f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
        )

    return "".join(f"{i}\n{ts(a)} --> {ts(b)}\ncue {i}\n\n" for i, (a, b) in enumerate(spans, 1))


def _vloc(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vloc", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out), err


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("long")
    return make_video(d / "long.mp4", seconds=LONG_S, size="96x64", extra_args=("-g", "50"))


@pytest.fixture(scope="module")
def clean_run(long_video, tmp_path_factory) -> dict[str, bytes]:
    """Bytes of an uninterrupted `vloc features` run (stride features and their metadata)."""
    work = tmp_path_factory.mktemp("clean")
    proc = _vloc("features", str(long_video), *X3D, "--workdir", str(work), "--json")
    out, _ = _finish(proc)
    assert out["cache_hit"] is False and out["resumed"] == {"stride": 0}
    tensors = Path(out["outputs"]["stride"])
    return {"tensors": tensors.read_bytes(), "meta": tensors.with_suffix(".json").read_bytes()}


def _features_lock(ws: Path) -> Path:
    (lock,) = (ws / LOCKS_DIR).glob("features-stride-x3d_m-*.lock")
    return lock


def _lock_is_free(lock: Path) -> bool:
    from filelock import FileLock, Timeout

    probe = FileLock(str(lock))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return False
    probe.release()
    return True


# ---------------------------------------------------------------------------------------------
# truncated videos


def _cut_indexed_mp4(folder: Path) -> tuple[Path, Path]:
    """(whole, cut): an 8.7 s mp4 with its index (moov) first, and a copy cut to 15 % of its bytes
    (ffprobe still reports 8.7 s; decoding stops after about a second)."""
    whole = make_video(
        folder / "whole.mp4",
        seconds=8.7,
        size="160x120",
        extra_args=("-g", "25", "-movflags", "+faststart"),
    )
    cut = folder / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 15 // 100])
    return whole, cut


def test_truncated_video_fails_unless_allowed(tmp_path):
    whole, cut = _cut_indexed_mp4(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["features", str(whole), *CLI_TINY, "--json"])
    assert r.exit_code == 0, r.stderr
    assert [w for w in json.loads(r.stdout)["warnings"] if "RANDOM" not in w] == []

    r = runner.invoke(app, ["features", str(cut), *CLI_TINY])
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert str(cut) in line and " of 8.8 s expected (" in line and "% missing)" in line
    assert "pass --allow-truncated" in line
    ws = tmp_path / "cut.mp4.vloc"
    assert list(ws.glob("features/*.json")) == []  # no entry from the failed run

    r = runner.invoke(app, ["features", str(cut), *CLI_TINY, "--allow-truncated", "--json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["shapes"]["stride"]["pooled"][0] < 9
    (warning,) = [w for w in out["warnings"] if "% missing" in w]
    assert str(cut) in warning and "truncated" in warning and warning in r.stderr
    (meta_path,) = ws.glob("features/*.json")
    record = json.loads(meta_path.read_text())["truncated"]
    assert record["expected_s"] == 70 / 8 and record["missing_share"] > 0.75

    # the cached entry is the same with or without the flag, but is only used with it
    r = runner.invoke(app, ["features", str(cut), *CLI_TINY])
    assert r.exit_code == 1 and "% missing" in r.stderr and "cached" in r.stderr
    r = runner.invoke(app, ["features", str(cut), *CLI_TINY, "--allow-truncated", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["cache_hit"] is True


def test_translate_and_batch_take_the_flag(tmp_path):
    from tiny_models import build_tiny_translator

    _, cut = _cut_indexed_mp4(tmp_path)
    subs = tmp_path / "cut.en.srt"  # the last cue needs the frames that are gone
    subs.write_text(_srt([(0, 900), (6000, 8000)]), encoding="utf-8")
    model = build_tiny_translator(tmp_path / "model", variant="segment-level")
    runner = CliRunner()
    argv = ["translate", str(cut), str(subs), "--to", "zh", "--model", str(model)]
    r = runner.invoke(app, argv)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert str(cut) in line and "% missing)" in line
    assert not (tmp_path / "cut.zh.srt").exists()
    r = runner.invoke(app, [*argv, "--allow-truncated", "--json"])
    assert r.exit_code == 0, r.stderr
    assert "padded by repeating the last decoded frame: cues 2" in r.stderr
    assert (tmp_path / "cut.zh.srt").is_file()

    src = tmp_path / "videos"
    src.mkdir()
    (src / "cut.mp4").write_bytes(cut.read_bytes())
    out = str(tmp_path / "out")
    argv = [
        "batch",
        str(src),
        "--tasks",
        "features",
        "--out",
        out,
        "--backbone",
        "x3d_m",
        *CLI_TINY,
    ]
    r = runner.invoke(app, [*argv, "--json"])
    assert r.exit_code == 1
    (video,) = json.loads(r.stdout)["videos"]
    assert video["status"] == "failed" and "% missing)" in video["error"]
    r = runner.invoke(app, [*argv, "--allow-truncated", "--json"])
    assert r.exit_code == 0, r.stderr
    (video,) = json.loads(r.stdout)["videos"]
    assert video["status"] == "ok" and any("% missing)" in w for w in video["warnings"])
    # summarize, with the shipped demo summarizer and the extractor it records
    talk = tmp_path / "cut.zh.srt"
    talk.write_text(_srt([(0, 4000), (4000, 8000)]).replace("cue", "河流"), encoding="utf-8")
    model = ROOT / "models" / "synth-zh-en-summary"
    argv = ["summarize", str(cut), str(talk), "--to", "en", "--model", str(model)]
    r = runner.invoke(app, argv)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert str(cut) in line and "% missing)" in line
    r = runner.invoke(app, [*argv, "--allow-truncated"])
    assert r.exit_code == 0, r.stderr
    assert "% missing)" in r.stderr


def test_truncated_video_resumes_with_the_flag(tmp_path):
    """The clips computed before the failure are kept in chunks: the run with the flag computes
    only the rest, and stores what an allowed run from scratch stores."""
    whole = make_video(
        tmp_path / "whole.mp4", seconds=40, size="96x64", extra_args=("-movflags", "+faststart")
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    opts = replace(TINY, mode="stride")
    with pytest.raises(MediaError, match="% missing"):
        extract_features(cut, options=opts, workdir=tmp_path / "a", chunk_clips=4)
    chunks = list((tmp_path / "a").rglob("partial/*/*.safetensors"))
    assert len(chunks) >= 3
    allowed = replace(opts, allow_truncated=True)
    r = extract_features(cut, options=allowed, workdir=tmp_path / "a", chunk_clips=4)
    assert r.resumed == {"stride": 4 * len(chunks)}
    ref = extract_features(cut, options=allowed, workdir=tmp_path / "b", chunk_clips=4)
    assert ref.resumed == {"stride": 0} and ref.metas["stride"]["truncated"]
    assert r.outputs["stride"].read_bytes() == ref.outputs["stride"].read_bytes()
    assert r.metas["stride"]["truncated"] == ref.metas["stride"]["truncated"]


# ---------------------------------------------------------------------------------------------
# resumable extraction


@pytest.mark.parametrize("mode", [pytest.param("stride", marks=pytest.mark.slow), "cues"])
def test_interrupted_extraction_resumes_from_its_chunks(tmp_path, mode):
    video = make_video(tmp_path / "film.mp4", seconds=20, size="96x64", extra_args=("-g", "30"))
    spans = [(i * 900, i * 900 + 700 + (i % 4) * 600) for i in range(21)]
    spans[5], spans[6] = spans[6], spans[5]  # unsorted, overlapping, and one past the end
    spans.append((19_500, 25_000))
    subs = tmp_path / "film.srt"
    subs.write_text(_srt(spans), encoding="utf-8")
    opts = replace(TINY, mode=mode)
    sub = subs if mode == "cues" else None
    clean = extract_features(
        video, subs=sub, options=opts, workdir=tmp_path / "clean", chunk_clips=4
    )

    def stop_after_13(kind: str, done: int, total: int) -> None:
        if done >= 13:
            raise KeyboardInterrupt

    work = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        extract_features(
            video, subs=sub, options=opts, workdir=work, chunk_clips=4, progress=stop_after_13
        )
    chunks = sorted(p.name for p in work.rglob("partial/*/*.safetensors"))
    assert chunks[:3] == ["00000.safetensors", "00001.safetensors", "00002.safetensors"]
    seen: list[int] = []
    r = extract_features(
        video,
        subs=sub,
        options=opts,
        workdir=work,
        chunk_clips=4,
        progress=lambda kind, done, total: seen.append(done),
    )
    assert r.resumed == {mode: 4 * len(chunks)} and seen[0] == 4 * len(chunks)
    a, b = clean.outputs[mode], r.outputs[mode]
    assert a.read_bytes() == b.read_bytes()
    assert a.with_suffix(".json").read_bytes() == b.with_suffix(".json").read_bytes()
    assert not list(work.rglob("partial"))  # chunks are removed with the final entry


def test_damaged_or_foreign_chunks_are_recomputed(tmp_path):
    video = make_video(tmp_path / "film.mp4", seconds=10, size="96x64")
    opts = replace(TINY, mode="stride")
    clean = extract_features(video, options=opts, workdir=tmp_path / "clean", chunk_clips=2)

    def stop(kind: str, done: int, total: int) -> None:
        if done >= 7:
            raise KeyboardInterrupt

    work = tmp_path / "w"
    with pytest.raises(KeyboardInterrupt):
        extract_features(video, options=opts, workdir=work, chunk_clips=2, progress=stop)
    first, second, *_ = sorted(work.rglob("partial/*/*.safetensors"))
    second.write_bytes(second.read_bytes()[:100])  # cut short: ignored, recomputed from clip 2
    r = extract_features(video, options=opts, workdir=work, chunk_clips=2)
    assert r.resumed == {"stride": 2}
    assert r.outputs["stride"].read_bytes() == clean.outputs["stride"].read_bytes()
    # chunks of another chunk size are not used
    with pytest.raises(KeyboardInterrupt):
        extract_features(video, options=opts, workdir=tmp_path / "x", chunk_clips=2, progress=stop)
    r = extract_features(video, options=opts, workdir=tmp_path / "x", chunk_clips=3)
    assert r.resumed == {"stride": 0}
    assert r.outputs["stride"].read_bytes() == clean.outputs["stride"].read_bytes()


@pytest.mark.slow
def test_sigkilled_run_resumes_and_leaves_no_stale_lock(long_video, clean_run, tmp_path):
    work = tmp_path / "work"
    ws = work / "long.mp4.vloc"
    proc = _vloc("features", str(long_video), *X3D, "--workdir", str(work), "--json")
    deadline = time.monotonic() + 240
    while not list(ws.glob("features/partial/*/00000.safetensors")):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no chunk was written"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert list(ws.glob("features/*.json")) == []  # it was killed before the end
    assert _lock_is_free(_features_lock(ws))  # the kernel released the dead run's lock

    t0 = time.monotonic()
    out, err = _finish(_vloc("features", str(long_video), *X3D, "--workdir", str(work), "--json"))
    resumed_s = time.monotonic() - t0
    resumed = out["resumed"]["stride"]
    assert out["cache_hit"] is False and resumed % CHUNK_CLIPS == 0 and 0 < resumed < LONG_S
    assert "waiting for another vloc run" not in err
    tensors = Path(out["outputs"]["stride"])
    assert tensors.read_bytes() == clean_run["tensors"]
    assert tensors.with_suffix(".json").read_bytes() == clean_run["meta"]
    assert not (ws / "features" / "partial").exists()
    print(f"resumed run ({LONG_S - resumed} of {LONG_S} clips left): {resumed_s:.1f} s")


@pytest.mark.slow
def test_two_concurrent_runs_compute_once(long_video, clean_run, tmp_path):
    work = str(tmp_path / "work")
    procs = [_vloc("features", str(long_video), *X3D, "--workdir", work, "--json") for _ in "ab"]
    results = [_finish(p) for p in procs]
    hits = sorted(out["cache_hit"] for out, _ in results)
    assert hits == [False, True]  # exactly one computed
    first = 0 if results[0][0]["cache_hit"] is False else 1
    (computed, _), (waited, err) = results[first], results[1 - first]
    assert computed["outputs"] == waited["outputs"]
    tensors = Path(computed["outputs"]["stride"])
    assert tensors.read_bytes() == clean_run["tensors"]
    # the second run missed the cache, waited for the lock, then found the entry
    assert waited["timings"]["wait"] > 0.2
    # past WAIT_NOTICE_S it said once which lock it waited for, and which run held it
    lines = [x for x in err.splitlines() if "waiting for another vloc run" in x]
    if waited["timings"]["wait"] > WAIT_NOTICE_S + 0.5:
        lock = _features_lock(Path(work) / "long.mp4.vloc")
        (line,) = lines
        assert f"holds {lock} (pid {procs[first].pid} on " in line
        assert f"vloc features {long_video}" in line
    elif waited["timings"]["wait"] < WAIT_NOTICE_S - 0.5:
        assert lines == []


@pytest.mark.slow
def test_waiting_run_names_the_lock_and_its_holder(tmp_path):
    video = make_video(tmp_path / "film.mp4", seconds=2, size="96x64")
    ws = Workspace.for_video(video)
    with ws.lock("index-film.srt"):  # a lock the run does not need: it does not wait
        out, err = _finish(_vloc("features", str(video), *X3D, "--json"))
    assert "waiting" not in err and out["cache_hit"] is False
    lock = _features_lock(ws.root)
    for p in ws.root.glob("features/*.*"):
        p.unlink()  # the entry is gone: the next run computes it again, once it has the lock
    with ws.lock(lock.stem):  # this test process holds the entry's lock
        proc = _vloc("features", str(video), *X3D, "--json")
        time.sleep(WAIT_NOTICE_S + 3)
        assert proc.poll() is None  # still waiting
    out, err = _finish(proc)
    (line,) = [x for x in err.splitlines() if "waiting for another vloc run that holds" in x]
    assert f"holds {lock} (pid {os.getpid()} on " in line
    assert out["cache_hit"] is False


# ---------------------------------------------------------------------------------------------
# the index and the translation journal


def _run_threads(fns: list) -> tuple[list, list[threading.Thread]]:
    results: list = [None] * len(fns)

    def run(i: int) -> None:
        try:
            results[i] = fns[i]()
        except BaseException as e:  # handed to the test
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(fns))]
    for t in threads:
        t.start()
    return results, threads


def test_two_index_builds_waiting_on_one_lock_build_once(tmp_path):
    from tiny_models import build_tiny_sentence_model

    from vloc.index import build_index

    encoder = build_tiny_sentence_model(tmp_path / "enc")
    video = tmp_path / "film.mp4"
    video.write_bytes(b"the index does not decode the video")
    subs = tmp_path / "film.en.srt"
    subs.write_text(_srt([(i * 1000, i * 1000 + 800) for i in range(40)]), encoding="utf-8")
    ws = Workspace.for_video(video)
    with ws.lock("index-film.en.srt"):  # both runs miss the cache, then wait here
        results, threads = _run_threads(
            [lambda: build_index(video, subs, encoder=encoder) for _ in range(2)]
        )
        time.sleep(1.0)
        assert all(t.is_alive() for t in threads) and not (ws.root / "index").exists()
    for t in threads:
        t.join(120)
    assert sorted(r.cached for r in results) == [False, True]  # one built, one found it
    assert results[0].index.manifest == results[1].index.manifest


def test_two_translations_waiting_on_one_journal_decode_once(tmp_path):
    from tiny_models import build_tiny_translator
    from tiny_subtitles import TRICKY_SRT

    from vloc.pipeline import OwnModel, TranslateOptions, translate_subtitles

    model = build_tiny_translator(tmp_path / "model", variant="segment-level")
    video = make_video(tmp_path / "film.mp4", seconds=3.0, size="96x64")
    subs = tmp_path / "film.en.srt"
    subs.write_text(TRICKY_SRT, encoding="utf-8")

    def options(out: str) -> TranslateOptions:
        return TranslateOptions(
            to="zh", decoder=OwnModel(model=str(model), batch_size=2), output=tmp_path / out
        )

    first = translate_subtitles(video, subs, replace(options("a.srt"), workdir=tmp_path / "a"))
    journal = first.journal.stem  # the same name in any workspace for the same inputs
    waiting: list[str] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "decode" and done == 0:
            waiting.append(stage)  # the last report before the journal's lock

    with Workspace.for_video(video).lock(f"translation-{journal}"):
        results, threads = _run_threads(
            [
                lambda out=out: translate_subtitles(video, subs, options(out), progress=progress)
                for out in ("b.srt", "c.srt")
            ]
        )
        deadline = time.monotonic() + 120
        while len(waiting) < 2:
            assert time.monotonic() < deadline and all(t.is_alive() for t in threads), results
            time.sleep(0.05)
        time.sleep(0.5)
        assert all(t.is_alive() for t in threads)  # both wait for the journal
    for t in threads:
        t.join(120)
    decoded = sorted((r.translated, r.reused) for r in results)
    assert decoded == [(0, first.translated), (first.translated, 0)]  # decoded once, then reused
    assert (tmp_path / "b.srt").read_bytes() == (tmp_path / "c.srt").read_bytes()
    assert (tmp_path / "b.srt").read_bytes() == (tmp_path / "a.srt").read_bytes()
