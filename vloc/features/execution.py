"""How the backbone runs on this machine: eager PyTorch, a saved TorchScript trace, or torch.compile.

Paths (``FeatureOptions.backbone_path``, ``vloc features --backbone-path``):

* ``eager`` — the PyTorch model (BatchNorm folded and channels-last 3D with ``fast``); nothing to
  pay up front.
* ``jit`` — a frozen TorchScript trace of the trunk optimised for inference (oneDNN convolutions
  with prepacked weights, fused with their ReLU and residual add). On a 2-core Zen CPU it takes
  ``i3d_r50`` at 16 frames 224² from 0.88 to 0.62 s per clip; the first trace costs 10–25 s,
  loading the saved trace later 3–5 s (the oneDNN rewrite is redone after loading: its prepacked
  weights do not serialise). CPU only.
* ``compile`` — ``torch.compile`` (on request only: here it was slower than ``jit`` per clip,
  0.69 s, after a 25 s compile that is paid again by every process).
* ``auto`` (the default) — ``eager`` or ``jit``, whichever finishes this run first.

``auto`` decides with a measurement of this machine, taken once per backbone, weights, clip shape
(batch, frames, crop), torch version and CPU (model, flags, count, threads) and remembered in
``$VLOC_HOME/backbones/paths.json``: seconds per batch eager and traced, the cost of tracing and
of loading a saved trace. A run that has ``n`` batches to compute takes ``jit`` when
``setup + n · jit_s < n · eager_s`` (setup: loading the saved trace when there is one, else
tracing). Without a measurement yet, a run shorter than :data:`MEASURE_MIN_BATCHES` batches stays
eager and measures nothing (the measurement traces, which only a longer film earns back); a
longer one measures (4 eager and 3 traced batches beside the trace it keeps) and decides.

Saved traces (kept, like the measurements, by :mod:`vloc.features.execution_store`) live in
``$VLOC_HOME/backbones/traced/``: ``<backbone>-<key16>-<sha16>.pt`` (the
frozen trace, named by its content) and ``<backbone>-<key16>.json`` naming the current file with
its size and sha256. Both are written atomically; a file whose size or hash does not match, or
that torch cannot load, is traced again (with a warning), never a failed run. Two runs tracing
at once each write a complete file; the last ``.json`` wins.

Feature bytes (measured on real decoded clips of an open film, ``i3d_r50``, random weights):
eager is deterministic (the same float16 bytes for batch 1 and 2, 1 and 2 threads); the trace is
deterministic too (traced from the folded or the unfolded model, any thread count), but 2 of
12,288 pooled and 66 of 110,592 region values round to another float16 than eager's (max abs
difference 6e-8 in float32, cosine 1.0). So ``jit`` is part of the feature store's key
(:func:`vloc.features.store.feature_key`), and the unfolded model (``fast=False``, 128 region
values differ) too: an entry's bytes depend only on its key, and a resumed run never mixes rows
of two paths. ``torch.compile`` gave exactly eager's float32 values (max abs difference 0): it
shares eager's key.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vloc.errors import InputError
from vloc.features.execution_store import KEY_CHARS, Measurement, PathStore
from vloc.fileio import stable_hash

PATHS = ("auto", "eager", "jit", "compile")
DEFAULT_PATH = "auto"
RECORD_FORMAT = 1  # bump when the measurement record's meaning changes
MEASURE_MIN_BATCHES = 100  # (= clips at batch 1, the default) a run with fewer batches to
# compute never pays for a measurement:
# tracing i3d_r50 costs as much as 15–25 clips, and a ~30 % saving per clip earns it back after
# 50–80 clips
TIMING_REPS = 3  # timed batches per path in a measurement, alternating (the best counts)
JIT_WARMUP_CALLS = 2  # TorchScript's profiling executor optimises the graph on its 2nd call
TIMING_SEED = 0  # the measurement's random input

WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class Decision:
    """The path a run takes and why (reported in ``FeatureResult.backbone_path``)."""

    path: str  # "eager" | "jit" | "compile"
    reason: str  # one line for reports
    requested: str = DEFAULT_PATH  # what the options asked for
    batches: int = 0  # batches the run had to compute when it decided
    break_even: float | None = None  # batches from which jit wins (auto with a measurement)
    measured: bool = False  # this run measured the machine
    traced: bool = False  # this run traced the backbone (no usable saved trace)
    loaded: bool = False  # this run loaded a saved trace
    setup_s: float = 0.0  # seconds spent measuring, tracing or loading

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["setup_s"] = round(self.setup_s, 3)
        if self.break_even is not None:
            out["break_even"] = round(self.break_even, 1)
        return out


def check_path(path: str, *, fast: bool, device: str, compile: bool = False) -> str:
    """The requested path, checked against the other options (InputError otherwise)."""
    if path not in PATHS:
        raise InputError(f"unknown backbone path {path!r}; valid paths: {', '.join(PATHS)}")
    if compile:
        if path not in ("auto", "compile"):
            raise InputError(f"--compile contradicts --backbone-path {path}")
        path = "compile"
    if path == "jit" and not fast:
        raise InputError("--backbone-path jit folds BatchNorm; it cannot run with --no-fast")
    if path == "jit" and device != "cpu":
        raise InputError("--backbone-path jit runs on the CPU only; use eager or compile")
    return path


def keyed_path(path: str, *, fast: bool) -> str | None:
    """What enters the feature store's key for ``path``: None for the default eager model (so
    the keys of earlier entries still hold), else a name of the numerics. ``torch.compile``
    computes exactly eager's float32 values (its convolutions are eager's oneDNN calls, the
    fused elementwise ops are exact): it shares eager's key."""
    if path == "jit":
        return "jit"
    return None if fast else "eager-unfused"


def cpu_signature() -> str:
    """A short hash of the CPU's model name and instruction-set flags (``/proc/cpuinfo``)."""
    model, flags = platform.processor() or platform.machine(), ""
    with contextlib.suppress(OSError):
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            name, _, value = line.partition(":")
            name = name.strip()
            if name == "model name" and not model.startswith("cpu:"):
                model = "cpu:" + value.strip()
            elif name in ("flags", "Features") and not flags:
                flags = " ".join(sorted(value.split()))
    return stable_hash({"model": model, "flags": flags, "machine": platform.machine()})[:KEY_CHARS]


def record_key(
    *, backbone: str, width: float, weights_id: str, shape: tuple[int, ...], device: str
) -> str:
    """The key of a measurement and of a saved trace: what the timings and the trace depend on."""
    import torch

    return stable_hash(
        {
            "format": RECORD_FORMAT,
            "backbone": backbone,
            "width": width,
            "weights": weights_id,
            "shape": list(shape),  # (B, 3, T, H, W)
            "device": device,
            "torch": torch.__version__,
            "cpu": cpu_signature(),
            "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(),
        }
    )


def batches(clips: int, batch_size: int) -> int:
    return math.ceil(clips / max(1, batch_size))


def decide(requested: str, batches_todo: int, m: Measurement | None, *, saved: bool) -> Decision:
    """The break-even rule (pure): which path a run with ``batches_todo`` batches takes.

    ``requested`` other than auto is taken as is. With auto and no measurement the result's
    path is ``"measure"`` when the run is long enough to earn a measurement back, else eager.
    """
    if requested != "auto":
        return Decision(requested, "requested", requested, batches_todo)
    if m is None:
        if batches_todo < MEASURE_MIN_BATCHES:
            why = f"{batches_todo} batches: too few to earn a trace back (< {MEASURE_MIN_BATCHES})"
            return Decision("eager", why, requested, batches_todo)
        return Decision("measure", "no measurement of this machine yet", requested, batches_todo)
    be = m.break_even(saved)
    if be is None:
        why = f"the trace is not faster here ({m.jit_s:.3f} vs {m.eager_s:.3f} s per batch)"
        return Decision("eager", why, requested, batches_todo)
    setup = "loading the saved trace" if saved else "tracing"
    if batches_todo > be:
        why = (
            f"{batches_todo} batches > break-even {be:.0f} ({setup} {m.setup_s(saved):.1f} s, "
            f"{m.jit_s:.3f} vs {m.eager_s:.3f} s per batch)"
        )
        return Decision("jit", why, requested, batches_todo, be)
    why = f"{batches_todo} batches ≤ break-even {be:.0f} ({setup} {m.setup_s(saved):.1f} s)"
    return Decision("eager", why, requested, batches_todo, be)


def _warm(fn: Callable[[Any], Any], x: Any, calls: int) -> None:
    for _ in range(calls):
        fn(x)


def _time_batch(fn: Callable[[Any], Any], x: Any, reps: int) -> float:
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - t0)
    return best


def attach_trace(
    backbone: Any,
    store: PathStore,
    key: str,
    shape: tuple[int, ...],
    *,
    warn: WarnFn | None = None,
) -> tuple[bool, float, float]:
    """Run ``backbone``'s trunk through its saved trace (loaded) or a new one (traced, saved,
    and loaded back, so this run computes with exactly what later runs load).

    Returns (traced, seconds in all, seconds of loading + optimising + warming up).
    """
    import torch

    from vloc.backbones import optimize_traced

    name = backbone.spec.name
    t0 = time.perf_counter()
    frozen = store.load_trace(name, key, warn)
    traced = frozen is None
    t_load = t0
    if traced:
        example = torch.zeros(shape)  # (B, 3, T, H, W)
        store.save_trace(name, key, backbone.trace_frozen(example))
        t_load = time.perf_counter()
        frozen = store.load_trace(name, key, warn)
        if frozen is None:  # written and unreadable at once: keep the trace in memory
            frozen = backbone.trace_frozen(example)
    module = optimize_traced(frozen)
    with torch.inference_mode():
        _warm(module, torch.zeros(shape), JIT_WARMUP_CALLS)
    backbone.use_traced(module)
    end = time.perf_counter()
    return traced, end - t0, end - t_load


def measure(
    backbone: Any, store: PathStore, key: str, shape: tuple[int, ...], *, warn: WarnFn | None
) -> tuple[Measurement, bool]:
    """Time ``backbone`` eager and traced on a random batch of ``shape``; trace (or load) it on
    the way and leave it attached. Returns (measurement, whether it traced)."""
    import torch

    gen = torch.Generator().manual_seed(TIMING_SEED)
    x = torch.randn(shape, generator=gen)  # (B, 3, T, H, W)
    with torch.inference_mode():
        _warm(backbone.trunk, x, 1)
    traced, setup_s, load_s = attach_trace(backbone, store, key, shape, warn=warn)
    module, eager_s, jit_s = backbone.traced, math.inf, math.inf
    with torch.inference_mode():  # alternated, the best of each: a shared machine's load
        for _ in range(TIMING_REPS):  # drifts by more than the difference between them
            backbone.traced = None
            eager_s = min(eager_s, _time_batch(backbone.trunk, x, 1))
            backbone.traced = module
            jit_s = min(jit_s, _time_batch(backbone.trunk, x, 1))
    # a trace saved by an earlier run whose measurement is gone: the trace cost is estimated
    trace_s = setup_s if traced else load_s * TRACE_OVER_LOAD
    return Measurement(eager_s, jit_s, trace_s, load_s), traced


TRACE_OVER_LOAD = 3.0  # tracing ≈ 3× loading a saved trace (i3d_r50 here: ~13 s vs ~4 s); used
# only when a saved trace outlived its measurement


def apply_path(
    backbone: Any,
    decision: Decision,
    *,
    store: PathStore,
    key: str,
    shape: tuple[int, ...],
    warn: WarnFn | None = None,
) -> Decision:
    """Put ``backbone`` on the decided path (``"measure"``: measure first, remember, decide).

    Handles eager and jit; compile is applied by the caller. Returns the final decision.
    """
    from dataclasses import replace

    t0 = time.perf_counter()
    if decision.path == "measure":
        m, traced = measure(backbone, store, key, shape, warn=warn)
        store.remember(
            key, m, {"backbone": backbone.spec.name, "shape": list(shape), "when": _now()}
        )
        final = decide(decision.requested, decision.batches, m, saved=True)
        if final.path != "jit":
            backbone.traced = None
            backbone.optimized = tuple(o for o in backbone.optimized if o != "jit")
        return replace(
            final,
            reason=f"measured: {final.reason}",
            measured=True,
            traced=traced,
            setup_s=time.perf_counter() - t0,
        )
    if decision.path == "jit":
        traced, _, _ = attach_trace(backbone, store, key, shape, warn=warn)
        return replace(decision, traced=traced, loaded=not traced, setup_s=time.perf_counter() - t0)
    return decision


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
