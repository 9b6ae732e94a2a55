"""Feature extraction, the store, the cache, imports and `vloc features` on synthetic videos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from tiny_films import copy_film
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError
from vloc.features import (
    FeatureOptions,
    extract_features,
    import_features,
    iter_overlapped,
    load_features,
)

ROOT = Path(__file__).resolve().parents[2]
# tiny real architecture, random weights, small crops: seconds per test on a 2-core CPU
TINY = FeatureOptions(weights="random", seed=0, width=1 / 16, size=32, fps=8.0, clip_len=8)
SRT = """1
00:00:00,000 --> 00:00:00,800
First cue

2
00:00:00,500 --> 00:00:01,500
Second cue, overlapping

3
00:00:01,200 --> 00:00:03,000
Third cue runs past the end
"""


@pytest.fixture
def film(media_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy per test, so every test has its own workspace."""
    return copy_film(media_dir / "film.mp4", tmp_path, SRT)


def test_cue_features(film):
    video, subs = film
    warnings: list[str] = []
    r = extract_features(video, subs=subs, options=TINY, warn=warnings.append)
    assert not r.cache_hit and list(r.outputs) == ["cues"]
    fs = load_features(video, kind="cues")
    assert fs.pooled.shape == (3, 128) and fs.pooled.dtype == np.float32
    assert fs.regions.shape == (3, 9, 128)
    assert np.isfinite(fs.pooled).all() and np.abs(fs.pooled).sum() > 0
    assert fs.spans_ms.tolist() == [[0, 800], [500, 1500], [1200, 2000]]  # third cue clamped
    with safe_open(str(r.outputs["cues"]), "np") as f:
        assert f.get_tensor("pooled").dtype == np.float16
        assert f.get_tensor("regions").dtype == np.float16
    meta = json.loads(r.outputs["cues"].with_suffix(".json").read_text())
    for field in (
        "backbone",
        "weights",
        "seed",
        "fps",
        "clip_len",
        "grid",
        "dtype",
        "vloc_version",
    ):
        assert field in meta, field
    assert meta["backbone"] == "i3d_r50" and meta["weights"] == "random" and meta["seed"] == 0
    assert meta["kind"] == "cues" and meta["dtype"] == "float16" and meta["grid"] == 3
    assert meta["video"]["fingerprint"] and meta["subtitles"]["n_cues"] == 3
    assert meta["shapes"] == {"pooled": [3, 128], "regions": [3, 9, 128], "spans_ms": [3, 2]}
    assert any("RANDOM weights" in w for w in warnings)
    assert any("past the end" in w for w in warnings)
    # pooled is the mean of the regions when the grid divides the map evenly (here 1×1 map)
    assert np.allclose(fs.pooled, fs.regions.mean(axis=1), atol=1e-2)


def test_stride_features_and_both(film):
    video, subs = film
    r = extract_features(video, options=TINY)  # no subtitles: stride
    assert list(r.outputs) == ["stride"]
    fs = load_features(video, kind="stride")
    # 2 s at 8 fps = 16 frames = 2 clips of 8
    assert fs.pooled.shape == (2, 128) and fs.regions is None
    assert fs.spans_ms.tolist() == [[0, 1000], [1000, 2000]]
    both = extract_features(video, subs=subs, options=replace(TINY, mode="both"))
    assert both.hits == {"cues": False, "stride": True}
    assert not both.cache_hit


def test_cache_hit_and_invalidation(film):
    video, subs = film
    first = extract_features(video, subs=subs, options=TINY)
    again = extract_features(video, subs=subs, options=TINY)
    assert again.cache_hit and again.outputs == first.outputs
    assert again.timings["total"] < 1.0
    keys = {first.metas["cues"]["key"]}
    for changed in (replace(TINY, grid=2), replace(TINY, backbone="x3d_m"), replace(TINY, seed=1)):
        r = extract_features(video, subs=subs, options=changed)
        assert not r.cache_hit
        keys.add(r.metas["cues"]["key"])
    subs.write_text(SRT.replace("00:00:00,800", "00:00:00,900"), encoding="utf-8")
    r = extract_features(video, subs=subs, options=TINY)
    assert not r.cache_hit
    keys.add(r.metas["cues"]["key"])
    assert len(keys) == 5
    assert (
        load_features(video, kind="cues", key=first.metas["cues"]["key"][:12]).regions.shape[1] == 9
    )
    # changing only the text keeps the spans, hence the features
    subs.write_text(SRT.replace("First cue", "Erste Zeile"), encoding="utf-8")
    r = extract_features(video, subs=subs, options=TINY)
    assert r.cache_hit


def test_cache_hit_does_not_import_torch(film):
    video, subs = film
    extract_features(video, subs=subs, options=TINY)
    code = f"""
        import sys, time
        t0 = time.perf_counter()
        from dataclasses import replace
        from vloc.features import FeatureOptions, extract_features
        o = FeatureOptions(weights="random", seed=0, width=1/16, size=32, fps=8.0, clip_len=8)
        r = extract_features({str(video)!r}, subs={str(subs)!r}, options=o)
        print(r.cache_hit, "torch" in sys.modules, f"{{time.perf_counter() - t0:.3f}}")
        """
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    hit, torch_loaded, seconds = p.stdout.split()
    assert (hit, torch_loaded) == ("True", "False")
    print(f"cache hit in a fresh process: {seconds} s")


def test_overlapped_equals_sequential(film):
    video, subs = film
    a = extract_features(video, subs=subs, options=replace(TINY, overlap=True, batch_size=2))
    fa = load_features(a.outputs["cues"])
    b = extract_features(
        video,
        subs=subs,
        options=replace(TINY, overlap=False, batch_size=1),
        workdir=video.parent / "w2",
    )
    fb = load_features(b.outputs["cues"])
    assert a.metas["cues"]["key"] == b.metas["cues"]["key"]
    np.testing.assert_allclose(fa.pooled, fb.pooled, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(fa.regions, fb.regions, rtol=2e-3, atol=2e-3)
    assert np.array_equal(fa.spans_ms, fb.spans_ms)
    # the unfolded model rounds some values to other float16s: its own entry, close to eager's
    c = extract_features(
        video, subs=subs, options=replace(TINY, fast=False), workdir=video.parent / "w3"
    )
    assert c.metas["cues"]["key"] != a.metas["cues"]["key"]
    assert c.metas["cues"]["backbone_path"] == "eager"
    fc = load_features(c.outputs["cues"])
    np.testing.assert_allclose(fa.pooled, fc.pooled, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(fa.regions, fc.regions, rtol=2e-3, atol=2e-3)


@pytest.mark.slow
def test_compiled_equals_eager(film):
    video, subs = film
    eager = extract_features(video, subs=subs, options=TINY)
    compiled = extract_features(
        video, subs=subs, options=replace(TINY, compile=True), workdir=video.parent / "w2"
    )
    assert compiled.warnings == eager.warnings  # the compiler ran: no fallback warning
    assert compiled.metas["cues"]["optimizations"][-1] == "compile"
    assert compiled.metas["cues"]["backbone_path"] == "compile"
    assert compiled.metas["cues"]["key"] == eager.metas["cues"]["key"]  # eager's exact values
    assert compiled.outputs["cues"].read_bytes() == eager.outputs["cues"].read_bytes()
    fa, fb = load_features(eager.outputs["cues"]), load_features(compiled.outputs["cues"])
    np.testing.assert_allclose(fa.pooled, fb.pooled, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(fa.regions, fb.regions, rtol=2e-3, atol=2e-3)


def test_compiler_failure_warns_and_runs_eager(film, monkeypatch):
    import torch

    def broken_compile(fn, **kwargs):
        def run(x):
            raise RuntimeError("no C compiler found\nsecond line")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    video, subs = film
    res = extract_features(video, subs=subs, options=replace(TINY, compile=True))
    assert any(
        "torch.compile failed (RuntimeError: no C compiler found)" in w for w in res.warnings
    )
    assert "compile" not in res.metas["cues"]["optimizations"]
    assert load_features(res.outputs["cues"]).pooled.shape[0] == 3


def test_iter_overlapped_propagates_errors_and_stops():
    def boom():
        yield 1
        raise InputError("decoder failed")

    got = []
    with pytest.raises(InputError, match="decoder failed"):
        for x in iter_overlapped(boom, capacity=1):
            got.append(x)
    assert got == [1]
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    it = iter_overlapped(endless, capacity=2)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert closed == [True]


def test_import_npy(tmp_path):
    arr = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    npy = tmp_path / "vid.npy"
    np.save(npy, arr)
    fs = import_features(npy, video_or_name="vid", workdir=tmp_path, fps=25.0)
    assert fs.kind == "stride" and fs.meta["source"] == "imported"
    np.testing.assert_allclose(fs.pooled, arr, rtol=1e-3, atol=1e-3)
    assert fs.spans_ms[:2].tolist() == [[0, 640], [640, 1280]]  # 16 frames at 25 fps
    again = load_features(tmp_path / "vid.vloc", kind="stride")
    np.testing.assert_array_equal(again.pooled, fs.pooled)
    for bad, msg in (
        (np.zeros(5, np.float32), "2-D"),
        (np.zeros((3, 4), np.int32), "float array"),
        (np.array([[0.0, np.nan]], np.float32), "NaN"),
    ):
        np.save(tmp_path / "bad.npy", bad)
        with pytest.raises(InputError, match=msg) as e:
            import_features(tmp_path / "bad.npy", video_or_name="bad", workdir=tmp_path)
        assert "bad.npy" in str(e.value)
    assert not (tmp_path / "bad.vloc").exists()


@pytest.mark.realdata
def test_import_how2_features(shared_data, tmp_path):
    folder = shared_data / "how2-mcls-demo" / "video_action_features"
    npy = sorted(folder.glob("*.npy"))[0]
    ref = np.load(npy)
    fs = import_features(npy, video_or_name=npy.stem, workdir=tmp_path, backbone="resnext101_3d")
    assert fs.pooled.shape == ref.shape and ref.shape[1] == 2048
    np.testing.assert_allclose(fs.pooled, ref, rtol=1e-3, atol=2e-3)
    assert fs.meta["backbone"] == "resnext101_3d" and fs.spans_ms is None


# ---------------------------------------------------------------------------------- CLI

CLI_TINY = ["--weights", "random", "--seed", "0", "--size", "32", "--fps", "8", "--clip-len", "8"]


def _only_line_error(r, path_part: str) -> None:
    assert r.exit_code == 1, (r.stdout, r.stderr)
    lines = [x for x in r.stderr.strip().splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and path_part in lines[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_cli_json_and_cache_hit(film):
    video, subs = film
    runner = CliRunner()
    argv = ["features", str(video), "--subs", str(subs), *CLI_TINY, "--json"]
    r = runner.invoke(app, argv)
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["cache_hit"] is False
    assert out["shapes"]["cues"]["pooled"][0] == 3
    assert Path(out["outputs"]["cues"]).is_file()
    r2 = runner.invoke(app, argv)
    assert r2.exit_code == 0 and json.loads(r2.stdout)["cache_hit"] is True
    r3 = runner.invoke(app, argv[:-1])
    assert r3.exit_code == 0 and "[cached]" in r3.stdout and "(3, 9, 2048)" in r3.stdout


def test_cli_random_without_seed_is_a_usage_error(film):
    video, _ = film
    r = CliRunner().invoke(app, ["features", str(video), "--weights", "random"])
    assert r.exit_code == 2 and "--seed" in r.stderr


def test_cli_bad_inputs(film, tmp_path):
    video, subs = film
    runner = CliRunner()
    ws = video.parent / "film.mp4.vloc"
    missing = tmp_path / "missing.mp4"
    _only_line_error(runner.invoke(app, ["features", str(missing), *CLI_TINY]), str(missing))
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_text("this is not a video\n")
    _only_line_error(runner.invoke(app, ["features", str(corrupt), *CLI_TINY]), str(corrupt))
    assert not (tmp_path / "corrupt.mp4.vloc").exists()
    bad_subs = tmp_path / "bad.srt"
    bad_subs.write_text("1\n00:00:xx,000 --> 00:00:01,000\nbroken\n\n", encoding="utf-8")
    _only_line_error(
        runner.invoke(app, ["features", str(video), "--subs", str(bad_subs), *CLI_TINY]),
        str(bad_subs),
    )
    r = runner.invoke(app, ["features", str(video), "--backbone", "nope", *CLI_TINY])
    assert r.exit_code == 1 and "valid backbones" in r.stderr and "Traceback" not in r.stderr
    r = runner.invoke(app, ["features", str(video), "--subs", str(subs), "--grid", "0", *CLI_TINY])
    assert r.exit_code == 1 and "--grid" in r.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    r = runner.invoke(app, ["features", str(video), "--workdir", str(blocker / "sub"), *CLI_TINY])
    _only_line_error(r, str(blocker))
    assert not ws.exists()  # nothing was written beside the video by any failed run


def test_cli_from_npy(tmp_path):
    arr = np.ones((4, 32), np.float32)
    np.save(tmp_path / "x.npy", arr)
    r = CliRunner().invoke(
        app,
        [
            "features",
            "clipname",
            "--from-npy",
            str(tmp_path / "x.npy"),
            "--workdir",
            str(tmp_path),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["shapes"]["stride"]["pooled"] == [4, 32]
    assert Path(out["outputs"]["stride"]).parent.parent == tmp_path / "clipname.vloc"


def test_cuda_unavailable_is_a_clear_error(film):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    video, subs = film
    with pytest.raises(InputError, match="--device cuda: CUDA is not available"):
        extract_features(video, subs=subs, options=replace(TINY, device="cuda"))
    assert not list((video.parent / "film.mp4.vloc").glob("features/*"))


def test_progress_reports_every_clip(film):
    video, subs = film
    calls: list[tuple[str, int, int]] = []
    extract_features(
        video, subs=subs, options=replace(TINY, batch_size=2), progress=lambda *a: calls.append(a)
    )
    assert calls[0] == ("cues", 0, 3) and calls[-1] == ("cues", 3, 3)
    assert [c[1] for c in calls] == [0, 2, 3]


@pytest.mark.realdata
def test_real_video_stride_features(shared_data, tmp_path):
    video = shared_data / "videos" / "v_GGSY1Qvo990.mp4"
    r = extract_features(video, options=replace(TINY, fps=2.0), workdir=tmp_path)
    fs = load_features(r.outputs["stride"])
    # 18 s at 2 fps = 36 frames = 4 full clips of 8, plus a half clip padded
    assert fs.pooled.shape[1] == 128 and 4 <= fs.pooled.shape[0] <= 5
    assert np.isfinite(fs.pooled).all()
    assert not (shared_data / "videos" / "v_GGSY1Qvo990.mp4.vloc").exists()


def _ffmpeg_children() -> list[int]:
    """ffmpeg processes whose parent is this test process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(")")[-1].split()
            comm = stat.read_text().split("(")[1].split(")")[0]
        except (OSError, IndexError):
            continue
        if comm == "ffmpeg" and int(fields[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


def test_interrupt_leaves_no_partial_output(film):
    video, subs = film

    def interrupt(kind: str, done: int, total: int) -> None:
        if done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract_features(video, subs=subs, options=replace(TINY, batch_size=1), progress=interrupt)
    ws = video.parent / "film.mp4.vloc"
    left = [p.relative_to(ws) for p in ws.rglob("*.*")]
    assert len(left) == 1 and left[0].parts[0] == "locks"  # the lock file alone, released:
    assert left[0].name.startswith("features-cues-i3d_r50-") and left[0].suffix == ".lock"
    assert extract_features(video, subs=subs, options=TINY).cache_hit is False  # not blocked
    assert _ffmpeg_children() == []
