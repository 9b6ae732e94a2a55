"""Memory of `vloc batch` vs the number of videos: peak RSS for N = 10 and N = 100.

Each N runs in a fresh child process (the features task, x3d_m with random weights at 1/16
width on 32 px crops, 1-second synthetic videos, local in-process executor). Peak RSS is
``ru_maxrss`` of that child; ``rss_after`` samples VmRSS after every finished video, so a leak
shows as growth from the first to the last video.

    python benchmarks/bench_batch.py [--counts 10 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VIDEO_SECONDS = 1.0  # each synthetic video: 1 s at 8 fps, 64x48
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from vloc.batch import BatchOptions, discover, parse_tasks, run_batch
from vloc.features.options import FeatureOptions

src, out = Path(sys.argv[1]), Path(sys.argv[2])

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")

samples = []
t0 = time.perf_counter()
opts = BatchOptions(features=FeatureOptions(backbone="x3d_m", weights="random", seed=0,
                                            width=1 / 16, size=32, fps=8.0, clip_len=8))
rep = run_batch(discover(src), parse_tasks("features"), out, options=opts,
                on_result=lambda r, d, n: samples.append(round(rss_mib(), 1)))
print(json.dumps({
    "videos": rep["summary"]["videos"], "ok": rep["summary"]["ok"],
    "seconds": round(time.perf_counter() - t0, 2),
    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "rss_first_mib": samples[0], "rss_last_mib": samples[-1],
}))
"""


def make_videos(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    first = folder / "v000.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size=64x48:rate=8:duration={VIDEO_SECONDS}", "-pix_fmt", "yuv420p",
         str(first)],
        check=True,
    )  # fmt: skip
    data = first.read_bytes()
    for i in range(1, n):  # same frames, distinct files (and distinct features caches)
        (folder / f"v{i:03d}.mp4").write_bytes(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.counts:
            src = Path(tmp) / f"src{n}"
            make_videos(src, n)
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(src), str(Path(tmp) / f"out{n}")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    if len(rows) >= 2:
        growth = rows[-1]["peak_rss_mib"] - rows[0]["peak_rss_mib"]
        print(f"peak RSS growth from {rows[0]['videos']} to {rows[-1]['videos']} videos: "
              f"{growth:+.1f} MiB", flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "when": time.time()}, indent=1))


if __name__ == "__main__":
    main()
