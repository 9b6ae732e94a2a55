"""Benchmark resumable feature extraction on this machine (a script, not a test).

Prints, in one run:

1. ``vloc features`` (stride clips) on a synthetic video: the wall time of an uninterrupted run,
   then of a run killed with SIGKILL once ``--kill-after`` chunks are saved, then of the
   resumed run; the resumed run's output is checked byte for byte against the uninterrupted
   one;
2. what the resume's seek saves over decoding up to the resume point and throwing the frames
   away: time to the first clip of ``iter_stride_clips(start_clip=k)`` (seeking) against
   decoding the first ``k`` clips, on a 720p25 synthetic video;
3. the cost of taking and releasing a workspace lock that nobody else holds.

Usage::

    python benchmarks/bench_resume.py                        # ~2 min on 2 cores
    python benchmarks/bench_resume.py --seconds 600 --kill-after 6
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TINY = ["--backbone", "x3d_m", "--weights", "random", "--seed", "0"]
TINY += ["--fps", "8", "--clip-len", "8", "--mode", "stride"]  # one clip per second of video
TINY += ["--threads", "1"]  # two threads on a shared 2-core machine vary tenfold with its load


def _video(path: Path, seconds: float, size: str) -> Path:
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25"]
    argv += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", str(path)]
    subprocess.run(argv, check=True)
    return path


def _vloc(video: Path, work: Path, size: int) -> subprocess.Popen:
    argv = [sys.executable, "-m", "vloc", "features", str(video), *TINY, "--size", str(size)]
    argv += ["--workdir", str(work)]
    return subprocess.Popen(
        [*argv, "--json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def resume(tmp: Path, seconds: float, kill_after: int, size: int) -> dict:
    from vloc.features.chunks import CHUNK_CLIPS

    video = _video(tmp / "film.mp4", seconds, "96x64")
    t0 = time.perf_counter()
    out, err = _vloc(video, tmp / "full", size).communicate()
    full_s = time.perf_counter() - t0
    full = Path(json.loads(out)["outputs"]["stride"]).read_bytes()

    work = tmp / "killed"
    t0 = time.perf_counter()
    proc = _vloc(video, work, size)
    target = f"{kill_after - 1:05d}.safetensors"
    while not list(work.glob(f"*/features/partial/*/{target}")):
        if proc.poll() is not None:
            raise SystemExit(f"the run ended before chunk {kill_after} was saved: {proc.stderr}")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    killed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out, err = _vloc(video, work, size).communicate()
    resumed_s = time.perf_counter() - t0
    res = json.loads(out)
    same = Path(res["outputs"]["stride"]).read_bytes() == full
    clips = round(seconds)
    return {
        "clips": clips,
        "size": size,
        "chunk_clips": CHUNK_CLIPS,
        "full_s": round(full_s, 2),
        "killed_after_s": round(killed_s, 2),
        "resumed_clips": res["resumed"]["stride"],
        "resumed_run_s": round(resumed_s, 2),
        "resumed_over_full": round(resumed_s / full_s, 3),
        "identical_bytes": same,
    }


def seek(tmp: Path, seconds: float, fraction: float) -> dict:
    from vloc.media import iter_stride_clips, probe

    video = _video(tmp / "hd.mp4", seconds, "1280x720")
    info = probe(video)
    fps, clip_len = 30 / 8, 16  # i3d_r50's rate and clip
    start = int(seconds * fps / clip_len * fraction)
    t0 = time.perf_counter()
    it = iter_stride_clips(video, fps=fps, clip_len=clip_len, info=info, start_clip=start)
    first = next(it)
    it.close()
    seek_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    it = iter_stride_clips(video, fps=fps, clip_len=clip_len, info=info)
    for clip in it:
        if clip.index == start:
            break
    it.close()
    skip_s = time.perf_counter() - t0
    assert first.index == clip.index == start and (first.frames == clip.frames).all()
    return {
        "video_s": seconds,
        "resume_at_clip": start,
        "seek_to_first_clip_s": round(seek_s, 3),
        "decode_and_skip_s": round(skip_s, 3),
        "same_frames": True,
    }


def lock(tmp: Path, n: int = 200) -> dict:
    from vloc.workspace import Workspace

    ws = Workspace(root=tmp / "ws", name="x")
    with ws.lock("warm"):
        pass
    t0 = time.perf_counter()
    for _ in range(n):
        with ws.lock("warm"):
            pass
    return {"lock_and_release_ms": round((time.perf_counter() - t0) / n * 1000, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300, help="video length for the kill test")
    ap.add_argument("--kill-after", type=int, default=4, help="chunks saved before the kill")
    ap.add_argument("--size", type=int, default=112, help="x3d_m crop side, px")
    ap.add_argument("--hd-seconds", type=float, default=300, help="720p video for the seek test")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(
            json.dumps({"resume": resume(tmp, args.seconds, args.kill_after, args.size)}),
            flush=True,
        )
        print(json.dumps({"seek": seek(tmp, args.hd_seconds, 0.9)}), flush=True)
        print(json.dumps({"lock": lock(tmp)}), flush=True)


if __name__ == "__main__":
    main()
