"""Probe videos and decode them into fixed-rate RGB frames and clips through an ffmpeg pipe.

Time conventions used throughout:

* A video decoded at ``fps`` is a constant-rate stream of frames; frame ``k`` stands for the
  interval ``[start_s + k / fps, start_s + (k + 1) / fps)`` and shows the source frame that is
  on screen at the middle of that interval (ffmpeg's ``fps`` filter with ``round=near``). So
  variable-frame-rate input comes out constant-rate, and a video of ``D`` seconds gives
  ``round(D * fps)`` frames (:func:`count_frames`).
* Spans are ``[start_ms, end_ms)`` in integer milliseconds; a time ``t`` maps to the frame whose
  interval contains it, ``floor(t * fps)``.
* When a source frame boundary falls exactly on an interval's middle, the earlier frame wins.
* ``iter_frames(start_s=...)`` seeks to the keyframe before ``start_s`` and decodes on from there
  (``-noaccurate_seek``), so the window's frames are the same as those of a decode from 0 on
  the same grid. A video stream that starts after the container does is padded with its first
  frame, so frame times stay on the file's clock (the clock subtitles use).
* Frames are ``uint8`` RGB in ``[0, 255]``, shape ``(H, W, 3)``; clips are ``(T, H, W, 3)``.

Geometry: frames are resized so that their short side is ``size`` pixels (aspect kept, using the
display size: sample aspect ratio applied, rotation metadata honoured because ffmpeg rotates while
decoding), then centre-cropped to ``size x size`` when ``crop`` is true. Small videos are upscaled.

Memory does not grow with video length: frames are read from ffmpeg's stdout one at a time, and
the clip iterators keep only the frames that a not-yet-finished clip still needs.
"""

from __future__ import annotations

from vloc.media.clips import (
    CLIP_FRAMES,
    Clip,
    count_stride_clips,
    iter_cue_clips,
    iter_stride_clips,
    plan_cue_clips,
)
from vloc.media.decode import CROP_SIZE, iter_frames
from vloc.media.info import VideoInfo, count_frames, probe

__all__ = [
    "CLIP_FRAMES",
    "CROP_SIZE",
    "Clip",
    "VideoInfo",
    "count_frames",
    "count_stride_clips",
    "iter_cue_clips",
    "iter_frames",
    "iter_stride_clips",
    "plan_cue_clips",
    "probe",
]
