"""How the backbone runs: the break-even rule, measurements and saved traces, and the
``--backbone-path`` option end to end (tiny real backbones, real TorchScript, real ffmpeg)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_films import copy_film
from typer.testing import CliRunner

from vloc.backbones import build_backbone, optimize_traced
from vloc.cli.app import app
from vloc.errors import InputError
from vloc.features import FeatureOptions, execution, extract_features, load_features
from vloc.features.execution import Decision, check_path, decide
from vloc.features.execution_store import TRACED_DIR, Measurement, PathStore

TINY = FeatureOptions(weights="random", seed=0, width=1 / 16, size=32, fps=8.0, clip_len=8)
SHAPE = (1, 3, 8, 32, 32)  # (B, 3, T, H, W) of TINY's clips
SRT = """1
00:00:00,000 --> 00:00:00,800
First cue

2
00:00:00,500 --> 00:00:01,500
Second cue

3
00:00:01,200 --> 00:00:02,000
Third cue
"""


@pytest.fixture
def film(media_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy per test, so every test has its own workspace."""
    return copy_film(media_dir / "film.mp4", tmp_path, SRT)


def _tiny(name: str = "i3d_r50") -> object:
    torch.manual_seed(0)
    bb = build_backbone(name, width=1 / 16)
    for m in bb.modules():  # realistic statistics, so that folding them is exercised
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return bb.eval()


def _record_key(opts: FeatureOptions = TINY) -> str:
    return execution.record_key(
        backbone=opts.backbone,
        width=opts.width,
        weights_id=f"random:{opts.seed}",
        shape=SHAPE,
        device="cpu",
    )


# --- the break-even rule ----------------------------------------------------------------------


def test_break_even_rule():
    m = Measurement(eager_s=1.0, jit_s=0.7, trace_s=15.0, load_s=4.0)
    assert m.break_even(saved=False) == pytest.approx(50.0)
    assert m.break_even(saved=True) == pytest.approx(4.0 / 0.3)
    assert decide("auto", 10, m, saved=False).path == "eager"  # short film: not worth a trace
    long = decide("auto", 60, m, saved=False)
    assert long.path == "jit" and long.break_even == pytest.approx(50.0)
    assert decide("auto", 20, m, saved=True).path == "jit"  # a saved trace is cheap to load
    assert decide("auto", 10, m, saved=True).path == "eager"
    slower = Measurement(eager_s=0.5, jit_s=0.6, trace_s=1.0, load_s=1.0)
    assert slower.break_even(saved=True) is None
    assert decide("auto", 10**6, slower, saved=True).path == "eager"
    # no measurement yet: a short run stays eager, a long one measures
    assert decide("auto", execution.MEASURE_MIN_BATCHES - 1, None, saved=False).path == "eager"
    assert decide("auto", execution.MEASURE_MIN_BATCHES, None, saved=False).path == "measure"
    assert decide("jit", 1, None, saved=False).path == "jit"  # explicit: as asked
    assert decide("eager", 10**6, m, saved=True).path == "eager"


def test_path_validation():
    assert check_path("auto", fast=True, device="cpu") == "auto"
    assert check_path("auto", fast=True, device="cpu", compile=True) == "compile"
    with pytest.raises(InputError, match="unknown backbone path 'fast'; valid paths: auto"):
        check_path("fast", fast=True, device="cpu")
    with pytest.raises(InputError, match="--compile contradicts --backbone-path jit"):
        check_path("jit", fast=True, device="cpu", compile=True)
    with pytest.raises(InputError, match="cannot run with --no-fast"):
        check_path("jit", fast=False, device="cpu")
    with pytest.raises(InputError, match="CPU only"):
        check_path("jit", fast=True, device="cuda")


def test_cli_rejects_a_bad_path(film):
    video, subs = film
    r = CliRunner().invoke(
        app,
        ["features", str(video), "--weights", "random", "--seed", "0", "--backbone-path", "fast"],
    )
    assert r.exit_code != 0
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert lines == ["error: unknown backbone path 'fast'; valid paths: auto, eager, jit, compile"]
    assert not (video.parent / "film.mp4.vloc" / "features").exists()


# --- traces -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["i3d_r50", "resnext101_3d"])
def test_traced_equals_eager(name):
    bb = _tiny(name)
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.inference_mode():
        ref = bb.trunk(x)
    bb.optimize(fuse_bn=True, channels_last=True)
    module = optimize_traced(bb.trace_frozen(torch.zeros(1, 3, 8, 32, 32)))
    bb.use_traced(module)
    assert bb.optimized == ("fuse_bn", "channels_last", "jit")
    with torch.inference_mode():
        got = bb.trunk(x)  # batch 2 through a trace made at batch 1
    assert got.shape == ref.shape
    assert torch.allclose(ref, got, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


def test_measurement_is_remembered_and_the_trace_loaded(tmp_path):
    store = PathStore(tmp_path / "paths")
    key = _record_key()
    first = decide("auto", 10**4, store.measurement(key), saved=False)
    assert first.path == "measure"
    bb = _tiny().optimize(fuse_bn=True, channels_last=True)
    done = execution.apply_path(bb, first, store=store, key=key, shape=SHAPE)
    assert done.measured and done.traced and not done.loaded
    assert done.path in ("eager", "jit") and done.reason.startswith("measured: ")
    m = store.measurement(key)
    assert m is not None and m.eager_s > 0 and m.jit_s > 0 and m.trace_s > 0 and m.load_s > 0
    assert json.loads(store.choices_file.read_text())[key]["backbone"] == "i3d_r50"
    assert store.saved_trace("i3d_r50", key) is not None

    # a second run: the measurement is there (no re-measuring), the trace is loaded
    assert decide("auto", 10**4, store.measurement(key), saved=True).path != "measure"
    bb2 = _tiny().optimize(fuse_bn=True, channels_last=True)
    again = execution.apply_path(bb2, Decision("jit", "test"), store=store, key=key, shape=SHAPE)
    assert again.loaded and not again.traced and not again.measured
    assert json.loads(store.choices_file.read_text()).keys() == {key}
    x = torch.randn(SHAPE)
    with torch.inference_mode():
        ref = _tiny().trunk(x)
        got = bb2.trunk(x)
    assert torch.allclose(ref, got, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


@pytest.mark.parametrize("damage", ["flip", "truncate", "index"])
def test_a_damaged_saved_trace_is_rebuilt(tmp_path, damage):
    store = PathStore(tmp_path / "paths")
    key = _record_key()
    bb = _tiny().optimize(fuse_bn=True, channels_last=True)
    execution.apply_path(bb, Decision("jit", "test"), store=store, key=key, shape=SHAPE)
    saved, _ = store.saved_trace("i3d_r50", key)
    data = bytearray(saved.read_bytes())
    if damage == "flip":  # same size, other bytes: only the hash sees it
        mid = len(data) // 2
        data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
        saved.write_bytes(bytes(data))
    elif damage == "truncate":
        saved.write_bytes(bytes(data[: len(data) // 3]))
    else:
        store.trace_index("i3d_r50", key).write_text("{not json", encoding="utf-8")
    warnings: list[str] = []
    bb2 = _tiny().optimize(fuse_bn=True, channels_last=True)
    d = execution.apply_path(
        bb2, Decision("jit", "test"), store=store, key=key, shape=SHAPE, warn=warnings.append
    )
    assert d.traced and not d.loaded
    assert len(warnings) == 1 and "tracing again" in warnings[0]
    if damage == "flip":
        assert "sha256 does not match" in warnings[0]
    # and the rebuilt one loads cleanly
    bb3 = _tiny().optimize(fuse_bn=True, channels_last=True)
    d3 = execution.apply_path(bb3, Decision("jit", "test"), store=store, key=key, shape=SHAPE)
    assert d3.loaded
    assert len(list((store.root / TRACED_DIR).glob("*.pt"))) == 1


# --- end to end -------------------------------------------------------------------------------


def test_jit_features_have_their_own_key_and_match_eager(film):
    video, subs = film
    eager = extract_features(video, subs=subs, options=replace(TINY, backbone_path="eager"))
    assert eager.backbone_path["path"] == "eager"
    jit = extract_features(
        video,
        subs=subs,
        options=replace(TINY, backbone_path="jit"),
        workdir=video.parent / "w2",
    )
    assert jit.backbone_path["path"] == "jit" and jit.backbone_path["traced"]
    meta = jit.metas["cues"]
    assert meta["backbone_path"] == "jit" and meta["optimizations"][-1] == "jit"
    assert meta["key"] != eager.metas["cues"]["key"]
    fa, fb = load_features(eager.outputs["cues"]), load_features(jit.outputs["cues"])
    np.testing.assert_allclose(fa.pooled, fb.pooled, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(fa.regions, fb.regions, rtol=2e-3, atol=2e-3)
    # a second film (here: the same one elsewhere) loads the saved trace: same bytes
    again = extract_features(
        video,
        subs=subs,
        options=replace(TINY, backbone_path="jit"),
        workdir=video.parent / "w3",
    )
    assert again.backbone_path["loaded"] and not again.backbone_path["traced"]
    assert again.outputs["cues"].read_bytes() == jit.outputs["cues"].read_bytes()
    # auto finds the jit entry (any path's entry is close enough), explicit eager does not
    auto = extract_features(video, subs=subs, options=TINY, workdir=video.parent / "w3")
    assert auto.cache_hit and auto.outputs["cues"] == again.outputs["cues"]


def _plant(store: PathStore, m: Measurement) -> None:
    store.remember(_record_key(), m, {"backbone": "i3d_r50", "shape": list(SHAPE)})


def test_auto_follows_the_break_even_rule(film):
    video, subs = film  # 3 cues = 3 batches
    store = PathStore()  # $VLOC_HOME, a temp dir per test
    _plant(store, Measurement(eager_s=1.0, jit_s=0.5, trace_s=10.0, load_s=5.0))
    short = extract_features(video, subs=subs, options=TINY)
    assert short.backbone_path["path"] == "eager"  # 3 batches < break-even 20
    assert "break-even 20" in short.backbone_path["reason"]
    assert not short.backbone_path["measured"]
    _plant(store, Measurement(eager_s=1.0, jit_s=0.5, trace_s=1.0, load_s=0.5))
    long = extract_features(video, subs=subs, options=TINY, workdir=video.parent / "w2")
    assert long.backbone_path["path"] == "jit"  # 3 batches > break-even 2
    assert long.metas["cues"]["backbone_path"] == "jit"


def test_auto_on_a_short_film_measures_nothing(film):
    video, subs = film
    res = extract_features(video, subs=subs, options=TINY)
    assert res.backbone_path["path"] == "eager" and "too few" in res.backbone_path["reason"]
    assert not PathStore().choices_file.exists()
    assert res.metas["cues"]["backbone_path"] == "eager"
