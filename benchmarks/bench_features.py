"""Benchmark clip feature extraction on this machine (a script, not a test).

Prints, in one run:

1. fp32 matmul GFLOP/s (2048² torch matmul): the machine's reference throughput;
2. ``i3d_r50`` trunk at 16 frames 224²: FLOPs per clip (``FlopCounterMode``), then s/clip,
   clips/s and achieved GFLOP/s (and the fraction of matmul GFLOP/s) for each variant:
   eager, BatchNorm folded, channels-last 3D, both, oneDNN via ``torch.jit.freeze``,
   ``torch.jit.optimize_for_inference``, the saved trace as ``--backbone-path jit`` runs it
   (with its trace and load seconds), ``torch.compile`` (with its compile time), oneDNN's
   bf16 convolutions under fp32 I/O (``torch.backends.mkldnn.conv.fp32_precision``), bf16
   autocast, int8 (FX static quantisation, fbgemm), thread counts and batch sizes 1/2/4 —
   each checked with ``allclose`` against eager, and the pooled / region features of a real
   decoded clip (when ``../shared/data`` is there; else the random clip) compared with fp32
   eager: cosine, max abs difference, float16 values that round differently;
3. decode fps of a 720p25 synthetic video to 224² RGB;
4. ``vloc features`` wall time on a synthetic video divided by backbone-only compute time
   for the same clips (how well decoding hides behind compute);
5. peak RSS of ``vloc features`` on a 1-minute vs a 10-minute 720p synthetic video.

Usage::

    python benchmarks/bench_features.py                # everything (~10 min on 2 cores)
    python benchmarks/bench_features.py --only backbone --no-compile
    python benchmarks/bench_features.py --only backbone --variants jit bf16   # a subset
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MATMUL_N = 2048  # square fp32 matmul: 2·n³ FLOP
CLIP = (16, 224)  # frames, crop: the I3D setting vloc extracts by default
SECTIONS = ("backbone", "decode", "overlap", "rss")
VARIANT_GROUPS = ("layout", "jit", "compile", "bf16", "int8", "threads", "batch", "race")
RACE_ROUNDS = 5  # rounds of the race: each round runs every contender once, in turn
REAL_CLIP = ROOT.parent / "shared" / "data" / "videos" / "big_buck_bunny.mp4"
REAL_CLIP_SPAN_MS = (20_000, 24_000)  # a cue-sized span of the open film


def log(msg: str) -> None:
    print(msg, flush=True)


def timeit(fn, reps: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def matmul_gflops() -> float:
    import torch

    a = torch.randn(MATMUL_N, MATMUL_N)
    b = torch.randn(MATMUL_N, MATMUL_N)
    ts = timeit(lambda: a @ b, reps=10, warmup=2)
    return 2 * MATMUL_N**3 / min(ts) / 1e9


def bench_backbone(args: argparse.Namespace, peak: float) -> dict:
    import torch

    import vloc  # noqa: F401
    from vloc.backbones import build_backbone
    from vloc.features.options import check_device  # noqa: F401  (import cost outside timing)

    t, s = CLIP
    torch.manual_seed(0)
    eager = build_backbone("i3d_r50")
    # give BatchNorm realistic statistics so folding is actually exercised
    for m in eager.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    state = eager.state_dict()
    x1 = torch.randn(1, 3, t, s, s)
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        ref = eager.trunk(x1)
    flops = fc.get_total_flops()
    log(f"i3d_r50 trunk, {t} frames {s}²: {flops / 1e9:.1f} GFLOP per clip, map {tuple(ref.shape)}")

    def fresh(**opt):
        bb = build_backbone("i3d_r50")
        bb.load_state_dict(state)
        return bb.optimize(**opt) if opt else bb.eval()

    results: dict[str, dict] = {}

    def report(name: str, fn, batch: int = 1, reps: int = args.reps, check=None) -> None:
        with torch.inference_mode():
            ts = timeit(fn, reps=reps, warmup=1)
            out = check() if check is not None else None
        per_clip = statistics.median(ts) / batch
        gflops = flops / per_clip / 1e9
        ok = None
        if out is not None:
            ok = bool(
                torch.allclose(out[:1].float(), ref, rtol=1e-3, atol=1e-3 * ref.abs().max().item())
            )
        results[name] = {
            "s_per_clip": round(per_clip, 3),
            "clips_per_s": round(1 / per_clip, 3),
            "gflops": round(gflops, 1),
            "of_matmul": round(gflops / peak, 3),
            "allclose": ok,
        }
        log(
            f"  {name:<34} {per_clip:6.2f} s/clip  {1 / per_clip:5.2f} clips/s  "
            f"{gflops:6.1f} GFLOP/s = {100 * gflops / peak:4.1f}% of matmul  allclose={ok}"
        )

    n_threads = torch.get_num_threads()
    log(f"torch threads: {n_threads}, mkldnn available: {torch.backends.mkldnn.is_available()}")
    groups = set(args.variants or VARIANT_GROUPS)
    xr, real = _feature_clip(eager, x1)
    with torch.inference_mode():
        feat_ref = eager.trunk(xr)

    def agree(name: str, fn) -> None:
        """Pooled and 3×3 region features of the reference clip vs fp32 eager."""
        from vloc.backbones import pool_features

        with torch.inference_mode():
            got = fn(xr).float()
        out = {}
        for part, a, b in zip(
            ("pooled", "regions"), pool_features(feat_ref, 3), pool_features(got, 3), strict=True
        ):
            a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
            cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).min().item()
            diff16 = (a.half() != b.half()).sum().item()
            out[part] = {
                "cos_min": round(cos, 7),
                "max_abs": float(f"{(a - b).abs().max().item():.3g}"),
                "scale": round(a.abs().max().item(), 4),
                "fp16_differ": f"{diff16}/{a.numel()}",
            }
        results[name]["features"] = out
        log(
            f"  {'':<34} features vs fp32 eager ({'real clip' if real else 'random clip'}): "
            + "; ".join(
                f"{k} cos≥{v['cos_min']:.6f} max|Δ| {v['max_abs']:.2g} (of {v['scale']:.2g}), "
                f"fp16 differ {v['fp16_differ']}"
                for k, v in out.items()
            )
        )

    report("eager", lambda: eager.trunk(x1), check=lambda: eager.trunk(x1))
    both = fresh(fuse_bn=True, channels_last=True)
    if "layout" in groups:
        fused = fresh(fuse_bn=True)
        report("fuse_bn", lambda: fused.trunk(x1), check=lambda: fused.trunk(x1))
        agree("fuse_bn", fused.trunk)
        cl = fresh(fuse_bn=False, channels_last=True)
        report("channels_last", lambda: cl.trunk(x1), check=lambda: cl.trunk(x1))
    report("fuse_bn+channels_last", lambda: both.trunk(x1), check=lambda: both.trunk(x1))
    agree("fuse_bn+channels_last", both.trunk)

    class Trunk(torch.nn.Module):
        def __init__(self, bb):
            super().__init__()
            self.bb = bb

        def forward(self, x):
            return self.bb.trunk(x)

    if "jit" in groups:
        with torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.freeze(torch.jit.trace(Trunk(fresh()).eval(), x1))
        report("jit.freeze (oneDNN fusion)", lambda: traced(x1), check=lambda: traced(x1))
        with torch.no_grad():
            opt = torch.jit.optimize_for_inference(
                torch.jit.freeze(torch.jit.trace(Trunk(fresh()).eval(), x1))
            )
        report("jit.optimize_for_inference", lambda: opt(x1), check=lambda: opt(x1))
        bench_saved_trace(fresh, x1, report, agree, results)
    if "bf16" in groups:
        bench_bf16(fresh, both, Trunk, x1, report, agree)
    if "int8" in groups:
        bench_int8(fresh, xr, x1, report, agree)
    if "race" in groups:
        results["race"] = bench_race(fresh, x1)
    if args.compile and "compile" in groups:
        comp_model = fresh(fuse_bn=True, channels_last=True)
        # dynamic=False: with dynamic shapes inductor's conv3d lowering fails here
        comp = torch.compile(Trunk(comp_model), dynamic=False)
        t0 = time.perf_counter()
        try:
            with torch.no_grad():
                comp(x1)
        except Exception as e:  # report and carry on: compile support varies by build
            log(f"  torch.compile failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        else:
            ct = time.perf_counter() - t0
            log(f"  torch.compile: first call (compile) {ct:.1f} s")
            with torch.no_grad():
                report("torch.compile(fuse_bn+cl)", lambda: comp(x1), check=lambda: comp(x1))
            results["torch.compile(fuse_bn+cl)"]["compile_s"] = round(ct, 1)
    if n_threads > 1 and "threads" in groups:
        torch.set_num_threads(1)
        report("fuse_bn+cl, 1 thread", lambda: both.trunk(x1), reps=max(1, args.reps - 1))
        torch.set_num_threads(n_threads)
    for b in (2, 4) if "batch" in groups else ():
        xb = torch.randn(b, 3, t, s, s)
        xb[:1] = x1
        report(
            f"fuse_bn+cl, batch {b}",
            lambda xb=xb: both.trunk(xb),
            batch=b,
            reps=max(1, args.reps - 1),
            check=lambda xb=xb: both.trunk(xb),
        )
    return {
        "flops_per_clip": flops,
        "feature_clip": "real" if real else "random",
        "variants": results,
    }


def _feature_clip(backbone, fallback):
    """A real decoded clip ``(1, 3, T, H, W)`` of the open film in ../shared/data (normalised as
    vloc does), or ``fallback`` when the data folder is absent. Returns (clip, is_real)."""
    if not REAL_CLIP.is_file():
        log(f"  ({REAL_CLIP} not found: feature agreement on the random clip)")
        return fallback, False
    import numpy as np

    from vloc import media
    from vloc.backbones import normalise_clips

    t, s = CLIP
    clips = list(media.iter_cue_clips(REAL_CLIP, [REAL_CLIP_SPAN_MS], fps=3.75, clip_len=t, size=s))
    x = normalise_clips(np.stack([clips[0].frames]), backbone.spec.mean, backbone.spec.std)
    return x, True


def bench_saved_trace(fresh, x1, report, agree, results) -> None:
    """The trace as ``--backbone-path jit`` runs it: frozen from the folded channels-last model,
    saved, loaded and optimised (what a second film pays), through vloc.features.execution."""
    from vloc.features import execution
    from vloc.features.execution_store import PathStore

    with tempfile.TemporaryDirectory(prefix="vloc-paths-") as tmp:
        store = PathStore(tmp)
        key = "bench"
        shape = tuple(x1.shape)
        bb = fresh(fuse_bn=True, channels_last=True)
        traced, trace_s, _ = execution.attach_trace(bb, store, key, shape)
        bb2 = fresh(fuse_bn=True, channels_last=True)
        loaded, load_s, _ = execution.attach_trace(bb2, store, key, shape)
        assert traced and not loaded
    log(
        f"  saved trace: trace+freeze+save+load+optimise+warm-up {trace_s:.1f} s; a later "
        f"run's load+optimise+warm-up {load_s:.1f} s"
    )
    name = "jit saved trace (--backbone-path jit)"
    report(name, lambda: bb2.trunk(x1), check=lambda: bb2.trunk(x1))
    results[name].update(trace_s=round(trace_s, 1), load_s=round(load_s, 1))
    agree(name, bb2.trunk)


def bench_race(fresh, x1) -> dict:
    """The default eager model, the saved trace and bf16 autocast, one clip each in turn for
    RACE_ROUNDS rounds: on a shared machine whose load drifts, only alternating timings
    compare paths fairly. Reports the best and the median s/clip of each."""
    import torch

    from vloc.features import execution
    from vloc.features.execution_store import PathStore

    eager = fresh(fuse_bn=True, channels_last=True)
    traced = fresh(fuse_bn=True, channels_last=True)
    with tempfile.TemporaryDirectory(prefix="vloc-paths-") as tmp:
        execution.attach_trace(traced, PathStore(tmp), "race", tuple(x1.shape))

    def bf16(x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return eager.trunk(x)

    contenders = {
        "eager (default)": eager.trunk,
        "jit saved trace": traced.trunk,
        "bf16 autocast": bf16,
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    with torch.inference_mode():
        for fn in contenders.values():
            fn(x1)
        for _ in range(RACE_ROUNDS):
            for name, fn in contenders.items():
                t0 = time.perf_counter()
                fn(x1)
                times[name].append(time.perf_counter() - t0)
    out = {}
    base = min(times["eager (default)"])
    for name, ts in times.items():
        out[name] = {"best": round(min(ts), 3), "median": round(statistics.median(ts), 3)}
        log(
            f"  race {name:<28} best {min(ts):6.2f} s/clip, median {statistics.median(ts):6.2f}"
            f" ({base / min(ts):.2f}× eager's best) over {RACE_ROUNDS} alternating rounds"
        )
    return out


def bench_bf16(fresh, both, Trunk, x1, report, agree) -> None:
    """oneDNN bf16 convolutions: fp32 in and out, bf16 products inside (avx512_bf16 / AMX);
    and bf16 autocast (bf16 activations between layers)."""
    import torch

    conv = torch.backends.mkldnn.conv
    before = conv.fp32_precision
    try:
        conv.fp32_precision = "bf16"
        report(
            "eager, conv fp32_precision=bf16", lambda: both.trunk(x1), check=lambda: both.trunk(x1)
        )
        agree("eager, conv fp32_precision=bf16", both.trunk)
        with torch.no_grad():
            opt = torch.jit.optimize_for_inference(
                torch.jit.freeze(torch.jit.trace(Trunk(fresh()).eval(), x1))
            )
        report("jit.ofi, conv fp32_precision=bf16", lambda: opt(x1), check=lambda: opt(x1))
        agree("jit.ofi, conv fp32_precision=bf16", opt)
    except Exception as e:
        log(
            f"  conv fp32_precision=bf16 failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
        )
    finally:
        conv.fp32_precision = before

    def autocast_bf16(x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return both.trunk(x)

    report("eager, autocast bf16", lambda: autocast_bf16(x1), check=lambda: autocast_bf16(x1))
    agree("eager, autocast bf16", autocast_bf16)


def bench_int8(fresh, xr, x1, report, agree) -> None:
    """int8 static quantisation of the trunk (FX graph mode, fbgemm: per-channel weights,
    activations calibrated on the reference clip and a random one): VNNI int8 convolutions."""
    import copy

    import torch

    try:
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        torch.backends.quantized.engine = "fbgemm"
        bb = fresh(fuse_bn=True)
        trunk = torch.nn.Sequential(*copy.deepcopy(list(bb.trunk_layers))).eval()
        t0 = time.perf_counter()
        prepared = prepare_fx(trunk, get_default_qconfig_mapping("fbgemm"), (x1,))
        with torch.no_grad():
            prepared(xr)
            prepared(x1)
        q = convert_fx(prepared)
        with torch.no_grad():
            q(x1)
        log(f"  int8 (FX, fbgemm): quantising took {time.perf_counter() - t0:.1f} s")
    except Exception as e:
        log(f"  int8 quantisation failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        return
    report("int8 FX static (fbgemm)", lambda: q(x1), check=lambda: q(x1))
    agree("int8 FX static (fbgemm)", q)


def make_video(path: Path, seconds: float, size: str = "1280x720", fps: int = 25) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
         "-crf", "35", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def bench_decode(work: Path) -> dict:
    from vloc.media import iter_frames, probe

    video = work / "decode720p.mp4"
    enc = make_video(video, 20)
    info = probe(video)
    t0 = time.perf_counter()
    n = sum(1 for _ in iter_frames(video, fps=25.0, size=224, info=info))
    dt = time.perf_counter() - t0
    log(
        f"decode 720p25 → 224² rgb at 25 fps: {n / dt:.0f} frames/s ({n} frames, encode took {enc:.1f} s)"
    )
    t0 = time.perf_counter()
    m = sum(1 for _ in iter_frames(video, fps=3.75, size=224, info=info))
    dt2 = time.perf_counter() - t0
    log(
        f"decode 720p25 → 224² at 3.75 fps (i3d default): {m} frames in {dt2:.2f} s = {20 / dt2:.0f}× real time"
    )
    return {"fps_25": round(n / dt, 1), "realtime_x_at_3.75fps": round(20 / dt2, 1)}


def _run_cli(argv: list[str]) -> tuple[float, int, str]:
    """Run ``vloc ...`` in a child; return (wall s, peak RSS of the largest process in KiB, stdout)."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t0 = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t0\n"
        "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
        "print(p.stdout, end='')\n"
        "print(p.stderr[-2000:], file=sys.stderr)\n"
    )
    vloc = [sys.executable, "-m", "vloc"]
    r = subprocess.run([sys.executable, "-c", code, *vloc, *argv], capture_output=True, text=True)
    first, _, rest = r.stdout.partition("\n")
    wall, rss, rc = first.split()
    if int(rc) != 0:
        raise RuntimeError(f"vloc {' '.join(argv)} failed: {r.stderr[-2000:]}")
    return float(wall), int(rss), rest


_COMPUTE_ONLY = """
import sys, time
from pathlib import Path
from vloc import media
from vloc.features import FeatureOptions
from vloc.features.runner import prepare_backbone
from vloc.features.pipeline import run_backbone
from vloc.backbones.weights import resolve_weights
video = Path(sys.argv[1])
info = media.probe(video)
clips = list(media.iter_stride_clips(video, fps=3.75, clip_len=16, size=224, info=info))
opts = FeatureOptions(weights="random", seed=0, mode="stride")
bb = prepare_backbone(resolve_weights("i3d_r50", "random", seed=0), opts)  # eager path
t0 = time.perf_counter()
run_backbone(bb, iter(clips), n=None, grid=None, batch_size=1)
print(time.perf_counter() - t0)
"""


def bench_overlap(work: Path) -> dict:
    """Whole `vloc features` vs backbone-only compute on the same clips."""
    video = work / "overlap720p.mp4"
    make_video(video, 40)

    def compute_only() -> float:
        """Backbone-only time on the clips, pre-decoded in memory, in a fresh process (this
        one has run torch.compile and jit passes, which change oneDNN's state)."""
        r = subprocess.run(
            [sys.executable, "-c", _COMPUTE_ONLY, str(video)], capture_output=True, text=True
        )
        if r.returncode != 0:
            raise RuntimeError(f"compute-only child failed: {r.stderr[-2000:]}")
        return float(r.stdout.split()[-1])

    computes = [compute_only()]
    wall, rss, out = _run_cli(
        [
            "features",
            str(video),
            "--weights",
            "random",
            "--seed",
            "0",
            "--workdir",
            str(work / "ws"),
            "--json",
        ]
    )
    computes.append(compute_only())  # again after, since the machine's load drifts
    compute = min(computes)
    res = json.loads(out)
    extract = res["timings"]["extract_stride"]
    inner = res["timings"]["compute_stride"]
    n = res["shapes"]["stride"]["pooled"][0]
    log(
        f"vloc features (i3d_r50, stride, {n} clips of 16 frames at 3.75 fps, 40 s 720p): "
        f"whole CLI {wall:.1f} s; extraction stage {extract:.1f} s of which model {inner:.1f} s "
        f"(in-run ratio {extract / inner:.3f}); backbone-only compute on pre-decoded clips "
        f"{' / '.join(f'{c:.1f}' for c in computes)} s → extraction/compute {extract / compute:.3f}, "
        f"whole/compute {wall / compute:.3f} (whole includes imports + model build "
        f"{res['timings'].get('build', 0):.1f} s, during which decoding already runs)"
    )
    return {
        "clips": n,
        "compute_s": round(compute, 2),
        "extract_s": round(extract, 2),
        "whole_s": round(wall, 2),
        "ratio_extract": round(extract / compute, 3),
        "ratio_whole": round(wall / compute, 3),
        "in_run_compute_s": round(inner, 2),
        "ratio_in_run": round(extract / inner, 3),
    }


def bench_rss(work: Path) -> dict:
    out = {}
    for minutes in (1, 10):
        video = work / f"rss{minutes}min.mp4"
        enc = make_video(video, 60 * minutes)
        wall, rss, res = _run_cli(
            ["features", str(video), "--backbone", "x3d_m", "--fps", "1", "--weights", "random",
             "--seed", "0", "--workdir", str(work / f"ws{minutes}"), "--json"]
        )  # fmt: skip
        shapes = json.loads(res)["shapes"]["stride"]["pooled"]
        log(
            f"vloc features x3d_m stride at 1 fps on {minutes} min 720p: peak RSS {rss / 1024:.0f} MiB, "
            f"{shapes[0]} clips, {wall:.1f} s (encoding the video took {enc:.1f} s)"
        )
        out[f"{minutes}min"] = {
            "peak_rss_mib": round(rss / 1024),
            "clips": shapes[0],
            "wall_s": round(wall, 1),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions per variant")
    ap.add_argument("--no-compile", dest="compile", action="store_false", help="skip torch.compile")
    ap.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANT_GROUPS,
        help="backbone section: only these groups of variants (eager always runs)",
    )
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    sections = args.only or list(SECTIONS)
    log(f"load average before: {os.getloadavg()}, cpus: {os.cpu_count()}")
    import torch

    peak = matmul_gflops()
    log(
        f"fp32 matmul {MATMUL_N}²: {peak:.1f} GFLOP/s (torch {torch.__version__}, {torch.get_num_threads()} threads)"
    )
    figures: dict = {"matmul_gflops": round(peak, 1)}
    with tempfile.TemporaryDirectory(prefix="vloc-bench-") as tmp:
        work = Path(tmp)
        if "backbone" in sections:
            figures["backbone"] = bench_backbone(args, peak)
        if "decode" in sections:
            figures["decode"] = bench_decode(work)
        if "overlap" in sections:
            figures["overlap"] = bench_overlap(work)
        if "rss" in sections:
            figures["rss"] = bench_rss(work)
    log(
        f"load average after: {os.getloadavg()}; max RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
