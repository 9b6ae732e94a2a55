"""End to end on a film-length video, to compare with your hardware (a script, not a test).

``--mode cues`` (the default): ``vloc translate`` (the library's ``translate_subtitles``, as the
CLI calls it) on an N-minute 720p25 synthetic video (ffmpeg ``testsrc2``, cached in OUT) with the
real English subtitles of the largest TopicVD validation film (the cues that start in the first
N minutes; ``../shared/data``, skipped with a reason when absent), paper-size per-cue ``i3d_r50``
features (16 frames 224², 3×3 regions, random weights) and a paper-size translator with random
weights (``TranslatorConfig`` defaults, BPE tokenizers trained on the film's lines; timing only:
a random model never stops early, so decoding is an upper bound).

``--mode stride``: ``vloc features --mode stride`` with 3D-ResNeXt-101 (the summarizer's
extractor: 16 frames at 30 fps, 112², random weights) on the same video.

Each mode runs three times, each in a fresh process: **cold** (empty workspace, empty
``$VLOC_HOME`` — the backbone path is measured, and traced when the film earns it back),
**second film** (empty workspace, ``$VLOC_HOME`` kept: a saved trace is loaded) and **warm**
(the second run's workspace again: everything cached). It reports wall time per stage, peak RSS
(of the whole run and of each stage: a sampler reads the RSS every 10 ms, the progress callback
names the stage), the backbone path taken and why, and the ratio of the features stage to
backbone-only time
(the backbone on the path taken, timed on pre-decoded clips and scaled to the film's clip count),
prints a table and writes ``OUT/film_hour_<mode>_<N>min.json``.

Usage::

    python benchmarks/bench_film_hour.py OUT                      # 60 minutes (about an hour
                                                                  # on a 2-core CPU, 3 runs)
    python benchmarks/bench_film_hour.py OUT --minutes 3          # a quick check
    python benchmarks/bench_film_hour.py OUT --mode stride --minutes 3
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import run_child  # noqa: E402

TOPICVD = ROOT.parent / "shared" / "data" / "topicvd-valid"
VIDEO_SIZE = "1280x720"
VIDEO_FPS = 25
VOCAB = 8000  # BPE ids per language for the random translator
TIMING_CLIPS = 8  # pre-decoded clips timed for the backbone-only figure
RUNS = ("cold", "second film", "warm")
CUE_FEATURES = {"backbone": "i3d_r50", "weights": "random", "seed": 0}  # paper size: 16 × 224²
STRIDE_BACKBONE = "resnext101_3d"


def log(msg: str) -> None:
    print(msg, flush=True)


def make_video(path: Path, minutes: float) -> float:
    """A 720p25 H.264 test pattern of ``minutes`` (kept in OUT: encoding an hour takes minutes)."""
    if path.is_file():
        return 0.0
    t0 = time.perf_counter()
    tmp = path.with_suffix(".part.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={VIDEO_SIZE}:rate={VIDEO_FPS}", "-t", str(60 * minutes),
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-g", str(10 * VIDEO_FPS),
         "-pix_fmt", "yuv420p", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)
    return time.perf_counter() - t0


def _srt_time(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _parse_time(t: str) -> int:
    hms, ms = t.strip().split(",")
    h, m, s = (int(x) for x in hms.split(":"))
    return ((h * 60 + m) * 60 + s) * 1000 + int(ms)


def film_subtitles(
    out: Path, minutes: float, count: int | None = None
) -> tuple[Path, list[str], list[str], str] | None:
    """The largest TopicVD validation film's cues that start in the first ``minutes`` — or, with
    ``count``, its first ``count`` cues with their times scaled to fit ``minutes`` (a denser
    subtitle track than the film's own: more work per minute) — as an SRT in OUT; (path,
    English lines, Chinese lines, film name), or None without the data."""
    info, en, zh = (TOPICVD / f for f in ("valid.info", "valid.en", "valid.zh"))
    if not all(p.is_file() for p in (info, en, zh)):
        return None
    rows = info.read_text(encoding="utf-8").splitlines()
    en_lines = en.read_text(encoding="utf-8").splitlines()
    zh_lines = zh.read_text(encoding="utf-8").splitlines()
    by_film: dict[str, list[tuple[int, int, int, int]]] = collections.defaultdict(list)
    for i, row in enumerate(rows):
        f = row.split("\t")
        by_film[f[0]].append((int(f[3]), _parse_time(f[1]), _parse_time(f[2]), i))
    film = max(by_film, key=lambda k: len(by_film[k]))
    span = int(minutes * 60_000)
    if count:
        first = sorted(by_film[film])[:count]
        scale = span / max(b for _, _, b, _ in first)
        cues = [(int(a * scale), int(b * scale), i) for _, a, b, i in first]
    else:
        cues = sorted(c for c in by_film[film] if c[1] < span)
        cues = [(a, min(b, span), i) for _, a, b, i in cues]
    blocks = [
        f"{n}\n{_srt_time(a)} --> {_srt_time(b)}\n{en_lines[i]}\n"
        for n, (a, b, i) in enumerate(cues, 1)
    ]
    path = out / f"film-{minutes:g}min{f'-{count}cues' if count else ''}.en.srt"
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path, [en_lines[i] for *_, i in cues], [zh_lines[i] for *_, i in cues], film


def build_translator(folder: Path, en: list[str], zh: list[str]) -> Path:
    """A paper-size translator with random weights (timing only) and its tokenizers."""
    import torch

    from vloc.tokenization import train_tokenizer
    from vloc.translator import Translator, TranslatorConfig

    if (folder / "translator.json").is_file():
        return folder
    src = train_tokenizer(en, vocab_size=VOCAB, lang="en")
    tgt = train_tokenizer(zh, vocab_size=VOCAB, lang="zh")
    torch.manual_seed(0)
    cfg = TranslatorConfig(src_vocab_size=src.vocab_size, tgt_vocab_size=tgt.vocab_size)
    Translator(cfg).save(folder)
    src.save(folder / "src_tokenizer")
    tgt.save(folder / "tgt_tokenizer")
    (folder / "translator.json").write_text(json.dumps({"features": CUE_FEATURES}))
    return folder


_CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
t0 = time.perf_counter()
mode, video, subs, model, workdir, output = sys.argv[1:7]
page = os.sysconf("SC_PAGE_SIZE")
stage, peaks = ["setup"], {}

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20

def sample():  # peak RSS per stage, named by the progress callback
    while True:
        peaks[stage[0]] = max(peaks.get(stage[0], 0.0), rss_mib())
        time.sleep(0.01)

def progress(name, done, total, *_):
    peaks[stage[0]] = max(peaks.get(stage[0], 0.0), rss_mib())
    after = {"features": "index", "index": "context", "decode": "write"}
    stage[0] = after[name] if done == total and name in after else name

threading.Thread(target=sample, daemon=True).start()
import vloc
from vloc.features import FeatureOptions, extract_features, load_features
out = {}
if mode == "cues":
    from vloc.pipeline import OwnModel, TranslateOptions, translate_subtitles
    opts = TranslateOptions(to="zh", decoder=OwnModel(model=model), output=output, workdir=workdir)
    r = translate_subtitles(video, subs, opts, progress=progress)
    out["timings"] = r.timings
    out["cache"] = r.cache
    out["cues"] = r.cues
    out["reused"] = r.reused
    ws = Path(workdir)
    metas = sorted(ws.glob("*.vloc/features/cues-*.json"))
    meta = json.loads(metas[-1].read_text()) if metas else {}
    out["backbone_path"] = {"path": meta.get("backbone_path"),
                            "optimizations": meta.get("optimizations")}
else:
    opts = FeatureOptions(backbone=sys.argv[7], weights="random", seed=0, mode="stride")
    r = extract_features(video, options=opts, workdir=workdir, progress=progress)
    out["timings"] = r.timings
    out["cache"] = {"features": r.cache_hit}
    out["clips"] = r.metas["stride"]["shapes"]["pooled"][0]
    out["backbone_path"] = r.backbone_path
out["wall_s"] = time.perf_counter() - t0
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["peak_rss_children_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
out["peak_rss_stages_mib"] = {k: round(v) for k, v in peaks.items()}
print("RESULT " + json.dumps(out))
"""

_BACKBONE_ONLY = r"""
import json, sys, time
import numpy as np, torch
from vloc import media
from vloc.backbones import get_spec, normalise_clips
from vloc.features import FeatureOptions
from vloc.features import execution
from vloc.features.execution_store import PathStore
from vloc.features.runner import prepare_backbone
from vloc.backbones.weights import resolve_weights
video, backbone, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
opts = FeatureOptions(backbone=backbone, weights="random", seed=0)
src = resolve_weights(backbone, "random", seed=0)
spec = get_spec(backbone)
info = media.probe(video)
clips = []
for c in media.iter_stride_clips(video, fps=spec.fps, clip_len=16, size=spec.size, info=info):
    clips.append(c)
    if len(clips) == n + 1:
        break
bb = prepare_backbone(src, opts)
shape = (1, 3, 16, spec.size, spec.size)
if path == "jit":
    key = execution.record_key(backbone=backbone, width=1.0, weights_id=src.identity, shape=shape,
                           device="cpu")
    execution.attach_trace(bb, PathStore(), key, shape)
ts = []
with torch.inference_mode():
    for c in clips:
        x = normalise_clips(np.stack([c.frames]), spec.mean, spec.std)
        t0 = time.perf_counter(); bb.trunk(x); ts.append(time.perf_counter() - t0)
print("RESULT " + json.dumps({"s_per_clip": float(np.median(ts[1:])), "clips": len(ts) - 1}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="folder for the video, model, workspaces and JSON")
    ap.add_argument("--minutes", type=float, default=60.0, help="video length (default 60)")
    ap.add_argument("--mode", choices=("cues", "stride"), default="cues")
    ap.add_argument(
        "--cues",
        type=int,
        default=None,
        help="take the film's first N cues, times scaled into the video (default: the cues that "
        "start within it — 676 for 60 minutes); 1000 gives the ~1,000-cue hour",
    )
    ap.add_argument(
        "--runs",
        default=",".join(RUNS),
        help=f"which of {', '.join(RUNS)} to run (comma-separated; warm needs second film)",
    )
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    log(f"load average before: {os.getloadavg()}, cpus: {os.cpu_count()}")
    video = out / f"film-{args.minutes:g}min-720p.mp4"
    enc = make_video(video, args.minutes)
    log(f"video {video} ({args.minutes:g} min {VIDEO_SIZE} {VIDEO_FPS} fps)"
        + (f", encoded in {enc:.0f} s" if enc else ", cached"))  # fmt: skip
    subs, model, film = "", "", None
    if args.mode == "cues":
        got = film_subtitles(out, args.minutes, args.cues)
        if got is None:
            log(f"skipped: TopicVD validation data not found in {TOPICVD} (see its README)")
            return 0
        subs_path, en, zh, film = got
        subs = str(subs_path)
        log(f"subtitles: {len(en)} cues of {film!r} (the largest TopicVD validation film)")
        model = str(build_translator(out / "model-paper-random", en, zh))
    home = out / f"home-{args.mode}"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "VLOC_HOME": str(home), "PYTHONPATH": str(ROOT)}
    runs: dict[str, dict] = {}
    ws = out / f"ws-{args.mode}-cold"
    for name in [r for r in RUNS if r in args.runs.split(",")]:
        if name != "warm":  # warm: the workspace of the run before, everything cached
            ws = out / f"ws-{args.mode}-{'cold' if name == 'cold' else 'second'}"
            shutil.rmtree(ws, ignore_errors=True)
        ws.mkdir(parents=True, exist_ok=True)
        output = str(ws / f"film.{name.replace(' ', '-')}.zh.srt")
        argv = [args.mode, str(video), subs, model, str(ws), output, STRIDE_BACKBONE]
        log(f"run: {name} ...")
        runs[name] = run_child(_CHILD, argv, env)
        log(f"  {json.dumps(runs[name])}")
    first = next(iter(runs.values()))
    path = first["backbone_path"]["path"] or "eager"
    backbone = "i3d_r50" if args.mode == "cues" else STRIDE_BACKBONE
    only = run_child(_BACKBONE_ONLY, [str(video), backbone, path, str(TIMING_CLIPS)], env)
    n = first.get("cues") or first.get("clips") or 0
    backbone_s = only["s_per_clip"] * n
    feature_stage = "features" if args.mode == "cues" else "extract_stride"
    table = []
    for name, r in runs.items():
        t = r["timings"]
        table.append(
            {
                "run": name,
                "wall_s": round(r["wall_s"], 1),
                "stages": {k: round(v, 1) for k, v in t.items()},
                "features_over_backbone": round(t.get(feature_stage, 0) / backbone_s, 3)
                if backbone_s
                else None,
                "total_over_backbone": round(r["wall_s"] / backbone_s, 3) if backbone_s else None,
                "peak_rss_mib": round(max(r["peak_rss_mib"], r["peak_rss_children_mib"])),
                "peak_rss_stages_mib": r.get("peak_rss_stages_mib"),
                "backbone_path": r.get("backbone_path"),
            }
        )
    log("")
    log(f"{args.mode}, {args.minutes:g} min, {n} {'cues' if args.mode == 'cues' else 'clips'}, "
        f"{backbone} on the {path} path: backbone-only {only['s_per_clip']:.2f} s/clip × {n} = "
        f"{backbone_s:.0f} s")  # fmt: skip
    log(f"{'run':<12} {'wall s':>8} {'RSS MiB':>8} {'feat/bb':>8} {'all/bb':>8}  stages (s)")
    for row in table:
        stages = ", ".join(f"{k} {v:g}" for k, v in row["stages"].items() if k != "total")
        log(
            f"{row['run']:<12} {row['wall_s']:>8.1f} {row['peak_rss_mib']:>8} "
            f"{row['features_over_backbone'] or 0:>8.3f} {row['total_over_backbone'] or 0:>8.3f}"
            f"  {stages}"
        )
    for row in table:
        stages = ", ".join(f"{k} {v}" for k, v in (row["peak_rss_stages_mib"] or {}).items())
        log(f"{row['run']}: peak RSS per stage (MiB): {stages}")
    for row in table:
        bp = row["backbone_path"] or {}
        if bp.get("reason"):
            log(f"{row['run']}: path {bp.get('path')} — {bp.get('reason')}")
    result = {
        "mode": args.mode,
        "minutes": args.minutes,
        "film": film,
        "units": n,
        "backbone": backbone,
        "backbone_only": {**only, "total_s": round(backbone_s, 1), "path": path},
        "runs": table,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    dest = out / f"film_hour_{args.mode}_{args.minutes:g}min.json"
    dest.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
