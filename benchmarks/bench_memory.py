"""Peak memory of ``vloc translate`` per stage as the film grows (a script, not a test).

The pipeline of ``bench_film_hour.py`` (the library's ``translate_subtitles``, as the CLI calls
it: per-cue ``i3d_r50`` features with random weights, the subtitle index, the eq. 1–3 context and
a paper-size translator with random weights) on films of 50, 200 and 800 cues (``--cues``): the
first N cues of the largest TopicVD validation film (``../shared/data``; skipped with a reason
when absent), their times scaled to ``--seconds-per-cue`` (5.3 s: that film's density), over
one 640×360 synthetic video long enough for the largest film. Each film runs cold (empty
workspace) in a fresh process; a sampler thread reads the process's RSS every 10 ms and the
progress callback names the stage, so the script prints the peak RSS of every stage — setup
(imports, model), features, index, context, decode, write — and the process's ``ru_maxrss``.
Memory that is flat in the film's length shows the same peaks at every size.

Usage::

    python benchmarks/bench_memory.py OUT                          # 50, 200, 800 cues, 224²
    python benchmarks/bench_memory.py OUT --cues 20,50 --width 0.25  # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import run_child  # noqa: E402
from bench_film_hour import build_translator, film_subtitles, log  # noqa: E402

VIDEO_SIZE = "640x360"
VIDEO_FPS = 25
STAGES = ("setup", "features", "index", "context", "decode", "write")

_CHILD = r"""
import json, os, resource, sys, threading, time
video, subs, model, workdir, width, path = sys.argv[1:7]
page = os.sysconf("SC_PAGE_SIZE")
stage = ["setup"]
peaks = {}
stop = threading.Event()

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20

def sample():
    while not stop.is_set():
        r = rss_mib()
        peaks[stage[0]] = max(peaks.get(stage[0], 0.0), r)
        time.sleep(0.01)

threading.Thread(target=sample, daemon=True).start()

def progress(name, done, total):
    r = rss_mib()  # the stage that ends here gets its last reading too
    peaks[stage[0]] = max(peaks.get(stage[0], 0.0), r)
    after = {"features": "index", "index": "context", "decode": "write"}  # once done
    stage[0] = after[name] if done == total and name in after else name

from vloc.pipeline import OwnModel, TranslateOptions, translate_subtitles
opts = TranslateOptions(to="zh", decoder=OwnModel(model=model, backbone_path=path),
                        workdir=workdir, output=os.path.join(workdir, "out.zh.srt"))
t0 = time.perf_counter()
r = translate_subtitles(video, subs, opts, progress=progress)
stop.set()
print("RESULT " + json.dumps({"cues": r.cues, "wall_s": time.perf_counter() - t0,
                              "timings": r.timings, "peaks_mib": peaks,
                              "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_video(path: Path, seconds: float) -> None:
    if path.is_file():
        return
    tmp = path.with_suffix(".part.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={VIDEO_SIZE}:rate={VIDEO_FPS}", "-t", f"{seconds:.0f}",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-g", str(10 * VIDEO_FPS),
         "-pix_fmt", "yuv420p", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)


def translator(folder: Path, en: list[str], zh: list[str], width: float, feats: dict) -> Path:
    """``bench_film_hour``'s paper-size random translator; its video input is the backbone's
    width (D = 2048 × width)."""
    import torch

    from vloc.translator import Translator

    if (folder / "translator.json").is_file():
        return folder
    build_translator(folder, en, zh)
    if width != 1.0:
        model = Translator.from_folder(folder)
        torch.manual_seed(0)
        cfg = replace(model.config, video_dim=round(2048 * width))
        Translator(cfg).save(folder)
    (folder / "translator.json").write_text(json.dumps({"features": feats}))
    return folder


def run_one(video: Path, subs: Path, model: Path, ws: Path, args: argparse.Namespace) -> dict:
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VLOC_HOME": str(args.out / "home")}
    argv = [str(video), str(subs), str(model), str(ws), str(args.width), args.path]
    return run_child(_CHILD, argv, env)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="folder for the video, model, workspaces and JSON")
    ap.add_argument("--cues", default="50,200,800", help="film sizes in cues (comma-separated)")
    ap.add_argument("--seconds-per-cue", type=float, default=5.3, help="film density (5.3 s)")
    ap.add_argument("--width", type=float, default=1.0, help="backbone width (1.0: paper size)")
    ap.add_argument("--path", default="eager", help="backbone path: eager | jit | auto | compile")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = sorted(int(c) for c in args.cues.split(","))
    minutes = max(sizes) * args.seconds_per_cue / 60
    video = args.out / f"film-{minutes:.1f}min-{VIDEO_SIZE}.mp4"
    make_video(video, minutes * 60 + 5)
    feats = {"backbone": "i3d_r50", "weights": "random", "seed": 0, "width": args.width}
    films = {n: film_subtitles(args.out, n * args.seconds_per_cue / 60, n) for n in sizes}
    if any(f is None for f in films.values()):
        log("skipped: TopicVD validation data not found (see ../shared/data/README.md)")
        return 0
    _subs, en, zh, _film = films[max(sizes)]  # type: ignore[misc]
    model = translator(args.out / f"model-w{args.width:g}", en, zh, args.width, feats)
    rows = []
    for n in sizes:
        subs = films[n][0]  # type: ignore[index]
        log(f"{n} cues ...")
        r = run_one(video, subs, model, args.out / f"ws-{n}", args)
        rows.append(r)
        log(f"  {json.dumps(r)}")
    log(f"\ni3d_r50 width {args.width:g}, path {args.path}; peak RSS MiB per stage")
    log(f"{'cues':>6} " + " ".join(f"{s:>9}" for s in STAGES) + f" {'maxrss':>8} {'wall s':>7}")
    for r in rows:
        p = r["peaks_mib"]
        log(f"{r['cues']:>6} " + " ".join(f"{p.get(s, 0):>9.0f}" for s in STAGES)
            + f" {r['ru_maxrss_mib']:>8.0f} {r['wall_s']:>7.1f}")  # fmt: skip
    if len(rows) > 1:
        lo, hi = rows[0], rows[-1]
        slope = (hi["ru_maxrss_mib"] - lo["ru_maxrss_mib"]) / (hi["cues"] - lo["cues"])
        spread = hi["ru_maxrss_mib"] / lo["ru_maxrss_mib"] - 1
        log(f"peak RSS {lo['cues']} → {hi['cues']} cues: {spread:+.1%}, {slope:.2f} MiB per cue")
    dest = args.out / "memory.json"
    dest.write_text(json.dumps({"width": args.width, "path": args.path, "runs": rows}, indent=2))
    log(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
