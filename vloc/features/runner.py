"""The backbone of a feature run: built with its weights and the eager inference rewrites
(:func:`prepare_backbone`), then put on its path — eager, a TorchScript trace or
``torch.compile`` (:mod:`vloc.features.execution` decides and measures; :func:`first_decision` is
what can be settled before the model is built, :func:`apply_backbone_path` the rest). A trace
or compiler failure costs a warning and the eager model, not the run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from vloc.features.chunks import Chunks
from vloc.features.execution import Decision
from vloc.features.options import FeatureOptions, WarnFn
from vloc.features.planning import Plan, Run
from vloc.workspace import Workspace


def prepare_backbone(source: Any, options: FeatureOptions, **_unused: Any) -> Any:
    """Build the model with its weights, apply the eager inference rewrites (``fast``) and move
    it to the device; its path (trace, compile) is applied by :func:`apply_backbone_path`."""
    import torch

    from vloc.backbones.weights import instantiate

    if options.threads is not None:
        torch.set_num_threads(max(1, options.threads))
    backbone = instantiate(source, width=options.width)
    if options.fast:
        # measured on a 2-core CPU (benchmarks/bench_features.py): folding BatchNorm and
        # channels-last 3D together take i3d_r50 from ~51% to ~73% of matmul throughput
        backbone.optimize(fuse_bn=True, channels_last=options.device == "cpu")
    return backbone.to(options.device)


def first_decision(
    run: Run,
    info: Any,
    todo: list[Plan],
    ws: Workspace,
    options: FeatureOptions,
    store: Any,
    record: str,
    chunk_clips: int,
) -> Decision:
    """The path as far as it can be settled before the model is built (no measurement):
    an explicit path; auto resuming the chunks some path left; auto by break-even when this
    machine was measured; ``"measure"`` when a long run has no measurement yet."""
    from vloc import media
    from vloc.features import execution

    clips = 0
    for plan in todo:
        if plan.kind == "cues":
            clips += len(plan.spans or ())
        else:
            clips += media.count_stride_clips(info, fps=run.fps, clip_len=options.clip_len)
    n = execution.batches(clips, options.batch_size)
    if run.path == "auto":
        if not options.fast or options.device != "cpu":
            return Decision("eager", "the trace needs the CPU and BatchNorm folding", "auto", n)
        for path, _key in todo[0].candidates:  # a killed run's chunks: finish on its path
            if any(_has_chunks(ws, plan, path, options, chunk_clips) for plan in todo):
                return Decision(path, f"resuming the chunks of a {path} run", "auto", n)
    saved = store.saved_trace(options.backbone, record) is not None
    return execution.decide(run.path, n, store.measurement(record), saved=saved)


def _has_chunks(ws: Workspace, plan: Plan, path: str, options: FeatureOptions, n: int) -> bool:
    chunks = Chunks(ws, plan.kind, options.backbone, plan.key_for(path), total=None, chunk_clips=n)
    return chunks.folder.is_dir() and any(chunks.folder.glob("*.safetensors"))


def apply_backbone_path(
    backbone: Any,
    first_try: Decision,
    options: FeatureOptions,
    store: Any,
    record: str,
    shape: tuple[int, ...],
    warn: WarnFn,
) -> Decision:
    """Put the built backbone on its path (measuring first when needed); a trace or compiler
    failure costs a warning and the eager model, not the run."""
    from vloc.features import execution

    if first_try.path == "compile":
        if _compile_backbone(backbone, options, shape[-1], warn):
            return first_try
        return replace(first_try, path="eager", reason="torch.compile failed")
    try:
        return execution.apply_path(
            backbone, first_try, store=store, key=record, shape=shape, warn=warn
        )
    except Exception as exc:  # tracing support varies with the model and the torch build
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        warn(f"tracing the backbone failed ({type(exc).__name__}: {first}); running eager")
        backbone.traced = None
        backbone.optimized = tuple(o for o in backbone.optimized if o != "jit")
        return replace(first_try, path="eager", reason="tracing failed")


def _compile_backbone(backbone: Any, options: FeatureOptions, size: int, warn: WarnFn) -> bool:
    """``torch.compile`` the trunk and compile it now, on a zero batch of the run's clip shape,
    so a compiler failure costs a warning and the eager model, not the run. Measured on a
    2-core CPU: i3d_r50 at 96% of matmul throughput vs 73% eager (+fold, channels-last),
    after about 9 s of compiling — worth it from a few dozen clips on. Returns whether it
    compiled."""
    import torch

    backbone.optimize(fuse_bn=False, compile=True)
    shape = (options.batch_size, 3, options.clip_len, size, size)  # (B, 3, T, H, W)
    try:
        with torch.inference_mode():
            backbone.trunk(torch.zeros(shape, device=options.device))
    except Exception as exc:  # the compiler's errors vary by build (no C compiler, no Triton)
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        warn(f"torch.compile failed ({type(exc).__name__}: {first}); running uncompiled")
        backbone.uncompile()
        return False
    return True
