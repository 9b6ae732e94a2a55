"""`vloc features`: extract clip features of a video into its workspace (or import published ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vloc.cli import _common as C
from vloc.cli._ui import DEVICE_OPTION, JSON_OPTION, UI, Bars, command, usage_error


@command
def features(
    video: Path = typer.Argument(..., help="The video (with --from-npy: the video or a name)."),
    subs: Path | None = typer.Option(None, "--subs", help="Subtitles (SRT/VTT): one clip per cue."),
    encoding: str | None = C.ENCODING_OPTION,
    backbone: str | None = C.backbone_option("default i3d_r50"),
    weights: str | None = C.weights_option(random=True),
    weights_dir: Path | None = C.WEIGHTS_DIR_OPTION,
    seed: int | None = C.WEIGHTS_SEED_OPTION,
    mode: str | None = typer.Option(
        None, "--mode", help="cues | stride | both (default: cues with --subs, else stride)."
    ),
    fps: float | None = typer.Option(
        None, "--fps", help="Decode rate, frames/s (default: the backbone's)."
    ),
    clip_len: int = typer.Option(
        16, "--clip-len", help="Frames per clip (with --from-npy: per row)."
    ),
    size: int | None = typer.Option(
        None, "--size", help="Crop side in px (default: the backbone's)."
    ),
    grid: int = typer.Option(3, "--grid", help="Regions per cue clip = grid × grid."),
    batch_size: int = typer.Option(1, "--batch-size", help="Clips per forward pass."),
    device: str = DEVICE_OPTION,
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for the backbone."),
    no_fast: bool = typer.Option(
        False, "--no-fast", help="Run the model exactly as built (no BatchNorm folding)."
    ),
    compile: bool = typer.Option(
        False, "--compile", help="torch.compile the backbone (same as --backbone-path compile)."
    ),
    backbone_path: str = C.BACKBONE_PATH_OPTION,
    allow_truncated: bool = C.ALLOW_TRUNCATED_OPTION,
    workdir: Path | None = C.WORKDIR_OPTION,
    from_npy: Path | None = typer.Option(
        None, "--from-npy", help="Import a published (T, D) .npy array as stride features."
    ),
    json_output: bool = JSON_OPTION,
    *,
    ui: UI,
) -> None:
    """Extract clip features from a video (cached in its workspace by content hash)."""
    from vloc.backbones import DEFAULT_BACKBONE

    if weights == "random" and seed is None:
        usage_error(ui, "--weights random needs --seed N (random weights are never implicit)")
    if from_npy is not None:
        from vloc.features import import_features

        fs = import_features(
            from_npy,
            video_or_name=video,
            workdir=workdir,
            frames_per_step=clip_len,
            fps=fps,
            backbone=backbone,
        )
        shapes = fs.meta.get("shapes", {})
        payload: dict[str, Any] = {
            "outputs": {"stride": str(fs.path)},
            "shapes": {"stride": shapes},
            "cache_hit": False,
            "source": "imported",
        }

        def render_import(out: Any) -> None:
            out.print(
                f"imported stride features {tuple(fs.pooled.shape)} → {fs.path}", markup=False
            )

        ui.result(payload, render_import)
        return

    from vloc.features import FeatureOptions, extract_features

    options = FeatureOptions(
        backbone=backbone or DEFAULT_BACKBONE,
        weights=weights,
        seed=seed,
        weights_dir=str(weights_dir) if weights_dir is not None else None,
        mode=mode,
        fps=fps,
        clip_len=clip_len,
        size=size,
        grid=grid,
        batch_size=batch_size,
        device=device,
        fast=not no_fast,
        compile=compile,
        backbone_path=backbone_path,
        encoding=encoding,
        threads=threads,
        allow_truncated=allow_truncated,
    )
    with Bars(ui, "features ({})", "clips") as bars:
        result = extract_features(
            video, subs=subs, options=options, workdir=workdir, progress=bars, warn=ui.warn
        )
    payload = {"video": str(video), "backbone": options.backbone, **result.to_json()}

    def render(out: Any) -> None:
        for kind, path in result.outputs.items():
            shapes = result.metas[kind].get("shapes", {})
            dims = " ".join(f"{k} {tuple(v)}" for k, v in shapes.items() if k != "spans_ms")
            tag = (
                "cached"
                if result.hits[kind]
                else f"{result.timings.get(f'extract_{kind}', 0):.1f} s"
            )
            if result.resumed.get(kind):
                tag += f", resumed after {result.resumed[kind]} clips"
            if not result.hits[kind] and result.backbone_path:
                tag += f", {result.backbone_path['path']}"
            out.print(f"{kind}: {dims} [{tag}] → {path}", markup=False)

    ui.result(payload, render)
