"""vloc.media: probing, streaming decode and clip assembly on synthetic (lavfi) videos."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from tiny_films import make_video

from vloc.errors import MediaError, VlocError
from vloc.media import (
    CLIP_FRAMES,
    Clip,
    count_frames,
    count_stride_clips,
    iter_cue_clips,
    iter_frames,
    iter_stride_clips,
    plan_cue_clips,
    probe,
)

RGB = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "white": (255, 255, 255)}
TOL = 3  # max abs difference per channel after lossless coding + bilinear scaling of flat colour


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, capture_output=True)


def colour_video(path: Path, colours: list[str], *, seconds: float = 1.0, fps: int = 25) -> Path:
    """Lossless video (ffv1 RGB in mkv): one solid colour per ``seconds``-long segment."""
    inputs: list[str] = []
    for c in colours:
        inputs += ["-f", "lavfi", "-i", f"color=c={c}:size=64x48:rate={fps}:d={seconds}"]
    graph = "".join(f"[{i}:v]" for i in range(len(colours))) + f"concat=n={len(colours)}:v=1"
    ffmpeg(*inputs, "-filter_complex", graph, "-c:v", "ffv1", "-pix_fmt", "bgr0", str(path))
    return path


def index_video(path: Path, *, frames: int, fps: int = 25, vfr: str | None = None) -> Path:
    """Lossless video whose source frame ``N`` (< 128) has every pixel = 2 * N.

    With ``vfr`` (a setpts expression) it is written as lossless H.264 in mp4 with variable
    frame timing.
    """
    assert frames <= 128, "pixel values 2 * N must stay below 256"
    vf = "geq=r='N*2':g='N*2':b='N*2'" + (f",setpts='{vfr}'" if vfr else "")
    args = ["-f", "lavfi", "-i", f"color=c=black:size=64x48:rate={fps}", "-frames:v", str(frames)]
    args += ["-vf", vf]
    args += ["-c:v", "libx264rgb", "-qp", "0", "-preset", "ultrafast"] if vfr else ["-c:v", "ffv1"]
    args += ["-pix_fmt", "bgr0"] if not vfr else []
    ffmpeg(*args, *(["-vsync", "vfr"] if vfr else []), str(path))
    return path


def source_index(frame: np.ndarray) -> int:
    return int(frame[..., 0].mean().round()) // 2


def colour_of(frame: np.ndarray) -> str:
    mean = frame.reshape(-1, 3).mean(axis=0)
    name = min(RGB, key=lambda c: np.abs(mean - RGB[c]).max())
    assert np.abs(frame.astype(int) - RGB[name]).max() <= TOL, f"frame is not solid {name}"
    return name


def ffmpeg_children() -> list[int]:
    """Pids of live ffmpeg processes whose parent is this test process (Linux /proc scan)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if comm == "ffmpeg" and int(fields[1]) == os.getpid() and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


# ---------------------------------------------------------------------------------------------
# probe


def test_probe_exact_values_mp4_with_audio(tmp_path):
    info = probe(make_video(tmp_path / "a.mp4", seconds=2, fps=25, size="320x240", audio=True))
    assert info.path == tmp_path / "a.mp4"
    assert info.duration_s == pytest.approx(2.0, abs=1e-3)
    assert (info.fps, info.width, info.height, info.n_frames) == (25.0, 320, 240, 50)
    assert (info.codec, info.has_audio, info.variable_frame_rate) == ("h264", True, False)
    assert info.rotation == 0


@pytest.mark.parametrize(
    ("name", "codec", "size", "fps", "n_frames"),
    [
        ("v.mkv", "ffv1", "321x179", 25, None),
        ("v.avi", "mpeg4", "180x320", 30, 60),
        ("v.webm", "libvpx", "50x30", 24, None),
    ],
)
def test_probe_containers_and_odd_sizes(tmp_path, name, codec, size, fps, n_frames):
    extra = ("-b:v", "200k") if codec == "libvpx" else ()
    pix = ("-pix_fmt", "yuv444p") if codec == "ffv1" else ()
    path = make_video(
        tmp_path / name,
        seconds=2,
        fps=fps,
        size=size,
        codec=codec,
        source="testsrc",  # testsrc2 rounds odd sizes down to even ones
        extra_args=(*extra, *pix),
    )
    info = probe(path)
    w, h = map(int, size.split("x"))
    assert (info.width, info.height, info.fps, info.has_audio) == (w, h, float(fps), False)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.n_frames == n_frames
    frames = list(iter_frames(path, fps=fps, size=32, info=info))
    assert len(frames) == 2 * fps == count_frames(info, fps=fps)
    assert frames[0].shape == (32, 32, 3) and frames[0].dtype == np.uint8


def test_probe_sample_aspect_ratio_gives_display_size(tmp_path):
    path = make_video(tmp_path / "sar.mp4", size="64x48", extra_args=("-vf", "setsar=2"))
    info = probe(path)
    assert (info.width, info.height) == (128, 48)
    frame = next(iter(iter_frames(path, fps=5, size=48, crop=False, info=info)))
    assert frame.shape == (48, 128, 3)


def test_rotation_metadata_is_applied(tmp_path):
    # left half red, right half blue; a 90-degree display rotation makes them top and bottom
    plain = tmp_path / "plain.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=red:size=32x48:rate=25:d=1",
        "-f", "lavfi", "-i", "color=c=blue:size=32x48:rate=25:d=1",
        "-filter_complex", "[0:v][1:v]hstack", "-c:v", "libx264", "-qp", "0",
        "-pix_fmt", "yuv444p", str(plain),
    )  # fmt: skip
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    info = probe(rotated)
    if info.rotation == 0:
        pytest.skip("this ffmpeg does not write rotation metadata")
    assert abs(info.rotation) == 90 and (info.width, info.height) == (48, 64)
    frame = next(iter(iter_frames(rotated, fps=25, size=48, crop=False, info=info)))
    assert frame.shape == (64, 48, 3)
    top, bottom = colour_of(frame[:24]), colour_of(frame[-24:])
    assert {top, bottom} == {"red", "blue"}
    assert colour_of(frame[:24, :24]) == colour_of(frame[:24, -24:]) == top


def test_variable_frame_rate(tmp_path):
    # source frames 0..24 every 40 ms, then slower (about 80 ms apart)
    path = index_video(tmp_path / "vfr.mp4", frames=50, vfr="if(lt(N,25),N,25+(N-25)*2)/25/TB")
    info = probe(path)
    assert info.variable_frame_rate and info.n_frames == 50
    pts = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "frame=pts_time", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    times = [float(t.strip(",")) for t in pts]
    assert len(times) == 50 and times[-1] > 2.5  # really variable: 50 frames over > 2.5 s
    frames = list(iter_frames(path, fps=25, size=32, info=info))
    assert len(frames) == count_frames(info, fps=25) == round(info.duration_s * 25)
    # output frame k shows the source frame on screen at (k + 0.5) / 25 s
    want = [max(i for i, t in enumerate(times) if t <= (k + 0.5) / 25) for k in range(len(frames))]
    assert [source_index(f) for f in frames] == want


def test_video_starting_late_keeps_frames_on_the_file_clock(tmp_path):
    src = index_video(tmp_path / "idx.mkv", frames=50)  # 2 s
    late = tmp_path / "late.mkv"  # video from 0.5 s on, audio from 0 s
    ffmpeg(
        "-itsoffset", "0.5", "-i", str(src), "-f", "lavfi", "-i", "sine=duration=3",
        "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "flac", str(late),
    )  # fmt: skip
    info = probe(late)
    start = info.duration_s - 2.0  # where the video starts: about 0.5 s
    assert start == pytest.approx(0.5, abs=0.05) and info.has_audio
    frames = [source_index(f) for f in iter_frames(late, fps=10, size=32, info=info)]
    assert len(frames) == count_frames(info, fps=10)
    want = [max(0, math.floor(((k + 0.5) / 10 - start) * 25)) for k in range(len(frames))]
    assert frames == want
    (clip,) = iter_cue_clips(late, [(1500, 1500)], fps=10, size=32, info=info)
    assert source_index(clip.frames[0]) == frames[15] == math.floor((1.55 - start) * 25)


# ---------------------------------------------------------------------------------------------
# iter_frames


def test_frame_counts_and_timing(tmp_path):
    path = index_video(tmp_path / "idx.mkv", frames=50)
    assert len(list(iter_frames(path, fps=25, size=32))) == 50
    at10 = [source_index(f) for f in iter_frames(path, fps=10, size=32)]
    # output frame k = the source frame on screen at (k + 0.5) / 10 s
    assert at10 == [math.floor((k + 0.5) / 10 * 25) for k in range(20)]
    window = [source_index(f) for f in iter_frames(path, fps=10, size=32, start_s=0.5, end_s=1.5)]
    assert window == at10[5:15]


def test_seeking_keeps_the_frame_grid(tmp_path):
    # B-frames and a keyframe only every 12 frames: seeking lands before start_s and decodes on
    path = tmp_path / "gop.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:size=64x48:rate=25", "-frames:v", "100",
        "-vf", "geq=r='N*2':g='N*2':b='N*2'", "-c:v", "libx264rgb", "-qp", "0",
        "-bf", "3", "-g", "12", str(path),
    )  # fmt: skip
    info = probe(path)
    full = [source_index(f) for f in iter_frames(path, fps=25, size=32, info=info)]
    assert full == list(range(100))
    for start in (0.52, 0.53, 1.37, 2.0, 3.11):  # none on a tie between two frames
        got = [
            source_index(f)
            for f in iter_frames(path, fps=25, size=32, start_s=start, end_s=start + 0.2, info=info)
        ]
        # frame k shows what is on screen at start + (k + 0.5) / 25 s
        assert got == [math.floor((start + (k + 0.5) / 25) * 25) for k in range(5)], start
    at10 = [source_index(f) for f in iter_frames(path, fps=10, size=32, info=info)]
    part = iter_frames(path, fps=10, size=32, start_s=1.3, end_s=2.25, info=info)
    assert [source_index(f) for f in part] == at10[13:23]


def test_colours_and_shapes(tmp_path):
    path = colour_video(tmp_path / "c.mkv", ["red", "green", "blue"])
    frames = list(iter_frames(path, fps=5, size=40))
    assert [colour_of(f) for f in frames] == ["red"] * 5 + ["green"] * 5 + ["blue"] * 5
    assert frames[0].shape == (40, 40, 3) and frames[0].flags.writeable
    wide = next(iter(iter_frames(path, fps=5, size=40, crop=False)))
    assert wide.shape == (40, 53, 3)  # 64x48 -> short side 40 -> 53x40


def test_tiny_video_is_upscaled(tmp_path):
    path = make_video(tmp_path / "tiny.mkv", size="50x30", codec="ffv1")
    frame = next(iter(iter_frames(path, fps=25)))
    assert frame.shape == (224, 224, 3)
    assert next(iter(iter_frames(path, fps=25, crop=False))).shape == (224, 373, 3)


def test_early_stop_leaves_no_ffmpeg_process(tmp_path):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    path = make_video(tmp_path / "long.mp4", seconds=20, size="64x48")
    frames = iter_frames(path, fps=25, size=32)
    next(frames)
    assert len(ffmpeg_children()) == 1  # the check can see a running decoder
    frames.close()
    assert ffmpeg_children() == []
    clips = iter_stride_clips(path, fps=25, clip_len=4, size=32)
    next(clips)
    clips.close()
    assert ffmpeg_children() == []


def test_memory_is_flat_in_video_length(tmp_path):
    path = make_video(tmp_path / "min.mp4", seconds=60, fps=25, size="64x48")
    spans = [(i * 290, i * 290 + 500) for i in range(200)]  # overlapping, whole minute
    list(iter_cue_clips(path, spans[:1], fps=25, size=64))  # first-call imports happen here
    tracemalloc.start()
    try:
        n = 0
        for frame in iter_frames(path, fps=25, size=64):
            n += frame.shape[0] > 0
        _, peak_frames = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        clips = sum(1 for _ in iter_cue_clips(path, spans, fps=25, size=64))
        peak_clips = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert (n, clips) == (1500, 200)
    total = 1500 * 64 * 64 * 3  # 18 MB if every frame were kept
    assert peak_frames < total / 20, peak_frames
    assert peak_clips < total / 10, peak_clips


# ---------------------------------------------------------------------------------------------
# clips


def test_plan_cue_clips_rules():
    spans = [(0, 1000), (2500, 3500), (4000, 4100), (1200, 1200), (900, 800), (-50, 100)]
    spans += [(2900 + i, 4000) for i in range(12)]
    plan, warns = plan_cue_clips(spans, duration_s=3.0, fps=25, clip_len=16)
    assert len(plan) == len(spans)
    assert plan[:6] == [(0, 1000), (2500, 3000), (2360, 3000), (1200, 1201), (900, 901), (0, 100)]
    assert len(warns) == 4  # aggregated per kind, not per cue
    past = next(w for w in warns if "past the end" in w)
    assert past.startswith("13 cue(s)") and "cues 2, 7, 8" in past and "and 3 more" in past
    assert any("at or after the end" in w and "cues 3" in w for w in warns)
    assert any("zero or negative length" in w and "cues 4, 5" in w for w in warns)
    assert plan_cue_clips([(0, 500)], duration_s=3.0) == ([(0, 500)], [])
    assert plan_cue_clips([(5000, 6000)], duration_s=3.0)[0] == [(2999, 3000)]


def test_cue_clips_pick_frames_from_the_right_time(tmp_path):
    path = colour_video(tmp_path / "c.mkv", ["red", "green", "blue"])
    spans = [
        (2100, 2900),
        (0, 1000),
        (500, 1500),
        (1500, 1500),
        (2800, 9000),
        (9000, 9500),
        (1000, 900),
    ]
    warns: list[str] = []
    clips = list(iter_cue_clips(path, spans, fps=25, clip_len=8, size=32, warnings=warns))
    assert sorted(c.index for c in clips) == list(range(len(spans)))
    assert all(isinstance(c, Clip) and c.frames.shape == (8, 32, 32, 3) for c in clips)
    by = {c.index: c for c in clips}
    # yielded as soon as the last needed frame is decoded: in order of span end
    assert [c.index for c in clips] == [1, 6, 2, 3, 0, 4, 5]
    assert [colour_of(f) for f in by[0].frames] == ["blue"] * 8
    assert [colour_of(f) for f in by[1].frames] == ["red"] * 8
    assert [colour_of(f) for f in by[2].frames] == ["red"] * 4 + ["green"] * 4
    assert [colour_of(f) for f in by[3].frames] == ["green"] * 8
    assert [colour_of(f) for f in by[6].frames] == ["green"] * 8  # the frame shown at 1000 ms
    assert (by[4].start_ms, by[4].end_ms) == (2800, 3000)
    assert (by[5].start_ms, by[5].end_ms) == (2680, 3000)  # last clip_len / fps seconds
    assert all(colour_of(f) == "blue" for f in by[5].frames)
    assert len(warns) == 3 and all(w.startswith(str(path)) for w in warns)


def test_cue_clip_frames_are_uniform_in_span(tmp_path):
    path = index_video(tmp_path / "idx.mkv", frames=100)
    (clip,) = iter_cue_clips(path, [(1000, 1640)], fps=25, size=32)
    assert [source_index(f) for f in clip.frames] == list(range(25, 41))
    (short,) = iter_cue_clips(path, [(1000, 1160)], fps=25, size=32)  # 4 frames -> repeated
    assert [source_index(f) for f in short.frames] == [k for k in range(25, 29) for _ in range(4)]


def test_late_cues_seek_without_changing_frames(tmp_path):
    path = index_video(tmp_path / "slow.mkv", frames=120, fps=4)  # 30 s, frame N from N / 4 s on
    spans = [(25_000, 27_000), (20_100, 20_100), (29_000, 40_000)]
    clips = {c.index: c for c in iter_cue_clips(path, spans, fps=2, clip_len=4, size=32)}
    assert [source_index(f) for f in clips[0].frames] == [100, 102, 104, 106]
    assert [source_index(f) for f in clips[1].frames] == [80] * 4
    assert [source_index(f) for f in clips[2].frames] == [116, 116, 118, 118]


def test_stride_clips_and_count(tmp_path):
    path = index_video(tmp_path / "idx.mkv", frames=100)  # 4 s
    info = probe(path)
    for fps, clip_len, want in [(25, 16, 6), (25, 8, 13), (10, 16, 3), (10, 6, 7), (25, 100, 1)]:
        clips = list(iter_stride_clips(path, fps=fps, clip_len=clip_len, size=32, info=info))
        assert len(clips) == want == count_stride_clips(info, fps=fps, clip_len=clip_len)
        assert [c.index for c in clips] == list(range(want))
    clips = list(iter_stride_clips(path, fps=25, clip_len=16, size=32, info=info))
    assert [source_index(f) for f in clips[1].frames] == list(range(16, 32))
    assert (clips[1].start_ms, clips[1].end_ms) == (640, 1280)
    # 100 = 6 * 16 + 4: the 4 left over are fewer than half a clip and dropped
    assert clips[-1].end_ms == 3840
    padded = list(iter_stride_clips(path, fps=10, clip_len=6, size=32, info=info))
    # 40 = 6 * 6 + 4 frames: the last clip repeats its last frame
    last = [source_index(f) for f in padded[-1].frames]
    assert last == [91, 93, 96, 98, 98, 98]
    assert (padded[-1].start_ms, padded[-1].end_ms) == (3600, 4000)
    assert CLIP_FRAMES == 16


# ---------------------------------------------------------------------------------------------
# bad inputs


def test_missing_directory_and_empty(tmp_path):
    with pytest.raises(MediaError, match="not found") as e:
        probe(tmp_path / "nope.mp4")
    assert str(tmp_path / "nope.mp4") in str(e.value)
    with pytest.raises(MediaError, match="directory"):
        probe(tmp_path)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty \(0 bytes\)"):
        list(iter_frames(tmp_path / "empty.mp4", fps=25))


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 10)
    with pytest.raises(MediaError, match="Invalid data found when processing input") as e:
        probe(path)
    assert e.value.path == str(path)


def test_audio_only_file(tmp_path):
    path = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(path))
    with pytest.raises(MediaError, match=r"no video stream \(streams found: audio\)") as e:
        probe(path)
    assert str(path) in str(e.value)


def test_truncated_mp4_without_index(tmp_path):
    good = make_video(tmp_path / "good.mp4", seconds=2)
    cut = tmp_path / "cut.mp4"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the moov index is at the end: now missing
    with pytest.raises(MediaError, match="moov atom not found") as e:
        probe(cut)
    assert str(cut) in str(e.value)
    assert "\n" not in str(e.value)  # ffprobe's stderr tail is folded into the one error line


def test_truncated_tail_decodes_what_it_can(tmp_path):
    good = make_video(tmp_path / "good.mkv", seconds=4, size="64x48", codec="ffv1")
    info = probe(good)
    cut = tmp_path / "cut.mkv"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    cut_info = probe(cut)
    warns: list[str] = []
    clips = list(iter_stride_clips(cut, fps=25, clip_len=10, size=32, warnings=warns))
    assert 0 < len(clips) < count_stride_clips(cut_info, fps=25, clip_len=10)
    assert any("truncated" in w for w in warns)
    warns = []
    spans = [(0, 400), (3000, 4000), (3600, 3700)]
    cue = list(iter_cue_clips(cut, spans, fps=25, size=32, clip_len=4, warnings=warns))
    assert sorted(c.index for c in cue) == [0, 1, 2]
    assert all(c.frames.shape == (4, 32, 32, 3) for c in cue)
    assert any("padded by repeating the last decoded frame: cues 2, 3" in w for w in warns)
    assert info.duration_s == pytest.approx(4.0, abs=0.05)


def cut_indexed_mp4(tmp_path: Path, *, seconds: float = 8.7, keep: float = 0.15) -> Path:
    """An mp4 whose index (moov) is at the start (``+faststart``), cut to ``keep`` of its bytes:
    ffprobe still reports the whole duration, decoding stops where the data does."""
    good = make_video(
        tmp_path / "whole.mp4",
        seconds=seconds,
        size="160x120",
        extra_args=("-g", "25", "-movflags", "+faststart"),
    )
    cut = tmp_path / "cut.mp4"
    data = good.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut


def test_truncated_indexed_mp4_fails_saying_how_much_is_missing(tmp_path):
    cut = cut_indexed_mp4(tmp_path)
    info = probe(cut)
    assert info.duration_s == pytest.approx(8.72, abs=0.01)  # the index survived
    assert info.duration_source == "stream"
    with pytest.raises(MediaError) as e:
        list(iter_stride_clips(cut, fps=8, clip_len=8, size=32, info=info, allow_truncated=False))
    msg = str(e.value)
    assert msg.startswith(f"{cut}: decoded ") and "\n" not in msg
    assert " of 8.8 s expected (" in msg and "% missing): the file looks truncated" in msg
    assert msg.endswith("pass --allow-truncated to go on with what decodes")
    # allowed: what decodes, a warning with the missing share, the shortfall recorded
    warns: list[str] = []
    shorts: list = []
    clips = list(
        iter_stride_clips(
            cut, fps=8, clip_len=8, size=32, info=info, warnings=warns, shortfalls=shorts
        )
    )
    (short,) = shorts
    assert 0 < len(clips) < 9 and short.expected_s == 70 / 8
    assert short.decoded_s < 2.0 and short.missing_share > 0.75
    assert any(short.describe() in w and "truncated" in w for w in warns)
    # cue clips fail only when a cue needs the missing part
    early = list(iter_cue_clips(cut, [(0, 500)], fps=8, size=32, info=info, allow_truncated=False))
    assert len(early) == 1 and not early[0].padded
    with pytest.raises(MediaError, match=r"% missing\): the file looks truncated"):
        list(iter_cue_clips(cut, [(0, 500), (7000, 8000)], fps=8, size=32, allow_truncated=False))
    warns = []
    cue = list(iter_cue_clips(cut, [(0, 500), (7000, 8000)], fps=8, size=32, warnings=warns))
    assert [c.padded for c in sorted(cue, key=lambda c: c.index)] == [False, True]
    assert any(
        "% missing)" in w and "padded by repeating the last decoded frame: cues 2" in w
        for w in warns
    )


INTACT = {  # name: (ffmpeg output arguments, extra input: audio longer than the video)
    "ntsc.mp4": (["-c:v", "libx264", "-preset", "ultrafast", "-r", "30000/1001"], False),
    "bframes.mp4": (["-c:v", "libx264", "-bf", "3", "-g", "48"], False),
    "audio-longer.mp4": (["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], True),
    "audio-longer.flv": (["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], True),
    "audio-longer.ts": (["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], True),
    "vp8.webm": (["-c:v", "libvpx", "-b:v", "200k"], False),
    "theora.ogv": (["-c:v", "libtheora"], False),
}


@pytest.mark.parametrize("name", sorted(INTACT))
def test_intact_files_are_not_truncated(tmp_path, name):
    args, audio = INTACT[name]
    path = tmp_path / name
    inputs = ["-f", "lavfi", "-t", "6", "-i", "testsrc2=size=96x64:rate=25"]
    if audio:  # audio runs 2 s past the video: FLV then knows only the container's duration
        inputs += ["-f", "lavfi", "-i", "sine=duration=8"]
    ffmpeg(*inputs, *args, str(path))
    info = probe(path)
    for fps in (30 / 8, 8.0, 30.0):
        shorts: list = []
        clips = list(
            iter_stride_clips(path, fps=fps, clip_len=4, size=16, info=info, shortfalls=shorts)
        )
        assert shorts == [] and len(clips) >= 6 * fps // 4
    if name.endswith(".flv"):
        assert info.duration_source == "container" and info.duration_s > 7.9


def test_shortfall_slack():
    from vloc.media.info import CONTAINER_SLACK_S, TRUNCATION_SLACK_S, VideoInfo, shortfall

    def info(source: str) -> VideoInfo:
        return VideoInfo(Path("v.mp4"), 100.0, 25.0, 64, 48, None, "h264", False, False,
                         duration_source=source)  # fmt: skip

    for fps in (3.75, 25.0):
        full = count_frames(info("stream"), fps=fps)
        slack = max(TRUNCATION_SLACK_S * fps, 2)
        assert shortfall(info("stream"), fps=fps, decoded_frames=full) is None
        assert shortfall(info("stream"), fps=fps, decoded_frames=math.ceil(full - slack)) is None
        short = shortfall(info("stream"), fps=fps, decoded_frames=math.floor(full - slack - 1))
        assert short is not None and short.expected_s == pytest.approx(100.0)
        late = full - CONTAINER_SLACK_S * fps
        assert shortfall(info("container"), fps=fps, decoded_frames=math.ceil(late)) is None
        assert shortfall(info("container"), fps=fps, decoded_frames=math.floor(late - 1))
    half = shortfall(info("stream"), fps=10, decoded_frames=500)
    assert (
        half is not None and half.describe() == "decoded 50.0 s of 100.0 s expected (50 % missing)"
    )


def test_resuming_clip_iterators_gives_the_same_clips(tmp_path):
    path = tmp_path / "gop.mp4"  # B-frames, a keyframe every 12 frames: resuming seeks
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-t", "24",
        "-c:v", "libx264", "-bf", "3", "-g", "12", str(path),
    )  # fmt: skip
    info = probe(path)
    full = list(iter_stride_clips(path, fps=8, clip_len=8, size=32, info=info))
    assert len(full) == 24
    for start in (1, 13, 23, 24, 30):
        part = list(
            iter_stride_clips(path, fps=8, clip_len=8, size=32, info=info, start_clip=start)
        )
        assert [c.index for c in part] == list(range(start, 24))
        assert all(
            np.array_equal(a.frames, b.frames) for a, b in zip(part, full[start:], strict=True)
        )
        assert [(c.start_ms, c.end_ms) for c in part] == [
            (c.start_ms, c.end_ms) for c in full[start:]
        ]
    spans = [(i * 1000, i * 1000 + 1500) for i in range(24)] + [(23_500, 30_000)]
    every = {c.index: c for c in iter_cue_clips(path, spans, fps=8, size=32, info=info)}
    only = [3, 17, 18, 24]
    some = list(iter_cue_clips(path, spans, fps=8, size=32, info=info, only=only))
    assert sorted(c.index for c in some) == only
    assert all(np.array_equal(c.frames, every[c.index].frames) for c in some)
    assert list(iter_cue_clips(path, spans, fps=8, size=32, info=info, only=[])) == []


def test_decoder_failure_reports_ffmpeg_stderr(tmp_path):
    info = probe(make_video(tmp_path / "good.mp4", seconds=1))
    broken = tmp_path / "replaced.mp4"
    broken.write_text("replaced after probing\n")
    with pytest.raises(MediaError, match="exit code") as e:
        list(iter_frames(broken, fps=25, info=info))
    assert "Invalid data found" in str(e.value) and str(broken) in str(e.value)
    assert ffmpeg_children() == []


def test_missing_ffmpeg_says_how_to_install(tmp_path, monkeypatch):
    path = make_video(tmp_path / "a.mp4", seconds=1)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(VlocError, match="apt-get install ffmpeg"):
        probe(path)


def test_bad_arguments(tmp_path):
    path = make_video(tmp_path / "a.mp4", seconds=1)
    with pytest.raises(VlocError, match="positive"):
        list(iter_frames(path, fps=0))
    with pytest.raises(VlocError, match="start < end"):
        list(iter_frames(path, fps=5, start_s=1.0, end_s=0.5))


# ---------------------------------------------------------------------------------------------
# real data


@pytest.mark.realdata
def test_real_videos_probe_and_decode(shared_data):
    bunny = probe(shared_data / "videos" / "big_buck_bunny.mp4")
    assert (bunny.width, bunny.height, bunny.fps, bunny.n_frames) == (640, 360, 24.0, 1440)
    assert bunny.duration_s == pytest.approx(60.0, abs=0.1) and bunny.has_audio
    clip = probe(shared_data / "videos" / "v_GGSY1Qvo990.mp4")
    assert (clip.width, clip.height, clip.codec, clip.n_frames) == (320, 240, "h264", 355)
    assert clip.duration_s == pytest.approx(18.04, abs=0.05)
    clips = list(iter_stride_clips(clip.path, fps=8, size=112, info=clip))
    assert len(clips) == count_stride_clips(clip, fps=8) == 9  # 144 frames
    assert clips[0].frames.shape == (16, 112, 112, 3) and clips[0].frames.std() > 5
    full = list(iter_frames(bunny.path, fps=4, size=32, info=bunny))
    assert len(full) == count_frames(bunny, fps=4) == 240
    part = list(iter_frames(bunny.path, fps=4, size=32, start_s=20.25, end_s=21.25, info=bunny))
    assert len(part) == 4 and all(
        np.array_equal(a, b) for a, b in zip(part, full[81:85], strict=True)
    )
    spans = [(59_000, 61_000), (10_000, 12_000)]
    cue = list(iter_cue_clips(bunny.path, spans, fps=4, size=64, info=bunny))
    assert [c.index for c in cue] == [1, 0] and cue[0].frames.std() > 5


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["big_buck_bunny.mp4", "v_GGSY1Qvo990.mp4"])
def test_real_videos_are_not_truncated(shared_data, name):
    info = probe(shared_data / "videos" / name)
    for fps in (30 / 8, 6.0, 15.0, 30.0):  # i3d_r50, x3d_m, csn/slow, the How2 extractor
        n = sum(1 for _ in iter_stride_clips(info.path, fps=fps, clip_len=16, size=16, info=info,
                                             allow_truncated=False))  # fmt: skip
        assert n == count_stride_clips(info, fps=fps, clip_len=16)


def test_a_file_named_like_an_option_is_read_as_a_file(tmp_path, monkeypatch):
    # the command lines pass absolute paths: "-film.mkv" given as a relative name must reach
    # ffmpeg/ffprobe as a file, for the decoder (with and without a seek) and the keyframe grabber
    from vloc.engines.frames import FrameGrabber

    colour_video(tmp_path / "-film.mkv", ["red", "blue"])
    monkeypatch.chdir(tmp_path)
    info = probe("-film.mkv")
    assert (info.width, info.height) == (64, 48)
    assert [colour_of(f) for f in iter_frames("-film.mkv", fps=2, size=32, info=info)] == [
        "red", "red", "blue", "blue",
    ]  # fmt: skip
    seeked = iter_frames("-film.mkv", fps=2, size=32, start_s=1.0, end_s=2.0, info=info)
    assert [colour_of(f) for f in seeked] == ["blue", "blue"]
    jpeg = FrameGrabber("-film.mkv").jpeg(1500)
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"  # one whole JPEG
