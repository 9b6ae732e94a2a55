"""Generate the example film ``film.mp4`` (20 s, 4 visually distinct scenes) with ffmpeg's lavfi sources.

The film is generated rather than committed so the repository carries no video binaries.
Its subtitles, ``film.en.srt``, are committed next to this script.

    python examples/make_film.py examples/film.mp4
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCENE_SECONDS = 5
FPS = 25
SIZE = "320x240"
# One lavfi source per scene: four visually distinct "topics".
SCENES = (
    f"mandelbrot=size={SIZE}:rate={FPS}",
    f"life=size={SIZE}:rate={FPS}:mold=10:ratio=0.1:death_color=#1f3b73:life_color=#4fa3ff",
    f"cellauto=size={SIZE}:rate={FPS}:rule=30",
    f"testsrc2=size={SIZE}:rate={FPS}",
)


def make_film(out: Path) -> Path:
    argv = ["ffmpeg", "-v", "error", "-y"]
    for src in SCENES:
        argv += ["-f", "lavfi", "-t", str(SCENE_SECONDS), "-i", src]
    labels = "".join(f"[{i}:v]format=yuv420p,setsar=1[v{i}];" for i in range(len(SCENES)))
    concat = "".join(f"[v{i}]" for i in range(len(SCENES))) + f"concat=n={len(SCENES)}:v=1:a=0[out]"
    tmp = out.with_name(f".{out.name}.tmp.mp4")
    argv += [
        "-filter_complex",
        labels + concat,
        "-map",
        "[out]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "28",
        "-pix_fmt",
        "yuv420p",
        str(tmp),
    ]
    try:
        subprocess.run(argv, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("error: ffmpeg is not installed (Debian: apt-get install ffmpeg)")
    except subprocess.CalledProcessError as e:
        tmp.unlink(missing_ok=True)
        sys.exit(f"error: ffmpeg failed making {out}: {e.stderr.strip()[-500:]}")
    os.replace(tmp, out)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("film.mp4"))
    if not target.exists():
        make_film(target)
        print(f"wrote {target}", file=sys.stderr)
