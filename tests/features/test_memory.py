"""Memory that does not grow with the film: the per-cue features stage, in fresh processes.

The stage runs on a short synthetic film with few and with many cues (each in its own process,
so neither inherits the other's heap); the peak RSS (``ru_maxrss``) of the longer film may exceed
the shorter one's by at most ``MAX_MIB_PER_CUE`` per extra cue. Kept per-clip outputs once made
the heap grow by about one clip of activations per cue (~9 MiB at 16 × 224² and full width;
here, at width 0.25, 3.3 MiB per cue, against 0.36 since); the bound leaves room for noise.
Not a timing test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_films import make_video

from vloc.errors import CacheError
from vloc.features.store import map_tensor, read_entry, release_pages
from vloc.index import film_context

ROOT = Path(__file__).resolve().parents[2]
MAX_MIB_PER_CUE = 1.5
FEW, MANY = 8, 48

_CHILD = r"""
import json, resource, sys
from vloc.features import FeatureOptions, extract_features
video, subs, workdir = sys.argv[1:4]
opts = FeatureOptions(backbone="i3d_r50", weights="random", seed=0, width=0.25,
                      backbone_path="eager", threads=1)
r = extract_features(video, subs=subs, options=opts, workdir=workdir)
print("RESULT " + json.dumps({"shape": r.metas["cues"]["shapes"]["regions"],
                              "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _srt(path: Path, cues: int) -> Path:
    def t(ms: int) -> str:
        return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [
        f"{i + 1}\n{t(i * 1000 + 100)} --> {t(i * 1000 + 900)}\nline {i}\n" for i in range(cues)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def _peak_mib(video: Path, subs: Path, workdir: Path) -> tuple[float, list[int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, str(video), str(subs), str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    lines = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, f"feature extraction failed (exit {r.returncode}): {r.stderr[-2000:]}"
    got = json.loads(lines[-1][len("RESULT ") :])
    return got["maxrss_mib"], got["shape"]


@pytest.mark.slow
def test_peak_rss_of_cue_features_does_not_grow_with_the_cue_count(tmp_path):
    video = make_video(tmp_path / "film.mp4", seconds=MANY + 2, size="320x240")
    few, few_shape = _peak_mib(video, _srt(tmp_path / "few.srt", FEW), tmp_path / "ws-few")
    many, many_shape = _peak_mib(video, _srt(tmp_path / "many.srt", MANY), tmp_path / "ws-many")
    assert few_shape == [FEW, 9, 512] and many_shape == [MANY, 9, 512]  # 16 × 224² clips
    per_cue = (many - few) / (MANY - FEW)
    assert per_cue < MAX_MIB_PER_CUE, (
        f"peak RSS {few:.0f} MiB for {FEW} cues, {many:.0f} MiB for {MANY}: "
        f"{per_cue:.2f} MiB per cue (bound {MAX_MIB_PER_CUE})"
    )


@pytest.mark.parametrize("n", [3, 40])  # fewer cues than P (padding), and a film
def test_a_lazy_context_gathers_the_eager_blocks_bit_for_bit(n):
    rng = np.random.default_rng(n)
    half = rng.normal(size=(n, 3, 8)).astype(np.float16)  # (N, R, D) as the store keeps them
    texts = [f"line {i % 7}" for i in range(n)]  # repeated lines: tied similarities
    emb = rng.normal(size=(n, 6)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    for kind in ("global", "temporal", "own"):
        eager = film_context(kind, texts, half, p=10, w=2, gamma=0.1, embeddings=emb)
        lazy = film_context(kind, texts, half, p=10, w=2, gamma=0.1, embeddings=emb, lazy=True)
        assert lazy.segments is None and lazy.raw is half  # nothing widened up front
        for rows in ([0], [n - 1, 0, n // 2], list(range(n))):
            (ve, me), (vl, ml) = eager.gather(rows), lazy.gather(rows)
            assert vl.dtype == np.float32 and vl.shape == ve.shape
            assert np.array_equal(ml, me) and np.array_equal(vl, ve), (kind, rows)
        if kind != "own":  # the fusion is there: a lazy block is not the raw segment
            assert not np.array_equal(lazy.gather([1])[0][0, 0], half[1].astype(np.float32))


def test_map_tensor_reads_the_stored_float16_without_a_copy_and_refuses_damage(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    regions = rng.normal(size=(5, 4, 6)).astype(np.float16)
    path = tmp_path / "cues.safetensors"
    save_file({"pooled": regions.mean(1), "regions": regions}, str(path))
    meta = {"kind": "cues", "shapes": {"regions": [5, 4, 6], "pooled": [5, 6]}}
    mapped = map_tensor(path, "regions", meta)
    assert mapped.dtype == np.float16 and not mapped.flags.writeable
    assert not mapped.flags.owndata  # a view of the file, not a copy
    assert np.array_equal(mapped, regions)
    release_pages(mapped)  # the pages go, the values stay readable
    assert np.array_equal(mapped, regions)
    assert np.array_equal(read_entry(path, meta).regions, regions.astype(np.float32))
    with pytest.raises(CacheError, match="does not match its metadata shape"):
        map_tensor(path, "regions", {"shapes": {"regions": [4, 4, 6]}})
    with pytest.raises(CacheError, match="no tensor 'spans_ms'"):
        map_tensor(path, "spans_ms")
    path.write_bytes(path.read_bytes()[:-10])  # cut short
    with pytest.raises(CacheError, match="does not fit the file"):
        map_tensor(path, "regions")
    path.write_bytes(b"\xff" * 7)
    with pytest.raises(CacheError, match=str(path.name)):
        map_tensor(path, "regions")


def _rss_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile line")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_released_pages_stop_counting_in_resident_memory(tmp_path):
    from safetensors.numpy import save_file

    rows = np.ones((64, 9, 16384), np.float16)  # 18 MiB
    path = tmp_path / "cues.safetensors"
    save_file({"regions": rows}, str(path))
    mapped = map_tensor(path, "regions")
    before = _rss_file_kib()
    assert float(mapped[:, :, ::2048].astype(np.float32).sum()) == 64 * 9 * 8  # every page
    read = _rss_file_kib()
    release_pages(mapped)
    after = _rss_file_kib()
    assert read - before > 12 * 1024, (before, read)  # the mapping's pages counted ...
    assert read - after > 12 * 1024, (read, after)  # ... and no longer


def test_the_keyframe_cache_keeps_a_bounded_number_of_jpegs(tmp_path, monkeypatch):
    from vloc.engines import frames

    video = make_video(tmp_path / "film.mp4", seconds=2.0, size="96x64")
    monkeypatch.setattr(frames, "CACHED_FRAMES", 2)
    grab = frames.FrameGrabber(video)
    first = grab.jpeg(100)
    for t in (500, 900, 1300, 100):
        assert grab.jpeg(t)[:2] == b"\xff\xd8"  # a JPEG
        assert len(grab._cache) <= 2
    assert list(grab._cache) == [1300, 100] and grab.jpeg(100) == first  # grabbed again, same
