"""The clip feature extractor around a pytorchvideo network, and its inference helpers.

``Backbone`` (an ``nn.Module``, defined on first use by :func:`backbone_class` so torch loads
lazily) runs the trunk of a network built by :mod:`vloc.backbones.registry`; the helpers here
are what inference needs around it: :func:`normalise_clips` (uint8 clips in), the rewrites
``Backbone.optimize`` applies (:func:`fold_batchnorm`, channels-last, ``torch.compile``), the
TorchScript trace (``Backbone.trace_frozen``, :func:`optimize_traced`) and
:func:`pool_features` (the pooled vector and the region grid out).

torch is imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from vloc.backbones.registry import BackboneSpec

DEFAULT_GRID = (
    3  # 3×3 = 9 regions per clip: 9 × 2048 × fp16 = 36 KiB per clip (7×7 would be 200 KiB)
)


def _trunk_modules(
    name: str, net: nn.Module, head_pre: Callable[[nn.Module], nn.Module]
) -> list[nn.Module]:
    """The modules of ``net`` before the head's pooling, in order."""
    blocks = list(net.blocks)
    trunk = blocks[:-1]
    if name == "x3d_m":  # X3D's head starts with a 1×1×1 conv + BN + ReLU before pooling
        trunk.append(head_pre(blocks[-1].pool))
    return trunk


def _last_conv_channels(modules: list[nn.Module]) -> int:
    from torch import nn

    dim = None
    for m in modules:
        if hasattr(m, "pool") and hasattr(m.pool, "pre_conv"):  # X3D head projection
            dim = m.pool.pre_conv.out_channels
            continue
        for sub in m.modules():
            if isinstance(sub, nn.Conv3d):
                dim = sub.out_channels
    if dim is None:
        raise ValueError("a backbone trunk without a Conv3d has no feature dimension")
    return dim


def _make_backbone_class() -> type:
    """Define :class:`Backbone` lazily (it subclasses torch's ``nn.Module``)."""
    from torch import nn

    class HeadPreProjection(nn.Module):
        """The part of X3D's ``ProjectedPool`` before its pooling (conv, norm, activation).

        Holds the pool itself, so rewrites of ``pool.pre_norm`` (BatchNorm folding) apply.
        """

        def __init__(self, pool: nn.Module) -> None:
            super().__init__()
            self.pool = pool

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool.pre_act(self.pool.pre_norm(self.pool.pre_conv(x)))

    class _TraceableTrunk(nn.Module):
        """The trunk layers alone, as one module for ``torch.jit.trace``."""

        def __init__(self, layers: nn.ModuleList) -> None:
            super().__init__()
            self.layers = layers

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.layers:
                x = layer(x)
            return x

    class Backbone(nn.Module):
        """A clip feature extractor: ``net`` (the full pytorchvideo model, whose state dict
        matches published checkpoints) plus its trunk.

        Attributes:
            spec: the registry entry.
            net: the full model, classification head included (not run).
            dim: D, channels of the feature map.
            optimized: names of the inference rewrites applied (see :meth:`optimize`).
        """

        def __init__(self, spec: BackboneSpec, net: nn.Module) -> None:
            super().__init__()
            self.spec = spec
            self.net = net
            self.trunk_layers = nn.ModuleList(_trunk_modules(spec.name, net, HeadPreProjection))
            self.dim = _last_conv_channels(list(self.trunk_layers))
            self.optimized: tuple[str, ...] = ()
            self.channels_last = False
            self.compiled: Any = None  # torch.compile'd _run_layers, see optimize()
            self.traced: Any = None  # a frozen TorchScript trunk, see use_traced()

        def trunk(self, x: torch.Tensor) -> torch.Tensor:
            """``x`` (B, 3, T, H, W) float normalised → feature map (B, D, T', H', W')."""
            if x.dim() != 5 or x.shape[1] != 3:
                raise ValueError(f"expected clips (B, 3, T, H, W), got {tuple(x.shape)}")
            if self.traced is not None:
                return self.traced(x)
            if self.channels_last:
                import torch

                x = x.contiguous(memory_format=torch.channels_last_3d)
            return (self.compiled or self._run_layers)(x)

        def _run_layers(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.trunk_layers:
                x = layer(x)
            return x

        def forward(
            self, x: torch.Tensor, grid: int = DEFAULT_GRID
        ) -> tuple[torch.Tensor, torch.Tensor]:
            """``x`` (B, 3, T, H, W) → pooled (B, D), regions (B, grid², D)."""
            return pool_features(self.trunk(x), grid)

        def optimize(
            self, *, fuse_bn: bool = True, channels_last: bool = False, compile: bool = False
        ) -> Backbone:
            """Rewrite for inference in place (after loading weights); returns ``self``.

            ``fuse_bn`` folds every BatchNorm3d that directly follows a Conv3d into the
            conv's weights and bias (exact up to float rounding; the state dict then no
            longer matches checkpoints). ``channels_last`` stores weights and activations
            channels-last (NDHWC), which oneDNN convolutions prefer. ``compile`` wraps the
            trunk in ``torch.compile`` (static shapes): the first call per input shape
            compiles, which takes seconds; see :meth:`uncompile` to undo it.
            """
            import torch

            self.eval()
            applied = list(self.optimized)
            if fuse_bn and "fuse_bn" not in applied:
                fold_batchnorm(self)
                applied.append("fuse_bn")
            if channels_last and "channels_last" not in applied:
                self.to(memory_format=torch.channels_last_3d)
                self.channels_last = True
                applied.append("channels_last")
            if compile and "compile" not in applied:
                self.compiled = torch.compile(self._run_layers, dynamic=False)
                applied.append("compile")
            self.optimized = tuple(applied)
            return self

        def trace_frozen(self, example: torch.Tensor) -> Any:
            """A frozen TorchScript trace of the trunk for clips shaped like ``example``
            ``(B, 3, T, H, W)``: weights become constants and BatchNorm is folded into the
            convolutions (``torch.jit.freeze``). Save it with ``torch.jit.save``; run
            :func:`optimize_traced` on it (saved or loaded) before use."""
            import torch

            self.eval()
            trunk = _TraceableTrunk(self.trunk_layers).eval()
            with torch.inference_mode(False), torch.no_grad():
                traced = torch.jit.trace(trunk, example, check_trace=False)
                return torch.jit.freeze(traced)

        def use_traced(self, module: Any) -> Backbone:
            """Run the trunk through ``module`` (from :meth:`trace_frozen`, optimised) from now on."""
            self.traced = module
            if "jit" not in self.optimized:
                self.optimized = (*self.optimized, "jit")
            return self

        def uncompile(self) -> Backbone:
            """Drop the ``torch.compile`` wrapper (e.g. after the compiler failed)."""
            self.compiled = None
            self.optimized = tuple(o for o in self.optimized if o != "compile")
            return self

    return Backbone


@functools.cache
def backbone_class() -> type:
    """The :class:`Backbone` ``nn.Module`` class (created on first use so torch loads lazily)."""
    return _make_backbone_class()


def optimize_traced(frozen: Any) -> Any:
    """oneDNN inference rewrites of a frozen trace (``torch.jit.optimize_for_inference``):
    convolutions with prepacked weights, fused with their ReLU and residual add. The result
    cannot be saved (its prepacked weights do not serialise): save the frozen trace instead and
    run this after loading it."""
    import torch

    with torch.inference_mode(False), torch.no_grad():
        return torch.jit.optimize_for_inference(frozen)


def plain_int_hyperparameters(net: nn.Module) -> None:
    """Turn numpy integers in conv/pool hyper-parameters into Python ints, in place.

    pytorchvideo computes some strides and kernel sizes with numpy (``np.prod``); numpy
    scalars there make ``torch.compile`` break the graph at every such layer.
    """
    import numbers

    def plain(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return type(v)(plain(x) for x in v)
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
            return int(v)
        return v

    for m in net.modules():
        for attr in ("stride", "padding", "dilation", "kernel_size", "output_size"):
            if hasattr(m, attr) and not callable(getattr(m, attr)):
                value = getattr(m, attr)
                fixed = plain(value)
                if fixed is not value:
                    setattr(m, attr, fixed)


def fold_batchnorm(module: nn.Module) -> int:
    """Fold BatchNorm3d layers into the Conv3d they follow, in place; return how many.

    pytorchvideo names each conv/norm pair consistently inside a block (``conv``/``norm``,
    ``conv_a``/``norm_a``, ``branch1_conv``/``branch1_norm``, ``pre_conv``/``pre_norm``),
    and always applies the norm directly to the conv's output. X3D wraps its norm in a
    ``Sequential(BatchNorm3d, SqueezeExcitation)``: its first element is folded. With
    weights ``w`` and BN statistics: ``w' = w · γ/√(σ²+ε)``, ``b' = (b − μ) · γ/√(σ²+ε) + β``.
    """
    import torch
    from torch import nn

    folded = 0
    for parent in list(module.modules()):
        for conv_name, conv in list(parent.named_children()):
            if not isinstance(conv, nn.Conv3d) or "conv" not in conv_name:
                continue
            norm_name = conv_name.replace("conv", "norm")
            norm = getattr(parent, norm_name, None)
            holder, key = parent, norm_name
            if (
                isinstance(norm, nn.Sequential)
                and len(norm)
                and isinstance(norm[0], nn.BatchNorm3d)
            ):
                holder, key, norm = norm, "0", norm[0]
            if not isinstance(norm, nn.BatchNorm3d) or norm.running_var is None:
                continue
            with torch.no_grad():
                scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)  # (C_out,)
                conv.weight.mul_(scale.reshape(-1, 1, 1, 1, 1))
                bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
                new_bias = (bias - norm.running_mean) * scale + norm.bias
                conv.bias = nn.Parameter(new_bias)
            setattr(holder, key, nn.Identity())
            folded += 1
    return folded


def normalise_clips(
    frames: np.ndarray | torch.Tensor,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    *,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """uint8 clips ``(B, T, H, W, 3)`` RGB [0, 255] → float32 ``(B, 3, T, H, W)``, (x/255 − mean)/std."""
    import torch

    x = torch.as_tensor(frames).to(device)
    if x.dim() != 5 or x.shape[-1] != 3:
        raise ValueError(f"expected uint8 clips (B, T, H, W, 3), got {tuple(x.shape)}")
    x = x.permute(0, 4, 1, 2, 3).float()  # (B, 3, T, H, W)
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).reshape(1, 3, 1, 1, 1) * 255
    s = torch.tensor(std, dtype=torch.float32, device=x.device).reshape(1, 3, 1, 1, 1) * 255
    return ((x - m) / s).contiguous()


def pool_features(
    fmap: torch.Tensor, grid: int = DEFAULT_GRID
) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature map ``(B, D, T', H', W')`` → pooled ``(B, D)`` and regions ``(B, grid², D)``.

    pooled = mean over T', H', W'; regions = adaptive average pooling of the time-averaged
    map ``(B, D, H', W')`` to ``(B, D, grid, grid)``, flattened row-major.
    """
    import torch.nn.functional as F

    if fmap.dim() != 5:
        raise ValueError(f"expected a feature map (B, D, T', H', W'), got {tuple(fmap.shape)}")
    if grid < 1:
        raise ValueError(f"grid must be >= 1, got {grid}")
    pooled = fmap.mean(dim=(2, 3, 4))  # (B, D)
    spatial = fmap.mean(dim=2)  # (B, D, H', W')
    regions = F.adaptive_avg_pool2d(spatial, grid)  # (B, D, g, g)
    regions = regions.flatten(2).transpose(1, 2).contiguous()  # (B, g², D)
    return pooled, regions
