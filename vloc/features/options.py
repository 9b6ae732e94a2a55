"""What feature extraction takes and gives: :class:`FeatureOptions` (every field that changes
values is part of the cache key), their checks, and :class:`FeatureResult`.

Nothing here imports torch or probes a video: checking the options is free, and a bad value
fails with an :class:`~vloc.errors.InputError` naming the valid range before any work starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vloc.backbones import DEFAULT_BACKBONE, DEFAULT_GRID, get_spec
from vloc.errors import InputError
from vloc.features.execution import DEFAULT_PATH, check_path

MODES = ("cues", "stride", "both")
DEVICES = ("cpu", "cuda")
DEFAULT_CLIP_LEN = 16  # frames per clip (vloc.media.CLIP_FRAMES): one I3D clip
DEFAULT_BATCH_SIZE = 1  # clips per forward pass; batch 1 was fastest per clip on a 2-core CPU

ProgressFn = Callable[[str, int, int], None]  # (kind, clips done, clips total)
WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class FeatureOptions:
    """How to extract features (every field that changes values is part of the cache key)."""

    backbone: str = DEFAULT_BACKBONE  # registry name (vloc.backbones.REGISTRY)
    weights: str | None = (
        None  # None: the backbone's published checkpoint; a path; a name; "random"
    )
    seed: int | None = None  # with weights="random": the initialisation seed (required)
    weights_dir: str | None = (
        None  # cache folder for published checkpoints (default vloc_home()/weights)
    )
    mode: str | None = (
        None  # "cues" | "stride" | "both"; None: "cues" with subtitles, else "stride"
    )
    fps: float | None = None  # decode rate in frames/s; None: the backbone's native rate
    clip_len: int = DEFAULT_CLIP_LEN  # frames per clip
    size: int | None = None  # square crop side in px; None: the backbone's native size
    grid: int = DEFAULT_GRID  # regions per cue clip = grid × grid
    batch_size: int = DEFAULT_BATCH_SIZE  # clips per forward pass
    device: str = "cpu"  # "cpu" or "cuda"
    fast: bool = (
        True  # fold BatchNorm into convs (numerically equivalent); False: eager model as built
    )
    overlap: bool = True  # decode in a producer thread while computing; False: strictly sequential
    compile: bool = False  # torch.compile the backbone (the same as backbone_path="compile")
    backbone_path: str = DEFAULT_PATH  # "auto" | "eager" | "jit" | "compile": how the backbone
    # runs (vloc.features.execution); auto: eager or a saved TorchScript trace, whichever finishes
    # first on this machine. jit is part of the cache key (other fp16 bytes); compile is not
    width: float = 1.0  # architecture width multiplier (1.0 = the real model; tests use less)
    encoding: str | None = None  # subtitle encoding override
    threads: int | None = None  # torch intra-op threads; None: torch's default
    allow_truncated: bool = False  # go on with what decodes from a video that decodes clearly


@dataclass
class FeatureResult:
    """What :func:`extract_features` produced or found."""

    outputs: dict[str, Path]  # kind -> .safetensors file
    metas: dict[str, dict[str, Any]]  # kind -> metadata written beside it
    cache_hit: bool  # every requested kind was already in the store
    hits: dict[str, bool]  # kind -> found in the store
    timings: dict[str, float]  # seconds: "key", "wait" (for another run's locks), "build",
    # "extract_<kind>", "compute_<kind>", "total"
    warnings: list[str] = field(default_factory=list)
    workspace: Path | None = None
    resumed: dict[str, int] = field(default_factory=dict)  # kind -> clips taken from the
    # chunks of an earlier, interrupted run (not computed again)
    backbone_path: dict[str, Any] | None = None  # how the backbone ran and why
    # (vloc.features.execution.Decision.to_json()); None when every entry was in the store

    def shapes(self) -> dict[str, dict[str, list[int]]]:
        return {kind: meta.get("shapes", {}) for kind, meta in self.metas.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "shapes": self.shapes(),
            "cache_hit": self.cache_hit,
            "hits": self.hits,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "warnings": self.warnings,
            "workspace": str(self.workspace) if self.workspace else None,
            "resumed": self.resumed,
            "backbone_path": self.backbone_path,
        }


def validate_options(options: FeatureOptions, *, has_subs: bool) -> list[str]:
    """Check option values (InputError naming the valid range); return the kinds to extract."""
    get_spec(options.backbone)
    mode = options.mode or ("cues" if has_subs else "stride")
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    if mode in ("cues", "both") and not has_subs:
        raise InputError(f"--mode {mode} needs subtitles (--subs FILE)")
    if options.grid < 1:
        raise InputError(f"--grid must be at least 1 (regions = grid × grid), got {options.grid}")
    if options.clip_len < 1:
        raise InputError(f"--clip-len must be at least 1 frame, got {options.clip_len}")
    if options.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.fps is not None and not options.fps > 0:
        raise InputError(f"--fps must be > 0, got {options.fps}")
    if options.size is not None and options.size < 8:
        raise InputError(f"--size must be at least 8 px, got {options.size}")
    if options.device not in DEVICES:
        raise InputError(f"unknown device {options.device!r}; valid devices: {', '.join(DEVICES)}")
    check_path(
        options.backbone_path, fast=options.fast, device=options.device, compile=options.compile
    )
    return ["cues", "stride"] if mode == "both" else [mode]


def check_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"--device cuda: CUDA is not available (torch {torch.__version__}"
            f"{' built without CUDA' if torch.version.cuda is None else ', no GPU visible'}); "
            "use --device cpu"
        )
