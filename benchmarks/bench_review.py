#!/usr/bin/env python
"""Benchmark ``vloc review`` on a real long film: page size, write time, open and scroll time.

    python benchmarks/bench_review.py [--data ../shared/data/topicvd-valid] [--cues N]
                                      [--workdir DIR] [--screenshot-only]

The film is the largest TopicVD validation documentary (1,483 real English cues, with the real
Chinese subtitles as the translation); ``--cues N`` above that appends the next largest films'
cues after it (times shifted) up to N cues, for a longer page. The films themselves are not
available, so the video is a synthetic one of the same length (lavfi ``testsrc2``, 160 × 90,
1 fps): the page has its player, timeline strip and one thumbnail per cue.

Prints: the page's bytes (and its thumbnail folder's), the write time, and in the Debian
chromium (headless, Playwright): the time from navigation to the page being ready (median of
3 opens, seen from Python; and inside the page, from navigation start to the end of the page's
script and to the load event), DOM elements, JS heap, and the time of each of 40 scroll steps down the whole table
(median and worst, each waited for two animation frames), and of 60 wheel-sized steps of
400 px. Targets: ready < 2 s, worst scroll step < 100 ms.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "topicvd-valid"
READY_TARGET_S = 2.0
SCROLL_TARGET_MS = 100.0
OPENS = 3
SCROLL_STEPS = 40  # jumps of 1/40 of the page (a scrollbar drag): every step a fresh screen
WHEEL_STEPS = 60  # steps of 400 px (a mouse wheel's flick)


def _ms(t: str) -> int:
    hms, ms = t.replace(".", ",").split(",")
    h, m, s = (int(x) for x in hms.split(":"))
    return ((h * 60 + m) * 60 + s) * 1000 + int(ms)


def _srt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def film_subtitles(data: Path, out: Path, cues: int | None) -> tuple[Path, Path, str, int]:
    """(English SRT, Chinese SRT, film name, duration ms) of the largest film (see above)."""
    rows = (data / "valid.info").read_text(encoding="utf-8").splitlines()
    en = (data / "valid.en").read_text(encoding="utf-8").splitlines()
    zh = (data / "valid.zh").read_text(encoding="utf-8").splitlines()
    by_film: dict[str, list[tuple[int, int, int, int]]] = collections.defaultdict(list)
    for i, row in enumerate(rows):
        f = row.split("\t")
        by_film[f[0]].append((int(f[3]), _ms(f[1]), _ms(f[2]), i))
    films = sorted(by_film, key=lambda k: -len(by_film[k]))
    picked: list[tuple[int, int, int]] = []
    offset = 0
    for film in films:
        part = sorted(by_film[film])
        picked += [(a + offset, b + offset, i) for _, a, b, i in part]
        offset = picked[-1][1] + 5000
        if cues is None or len(picked) >= cues:
            break
    picked = picked[:cues] if cues else picked
    name = films[0].split("/")[0] + (
        f" + {len(picked) - len(by_film[films[0]])} more" if cues else ""
    )
    paths = []
    for lang, lines in (("en", en), ("zh", zh)):
        blocks = [
            f"{n}\n{_srt_time(a)} --> {_srt_time(b)}\n{lines[i]}\n"
            for n, (a, b, i) in enumerate(picked, 1)
        ]
        p = out / f"film.{lang}.srt"
        p.write_text("\n".join(blocks), encoding="utf-8")
        paths.append(p)
    return paths[0], paths[1], name, picked[-1][1] + 2000


def make_video(path: Path, duration_ms: int) -> None:
    if path.exists():
        return
    argv = [
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
        "-i", "testsrc2=size=160x90:rate=1", "-t", f"{duration_ms / 1000:.3f}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    subprocess.run(argv, check=True)


def folder_bytes(folder: Path | None) -> int:
    return sum(p.stat().st_size for p in folder.iterdir()) if folder else 0


def measure_browser(page: Path) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (scripts/setup.sh --test)")
    out: dict = {"ready_s": [], "errors": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for k in range(OPENS):
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            pg = ctx.new_page()
            pg.on("console", lambda m: out["errors"].append(m.text) if m.type == "error" else None)
            t0 = time.perf_counter()
            pg.goto(page.as_uri())
            pg.wait_for_selector("html[data-ready='1']", timeout=120_000)
            out["ready_s"].append(time.perf_counter() - t0)
            marks = pg.evaluate(
                "(() => { const n = performance.getEntriesByType('navigation')[0];"
                " const r = performance.getEntriesByName('vloc-ready')[0];"
                " return [r ? r.startTime : null, n.loadEventEnd]; })()"
            )
            out.setdefault("script_ready_ms", []).append(marks[0])
            out.setdefault("load_ms", []).append(marks[1])
            if k == OPENS - 1:
                out["dom_elements"] = pg.evaluate("document.getElementsByTagName('*').length")
                out["rows"] = pg.evaluate("document.querySelectorAll('tr[data-cue]').length")
                out["js_heap_mb"] = pg.evaluate(
                    "performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null"
                )
                out["scroll_ms"] = pg.evaluate(
                    """async (steps) => {
                      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
                      const h = document.documentElement.scrollHeight, times = [];
                      for (let k = 1; k <= steps; k++) {
                        const t = performance.now();
                        window.scrollTo(0, h * k / steps);
                        await frame(); await frame();
                        times.push(performance.now() - t);
                      }
                      return times;
                    }""",
                    SCROLL_STEPS,
                )
                out["wheel_ms"] = pg.evaluate(
                    """async (steps) => {
                      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
                      window.scrollTo(0, document.documentElement.scrollHeight / 3);
                      await frame(); await frame();
                      const times = [];
                      for (let k = 0; k < steps; k++) {
                        const t = performance.now();
                        window.scrollBy(0, 400);
                        await frame(); await frame();
                        times.push(performance.now() - t);
                      }
                      return times;
                    }""",
                    WHEEL_STEPS,
                )
                out["imgs_loaded"] = pg.evaluate(
                    "[...document.querySelectorAll('td.frame img')].filter(i => i.complete && i.naturalWidth).length"
                )
            ctx.close()
        browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cues", type=int, default=None, help="cues on the page (default: one film)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the files here")
    ap.add_argument("--related", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.data / "valid.info").is_file():
        print(f"SKIP: TopicVD data not found in {args.data}")
        return 0
    sys.path.insert(0, str(ROOT))
    from vloc.review import write_review

    tmp = None
    work = args.workdir
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="vloc-bench-review-")
        work = Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    en, zh, name, duration = film_subtitles(args.data, work, args.cues)
    video = work / "film.mp4"
    make_video(video, duration)
    figures: dict = {"film": name, "duration_min": round(duration / 60000, 1)}
    for mode in ("auto", "embed"):
        page = work / f"review-{mode}.html"
        t0 = time.perf_counter()
        res = write_review(video, en, zh, page, related=args.related, thumbnails=mode)
        figures[mode] = {
            "write_s": round(time.perf_counter() - t0, 1),
            "rows": res.rows,
            "thumbnail_mode": res.thumbnail_mode,
            "page_mb": round(res.page_bytes / 2**20, 2),
            "folder_mb": round(folder_bytes(res.files) / 2**20, 2),
            "encoder": res.encoder,
        }
        b = measure_browser(page)
        figures[mode].update(
            ready_s=round(statistics.median(b["ready_s"]), 2),
            ready_all_s=[round(x, 2) for x in b["ready_s"]],
            script_ready_ms=round(statistics.median(b["script_ready_ms"])),
            load_ms=round(statistics.median(b["load_ms"])),
            dom_elements=b["dom_elements"],
            table_rows=b["rows"],
            js_heap_mb=None if b["js_heap_mb"] is None else round(b["js_heap_mb"], 1),
            scroll_median_ms=round(statistics.median(b["scroll_ms"]), 1),
            scroll_worst_ms=round(max(b["scroll_ms"]), 1),
            wheel_median_ms=round(statistics.median(b["wheel_ms"]), 1),
            wheel_worst_ms=round(max(b["wheel_ms"]), 1),
            console_errors=len(b["errors"]),
        )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"film: {name}, {figures['duration_min']} min (synthetic video of that length); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        for mode in ("auto", "embed"):
            f = figures[mode]
            print(
                f"thumbnails {mode} -> {f['thumbnail_mode']}: {f['rows']} cues, page "
                f"{f['page_mb']} MB + folder {f['folder_mb']} MB, written in {f['write_s']} s "
                f"(related cues: {f['encoder']})"
            )
            print(
                f"  open: ready in {f['ready_s']} s (median of {OPENS}: {f['ready_all_s']}) "
                f"[{'PASS' if f['ready_s'] < READY_TARGET_S else 'FAIL'} < {READY_TARGET_S} s]; "
                f"in the page: script done at {f['script_ready_ms']} ms, load event at "
                f"{f['load_ms']} ms; "
                f"{f['dom_elements']} elements, {f['table_rows']} rows, JS heap {f['js_heap_mb']} MB"
            )
            print(
                f"  scroll: {SCROLL_STEPS} steps, median {f['scroll_median_ms']} ms, worst "
                f"{f['scroll_worst_ms']} ms "
                f"[{'PASS' if f['scroll_worst_ms'] < SCROLL_TARGET_MS else 'FAIL'} < "
                f"{SCROLL_TARGET_MS:g} ms]; {WHEEL_STEPS} wheel steps of 400 px: median "
                f"{f['wheel_median_ms']} ms, worst {f['wheel_worst_ms']} ms; console errors: "
                f"{f['console_errors']}"
            )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
