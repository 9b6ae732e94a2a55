"""Synthetic visual scenes and film rendering.

A film is a list of :class:`Shot` s laid end to end. Each shot shows one visual *kind*: a topic
(``water``, ``desert``, ``forest``, ``city``) or ``neutral``. Topic shots differ in palette,
texture and motion, so that even a random-weight 3D CNN at 112–160 px separates them; every shot
draws its own parameters (hue, frequencies, speeds) from a seeded generator, so a topic is a
distribution rather than one picture. Neutral shots are flat grey with mild temporal noise and
draw their parameters from the same distribution whatever the film's topic, so they carry no
topic signal.

Frames are computed with numpy, ``(H, W, 3)`` uint8 RGB in ``[0, 255]``, and streamed to a
single ``ffmpeg`` process per film (libx264, yuv420p, no audio). Pixels are deterministic given
the seed; the encoded bytes may differ between ffmpeg/x264 versions.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vloc.errors import InputError, MediaError
from vloc.fileio import atomic_path
from vloc.media.command import ffmpeg_command
from vloc.synthetic.lexicon import TOPICS

NEUTRAL = "neutral"  # the shot kind that reveals no topic
KINDS = (*TOPICS, NEUTRAL)
FRAME_MS = 100  # time grid of cues and shots: one frame at 10 fps, a whole number of frames at any multiple of 10 fps


@dataclass(frozen=True)
class RenderOptions:
    """How films are encoded."""

    width: int = 160  # pixels; small enough to render ~60 films in a couple of minutes
    height: int = 120  # pixels (4:3)
    fps: int = 10  # frames per second; a multiple of 10 so that the FRAME_MS grid falls on frames
    crf: int = 30  # libx264 quality (higher = smaller); 30 keeps films ~0.3–0.6 MB
    preset: str = "ultrafast"  # libx264 speed preset
    threads: int = 1  # encoder threads; 1 keeps the encoded bytes independent of core count

    def __post_init__(self) -> None:
        if self.fps < 10 or self.fps % (1000 // FRAME_MS):
            raise InputError(f"fps must be a multiple of {1000 // FRAME_MS}, got {self.fps}")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise InputError(
                f"frame size must be even and >= 16 px, got {self.width}x{self.height}"
            )


@dataclass(frozen=True)
class Shot:
    """One continuous shot ``[start_ms, end_ms)``; both multiples of the frame duration."""

    kind: str  # a topic in TOPICS or NEUTRAL
    start_ms: int
    end_ms: int
    seed: int  # seeds this shot's visual parameters and noise


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates ``y, x`` in ``[0, 1)``, shapes ``(H, 1)`` and ``(1, W)``."""
    return (np.arange(h, dtype=np.float32) / h)[:, None], (np.arange(w, dtype=np.float32) / w)[None]


def _upsample(field: np.ndarray, h: int, w: int) -> np.ndarray:
    """Nearest-neighbour resize of a ``(h0, w0)`` array to ``(h, w)``."""
    rows = np.arange(h) * field.shape[0] // h
    cols = np.arange(w) * field.shape[1] // w
    return field[rows][:, cols]


def render_shot(
    kind: str, n_frames: int, seed: int, *, height: int, width: int, fps: int
) -> Iterator[np.ndarray]:
    """Yield ``n_frames`` frames of one shot, each ``(H, W, 3)`` uint8 RGB in ``[0, 255]``."""
    if kind not in KINDS:
        raise ValueError(f"unknown shot kind {kind!r}; valid: {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    y, x = _grid(height, width)
    two_pi = np.float32(2 * np.pi)

    if kind == "water":  # blue, horizontal wave bands rolling downwards, rippled edges
        base = np.array([20, 90, 170], np.float32) + rng.uniform(-15, 15, 3)
        tint = np.array([0.4, 0.7, 1.0], np.float32)
        ky, kx, speed = rng.uniform(4, 8), rng.uniform(1, 3), rng.uniform(0.6, 1.5)  # cycles, Hz
        amp, phase = rng.uniform(30, 45), rng.uniform(0, 2 * np.pi)
        noise_sd = 4.0

        def pattern(t: float) -> np.ndarray:
            ripple = 0.15 * np.sin(two_pi * kx * x + phase + 2 * t)
            return amp * np.sin(two_pi * (ky * y + ripple - speed * t))[..., None] * tint

    elif kind == "desert":  # sand orange, broad diagonal dunes drifting slowly sideways
        base = np.array([205, 160, 90], np.float32) + rng.uniform(-15, 15, 3)
        tint = np.array([1.0, 0.8, 0.5], np.float32)
        k1, k2, drift = rng.uniform(0.8, 2.0), rng.uniform(0.5, 1.5), rng.uniform(0.05, 0.2)
        amp, phase = rng.uniform(25, 40), rng.uniform(0, 2 * np.pi)
        noise_sd = 2.0

        def pattern(t: float) -> np.ndarray:
            wobble = 0.15 * np.sin(two_pi * x + phase)
            dunes = np.sin(two_pi * (k1 * x + k2 * y + wobble - drift * t))
            return amp * dunes[..., None] * tint

    elif kind == "forest":  # green, fine leafy speckle with dark trunks, swaying
        base = np.array([45, 110, 45], np.float32) + rng.uniform(-12, 12, 3)
        cell = int(rng.integers(3, 6))  # speckle size in pixels
        leaves = rng.uniform(-1, 1, (height // cell + 2, width // cell + 2)).astype(np.float32)
        leaves = _upsample(leaves, height + 2 * cell, width + 2 * cell)
        trunks = np.zeros(width + 2 * cell, np.float32)
        for cx in rng.integers(0, width, int(rng.integers(3, 6))):
            trunks[cx : cx + int(rng.integers(3, 7))] = 1.0
        amp, sway = rng.uniform(45, 65), rng.uniform(1.0, 2.5)  # sway in Hz
        tint = np.array([0.6, 1.0, 0.5], np.float32)
        noise_sd = 5.0

        def pattern(t: float) -> np.ndarray:
            dx = int(round(cell * np.sin(two_pi * sway * t)))
            tex = leaves[cell : cell + height, cell + dx : cell + dx + width]
            img = amp * tex[..., None] * tint
            return img - 60.0 * trunks[None, cell + dx // 2 : cell + dx // 2 + width, None]

    elif kind == "city":  # dark violet facades, a grid of neon-lit windows, panning sideways
        base = np.array([50, 35, 85], np.float32) + rng.uniform(-12, 12, 3)
        cw, ch = int(rng.integers(6, 11)), int(rng.integers(6, 11))  # window cell, pixels
        span = width * 4
        lit = rng.random((height // ch + 1, span // cw + 1)) < rng.uniform(0.35, 0.6)
        windows = _upsample(lit.astype(np.float32), (height // ch + 1) * ch, (span // cw + 1) * cw)
        frame_mask = ((np.arange(windows.shape[0]) % ch) < ch - 2)[:, None] & (
            (np.arange(windows.shape[1]) % cw) < cw - 2
        )[None]
        windows = windows * frame_mask
        light = np.array([180, 60, 140], np.float32) + rng.uniform(-20, 20, 3)  # magenta neon
        pan = rng.uniform(4, 12) * rng.choice([-1, 1])  # pixels per second
        noise_sd = 3.0

        def pattern(t: float) -> np.ndarray:
            off = int(round(width + pan * t)) % (windows.shape[1] - width)
            return windows[:height, off : off + width, None] * light

    else:  # neutral: flat grey, mild noise, slow brightness drift; topic-independent
        grey = rng.uniform(95, 160)
        base = np.full(3, grey, np.float32)
        drift, phase = rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)
        noise_sd = 5.0

        def pattern(t: float) -> np.ndarray:
            return np.full((1, 1, 3), drift * np.sin(0.5 * t + phase), np.float32)

    for i in range(n_frames):
        t = i / fps
        noise = rng.standard_normal((height, width, 3), dtype=np.float32)  # (H, W, 3)
        img = base + pattern(t) + np.float32(noise_sd) * noise
        yield np.clip(img, 0, 255).astype(np.uint8)


ShotFrames = Callable[..., Iterator[np.ndarray]]  # render_shot's signature


def render_film(
    path: str | Path,
    shots: Sequence[Shot],
    options: RenderOptions,
    *,
    frames: ShotFrames | None = None,
) -> None:
    """Encode ``shots`` (contiguous, starting at 0) into one mp4 with one ffmpeg call.

    ``frames`` draws each shot's frames (called as :func:`render_shot`); None: render_shot,
    whose kinds are :data:`KINDS`. Other generators (:mod:`vloc.synthetic.retrieval`) pass
    their own to render kinds of their own.

    Raises:
        MediaError: ffmpeg is missing or fails (its stderr is in the message).
    """
    path = Path(path)
    frame_ms = FRAME_MS
    at = 0
    for s in shots:
        if (
            s.start_ms != at
            or s.end_ms <= s.start_ms
            or s.start_ms % frame_ms
            or s.end_ms % frame_ms
        ):
            raise ValueError(f"shots must be contiguous from 0 on a {frame_ms} ms grid: {s}")
        at = s.end_ms
    size = f"{options.width}x{options.height}"
    with atomic_path(path) as tmp:
        argv = ffmpeg_command(
            "-",  # raw frames on stdin
            str(tmp),
            executable="ffmpeg",
            global_options=("-v", "error", "-y"),
            input_options={"format": "rawvideo", "pix_fmt": "rgb24", "s": size, "r": options.fps},
            output_options={
                "an": None,
                "c:v": "libx264",
                "preset": options.preset,
                "crf": options.crf,
                "threads": options.threads,
                "pix_fmt": "yuv420p",
                "movflags": "+faststart",
                "format": "mp4",
            },
        )
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except FileNotFoundError as e:
            raise MediaError("ffmpeg is not installed or not on PATH", path=path) from e
        assert proc.stdin is not None, "Popen was asked for a stdin pipe"
        try:
            for s in shots:
                n = (s.end_ms - s.start_ms) * options.fps // 1000
                for frame in (frames or render_shot)(
                    s.kind, n, s.seed, height=options.height, width=options.width, fps=options.fps
                ):
                    proc.stdin.write(frame.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg died; its stderr below says why
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise MediaError(f"ffmpeg failed to encode the film: {err.strip()[-2000:]}", path=path)


@dataclass(frozen=True)
class TimingOptions:
    """Cue and gap durations (milliseconds, drawn uniformly on the frame grid)."""

    cue_ms: tuple[int, int] = (2000, 4000)  # shortest and longest cue
    gap_ms: tuple[int, int] = (200, 600)  # silence between consecutive cues
    lead_ms: int = 500  # before the first cue
    tail_ms: int = 500  # after the last cue


def lay_out(
    kinds: Sequence[str], rng: np.random.Generator, timing: TimingOptions = TimingOptions()
) -> tuple[list[tuple[int, int]], list[Shot]]:
    """Cue spans and the shots under them for cues showing ``kinds`` (one per cue).

    Shot i starts where cue i starts (shot 0 at 0) and lasts until cue i + 1 starts, so each
    cue is covered by exactly its own shot; the last shot runs ``tail_ms`` past the last cue.
    Returns ``[(start_ms, end_ms), ...]`` per cue and the contiguous shots.
    """

    def draw(lo: int, hi: int) -> int:
        return int(rng.integers(lo // FRAME_MS, hi // FRAME_MS + 1)) * FRAME_MS

    spans: list[tuple[int, int]] = []
    at = timing.lead_ms
    for _ in kinds:
        end = at + draw(*timing.cue_ms)
        spans.append((at, end))
        at = end + draw(*timing.gap_ms)
    bounds = [0] + [s for s, _ in spans[1:]] + [spans[-1][1] + timing.tail_ms] if spans else [0]
    shots = [
        Shot(kind=k, start_ms=bounds[i], end_ms=bounds[i + 1], seed=int(rng.integers(2**31)))
        for i, k in enumerate(kinds)
    ]
    return spans, shots
