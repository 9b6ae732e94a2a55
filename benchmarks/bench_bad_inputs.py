"""Time to a bad-input error, per command: every case must fail in well under 2 s.

Each case runs the installed CLI in a fresh process (as a user or a CI job does), and records
its wall time, exit code and error line. Bad inputs must be rejected before torch, FAISS or a
model load: the fixed cost of ``python -m vloc`` start-up is part of every figure.

    python benchmarks/bench_bad_inputs.py [--json out.json] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 2.0  # every bad-input error must arrive within this wall time
ROOT = Path(__file__).resolve().parents[1]
GOOD_SRT = "1\n00:00:00,000 --> 00:00:01,000\nThe lions rest.\n"
REAL_EN = "The stock market crashed in 2008 and the banks were bailed out."  # not the demo's text
REAL_ZH = "股市在二〇〇八年崩溃，银行得到了救助。"


def cases(d: Path) -> dict[str, list[str]]:
    """(name -> argv after ``vloc``) for bad inputs of every command."""
    video, subs = d / "film.mp4", d / "film.en.srt"
    bad = d / "bad.srt"
    missing = d / "nowhere.mp4"
    return {
        "features: video not found": ["features", str(missing)],
        "features: malformed subtitles": ["features", str(video), "--subs", str(bad)],
        "index: subtitles not found": ["index", str(video), str(d / "none.srt")],
        "index: malformed subtitles": ["index", str(video), str(bad)],
        "translate: video not found": ["translate", str(missing), str(subs), "--to", "zh"],
        "translate: output is the video": [
            "translate", str(video), str(subs), "--to", "zh", "--format", "srt", "-o", str(video)
        ],
        "translate: no model into fr": ["translate", str(video), str(subs), "--to", "fr"],
        "translate: malformed subtitles": ["translate", str(video), str(bad), "--to", "zh"],
        "summarize: output is the subtitles": [
            "summarize", str(video), str(subs), "--to", "en", "-o", str(subs)
        ],
        "summarize: no model into fr": ["summarize", str(video), str(subs), "--to", "fr"],
        "translate: demo model, real subtitles": [
            "translate", str(video), str(d / "real.en.srt"), "--to", "zh"
        ],
        "translate: unknown backbone in the model": [
            "translate", str(video), str(subs), "--to", "zh", "--model", str(d / "bad-model")
        ],
        "summarize: demo model, real transcript": [
            "summarize", str(video), str(d / "real.zh.srt"), "--to", "en"
        ],
        "batch: folder not found": ["batch", str(d / "no-folder"), "--tasks", "index"],
        "eval: table is the manifest": [
            "eval", "translate", "--model", "x", "--data", str(subs), "--table", str(subs)
        ],
        "usage: unknown flag (--json)": ["translate", "--json", "--bogus"],
    }  # fmt: skip


def run(argv: list[str]) -> tuple[float, int, str]:
    env = {**os.environ, "CI": "1"}
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "vloc", *argv], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - t0
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    return wall, p.returncode, errors[0] if errors else p.stderr.strip()[-200:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (median reported)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=d=2:s=64x48:r=8",
             "-pix_fmt", "yuv420p", str(d / "film.mp4")],
            check=True,
        )  # fmt: skip
        (d / "film.en.srt").write_text(GOOD_SRT)
        (d / "bad.srt").write_text(GOOD_SRT.replace("00:00:00,000 -->", "00:0x:00 -->"))
        for name, line in (("real.en.srt", REAL_EN), ("real.zh.srt", REAL_ZH)):
            (d / name).write_text(GOOD_SRT.replace("The lions rest.", line), encoding="utf-8")
        bad_model = shutil.copytree(ROOT / "models" / "synth-en-zh", d / "bad-model")
        info = json.loads((bad_model / "translator.json").read_text(encoding="utf-8"))
        info["features"]["backbone"] = "nope_net"
        (bad_model / "translator.json").write_text(json.dumps(info), encoding="utf-8")
        baseline = statistics.median(run(["--version"])[0] for _ in range(args.repeat))
        rows = []
        for name, argv in cases(d).items():
            walls, rc, line = [], 0, ""
            for _ in range(args.repeat):
                wall, rc, line = run(argv)
                walls.append(wall)
            rows.append({"case": name, "seconds": round(statistics.median(walls), 3),
                         "exit": rc, "error": line})  # fmt: skip
        shutil.rmtree(d / "film.mp4.vloc", ignore_errors=True)
    print(f"`vloc --version` (start-up alone): {baseline:.2f} s; target per case < {TARGET_S} s")
    print("| case | wall s | exit | error line |\n|---|---|---|---|")
    for r in rows:
        flag = "" if r["seconds"] < TARGET_S and r["exit"] != 0 else " **FAIL**"
        print(f"| {r['case']} | {r['seconds']:.2f}{flag} | {r['exit']} | {r['error'][:90]} |")
    if args.json:
        args.json.write_text(json.dumps({"startup_s": baseline, "cases": rows}, indent=2))
    slow = [r for r in rows if r["seconds"] >= TARGET_S or r["exit"] == 0]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
