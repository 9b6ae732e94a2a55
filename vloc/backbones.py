"""Video backbones: a registry of pytorchvideo architectures used as clip feature extractors.

Every backbone is built with random weights (:func:`build_backbone`); weights are added
separately (:mod:`vloc.weights`). Shapes used throughout:

* clips in: ``(B, T, H, W, 3)`` uint8 RGB in [0, 255] (as decoded by :mod:`vloc.media`),
  normalised by :func:`normalise_clips` to ``(B, 3, T, H, W)`` float32;
* the trunk (everything before the classification head's pooling) maps that to a
  spatial feature map ``(B, D, T', H', W')``; for ``i3d_r50`` at 16 frames 224²
  it is ``(B, 2048, 8, 7, 7)``;
* :func:`pool_features` turns the map into a pooled vector ``(B, D)`` (mean over
  T', H', W') and a region grid ``(B, R, D)``, ``R = g × g`` (mean over T', then
  adaptive average pooling of H', W' to g × g; regions in row-major order, top-left first).

torch and pytorchvideo are imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

DEFAULT_BACKBONE = "i3d_r50"
DEFAULT_GRID = (
    3  # 3×3 = 9 regions per clip: 9 × 2048 × fp16 = 36 KiB per clip (7×7 would be 200 KiB)
)
PYTORCHVIDEO_ZOO = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"
KINETICS_MEAN = (0.45, 0.45, 0.45)  # pytorchvideo's Kinetics models, RGB in [0, 1]
KINETICS_STD = (0.225, 0.225, 0.225)
# 3D-ResNets-PyTorch (Hara et al.) feature extractor: ActivityNet mean in [0, 255] units and no
# division by a std; expressed here in [0, 1] units, so std = 1/255 reproduces "pixel - mean".
ACTIVITYNET_MEAN = (114.7748 / 255, 107.7354 / 255, 99.4750 / 255)
UNIT_STD_255 = (1 / 255, 1 / 255, 1 / 255)
RESNEXT_CARDINALITY = 32  # groups in the 3×3×3 convolution of ResNeXt-101 32×4d
RESNEXT_GROUP_WIDTH = 4  # channels per group in the first stage (doubling per stage)


@dataclass(frozen=True)
class BackboneSpec:
    """One registry entry: how to build a backbone and feed it."""

    name: str  # registry name, e.g. "i3d_r50"
    description: str  # one line for `--help` and reports
    builder: Callable[
        ..., nn.Module
    ]  # builder(width=1.0, **kwargs) -> pytorchvideo Net, random init
    clip_len: int  # frames per clip the published checkpoint was trained on
    fps: float  # frames per second those clips were sampled at (source rate / sampling stride)
    size: int  # square crop side the checkpoint was trained on (px)
    mean: tuple[float, float, float]  # per-channel RGB mean, [0, 1] units
    std: tuple[float, float, float]  # per-channel RGB std, [0, 1] units
    dim: int  # D, channels of the trunk's feature map at width 1
    weights_url: str | None  # published checkpoint, or None when it has no stable URL; no
    # checksum is published for any of them: vloc.weights trusts the file on first use


def _resnet_kwargs(width: float) -> dict[str, Any]:
    """ResNet widths scale with the stem: stage outputs are 4, 8, 16, 32 × stem channels."""
    stem = max(1, round(64 * width))
    return {"stem_dim_out": stem}


def build_i3d_r50(*, width: float = 1.0, **kwargs: Any) -> nn.Module:
    """I3D ResNet-50 as in pytorchvideo's ``i3d_r50`` (Kinetics 8×8 checkpoint layout).

    ``width`` scales every channel count (1.0 = the real model, D = 2048; 1/16 gives D = 128).
    """
    from pytorchvideo.models.hub.resnet import i3d_r50

    return i3d_r50(pretrained=False, **{**_resnet_kwargs(width), **kwargs})


def build_slow_r50(*, width: float = 1.0, **kwargs: Any) -> nn.Module:
    """Slow-only ResNet-50 (the slow pathway of SlowFast), pytorchvideo's ``slow_r50``."""
    from pytorchvideo.models.hub.resnet import slow_r50

    return slow_r50(pretrained=False, **{**_resnet_kwargs(width), **kwargs})


def build_csn_r101(*, width: float = 1.0, **kwargs: Any) -> nn.Module:
    """Channel-separated ResNet-101 (ir-CSN), pytorchvideo's ``csn_r101`` (32×2 checkpoint)."""
    from pytorchvideo.models.hub.csn import csn_r101

    return csn_r101(pretrained=False, **{**_resnet_kwargs(width), **kwargs})


def build_x3d_m(*, width: float = 1.0, **kwargs: Any) -> nn.Module:
    """X3D-M, pytorchvideo's ``x3d_m``: width factor 2.0 × ``width``, depth factor 2.2.

    The trunk ends with the head's 1×1×1 projection (192 → 432 channels, before its
    pooling), so D = 432 at width 1.
    """
    from pytorchvideo.models.hub.x3d import x3d_m

    return x3d_m(pretrained=False, width_factor=2.0 * width, **kwargs)


def _resnext_bottleneck(
    *,
    cardinality: int,
    dim_inner: int,
    conv_a_stride: tuple[int, int, int],
    conv_b_stride: tuple[int, int, int],
    **kwargs: Any,
) -> nn.Module:
    """A ResNeXt bottleneck in the layout of Hara et al.'s 3D-ResNeXt.

    ``create_resnet`` passes ``dim_inner = dim_out / 4`` (ResNet); ResNeXt 32×4d uses
    ``dim_out / 2`` split into ``cardinality`` groups, and strides in its 3×3×3 conv
    (Hara et al.) rather than in the first 1×1×1 conv: both are rewritten here.
    """
    from pytorchvideo.models.resnet import create_bottleneck_block

    return create_bottleneck_block(
        dim_inner=dim_inner * 2,
        conv_a_stride=(1, 1, 1),
        conv_b_stride=tuple(a * b for a, b in zip(conv_a_stride, conv_b_stride, strict=True)),
        conv_b_num_groups=cardinality,
        **{k: v for k, v in kwargs.items() if k != "conv_b_num_groups"},
    )


def build_resnext101_3d(*, width: float = 1.0, **kwargs: Any) -> nn.Module:
    """3D-ResNeXt-101 32×4d (Hara et al., "Can Spatiotemporal 3D CNNs Retrace the History
    of 2D CNNs and ImageNet?"), the extractor behind the How2 / MCLS action features.

    Built with pytorchvideo's ``create_resnet`` and ``create_bottleneck_block``: stem conv
    7×7×7 stride (1, 2, 2) + max-pool 3×3×3 stride 2; stage depths (3, 4, 23, 3);
    cardinality 32 with 4 channels per group → inner dims 128/256/512/1024, output dims
    256/512/1024/2048; 3×3×3 grouped convs with stride 2 (time and space) in stages 2–4.
    At 16 frames the map is ``(B, 2048, 1, H/32, W/32)``. ``width`` scales the number of
    groups (and the stem), keeping 4 channels per group.
    """
    from pytorchvideo.models.resnet import create_resnet
    from torch import nn

    cardinality = max(1, round(RESNEXT_CARDINALITY * width))
    # create_resnet derives every stage width from the stem: out = 4 × stem, doubling per stage,
    # so stem = cardinality × group width / 2 gives inner 128 and out 256 at width 1.
    stem = cardinality * RESNEXT_GROUP_WIDTH // 2
    params: dict[str, Any] = {
        "model_depth": 101,
        "stem_dim_out": stem,
        "stem_conv_kernel_size": (7, 7, 7),
        "stem_conv_stride": (1, 2, 2),
        "stem_pool": nn.MaxPool3d,
        "stem_pool_kernel_size": (3, 3, 3),
        "stem_pool_stride": (2, 2, 2),
        "stage_conv_a_kernel_size": (1, 1, 1),
        "stage_conv_b_kernel_size": (3, 3, 3),
        "stage_temporal_stride": (1, 2, 2, 2),
        "bottleneck": functools.partial(_resnext_bottleneck, cardinality=cardinality),
        "head_pool_kernel_size": (1, 4, 4),  # 16 frames at 112²: the map is (1, 4, 4)
    }
    params.update(kwargs)
    return create_resnet(**params)


REGISTRY: dict[str, BackboneSpec] = {
    s.name: s
    for s in (
        BackboneSpec(
            name="i3d_r50",
            description="I3D ResNet-50, Kinetics-400 (pytorchvideo 8×8)",
            builder=build_i3d_r50,
            clip_len=8,
            fps=30 / 8,  # 8 frames taken every 8th frame of 30 fps video
            size=224,
            mean=KINETICS_MEAN,
            std=KINETICS_STD,
            dim=2048,
            weights_url=f"{PYTORCHVIDEO_ZOO}/I3D_8x8_R50.pyth",
        ),
        BackboneSpec(
            name="resnext101_3d",
            description="3D-ResNeXt-101 32×4d (Hara et al.), the How2/MCLS action-feature extractor",
            builder=build_resnext101_3d,
            clip_len=16,
            fps=30.0,  # 16 consecutive frames at the source rate (How2 videos are ~30 fps)
            size=112,
            mean=ACTIVITYNET_MEAN,
            std=UNIT_STD_255,
            dim=2048,
            weights_url=None,  # published on a file-sharing drive only: pass --weights PATH
        ),
        BackboneSpec(
            name="csn_r101",
            description="ir-CSN ResNet-101, Kinetics-400 (pytorchvideo 32×2)",
            builder=build_csn_r101,
            clip_len=32,
            fps=15.0,  # 32 frames every 2nd frame of 30 fps video
            size=224,
            mean=KINETICS_MEAN,
            std=KINETICS_STD,
            dim=2048,
            weights_url=f"{PYTORCHVIDEO_ZOO}/CSN_32x2_R101.pyth",
        ),
        BackboneSpec(
            name="slow_r50",
            description="Slow ResNet-50, Kinetics-400 (pytorchvideo 8×8)",
            builder=build_slow_r50,
            clip_len=8,
            fps=30 / 8,
            size=224,
            mean=KINETICS_MEAN,
            std=KINETICS_STD,
            dim=2048,
            weights_url=f"{PYTORCHVIDEO_ZOO}/SLOW_8x8_R50.pyth",
        ),
        BackboneSpec(
            name="x3d_m",
            description="X3D-M, Kinetics-400 (pytorchvideo; fast)",
            builder=build_x3d_m,
            clip_len=16,
            fps=6.0,  # 16 frames every 5th frame of 30 fps video
            size=224,
            mean=KINETICS_MEAN,
            std=KINETICS_STD,
            dim=432,
            weights_url=f"{PYTORCHVIDEO_ZOO}/X3D_M.pyth",
        ),
    )
}


def get_spec(name: str) -> BackboneSpec:
    """The registry entry for ``name``; :class:`InputError` listing valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(REGISTRY))
        raise InputError(f"unknown backbone {name!r}; valid backbones: {valid}") from None


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


def build_backbone(name: str, *, width: float = 1.0, **kwargs: Any) -> Any:
    """Build backbone ``name`` with random weights, in eval mode.

    Args:
        name: a :data:`REGISTRY` key.
        width: channel multiplier (1.0 = the published architecture; tests use 1/16).
        kwargs: passed to the pytorchvideo builder (e.g. ``model_num_class``).

    Returns:
        a ``Backbone`` (``nn.Module``) with ``.trunk(x)``, ``.net``, ``.dim``, ``.spec``.
    """
    from vloc._compat import install_torchvision_compat

    spec = get_spec(name)
    if not width > 0:
        raise InputError(f"backbone width must be > 0, got {width}")
    install_torchvision_compat()  # the builders import pytorchvideo, which imports torchvision
    net = spec.builder(width=width, **kwargs)
    _plain_int_hyperparameters(net)
    return backbone_class()(spec, net).eval()


def optimize_traced(frozen: Any) -> Any:
    """oneDNN inference rewrites of a frozen trace (``torch.jit.optimize_for_inference``):
    convolutions with prepacked weights, fused with their ReLU and residual add. The result
    cannot be saved (its prepacked weights do not serialise): save the frozen trace instead and
    run this after loading it."""
    import torch

    with torch.inference_mode(False), torch.no_grad():
        return torch.jit.optimize_for_inference(frozen)


def _plain_int_hyperparameters(net: nn.Module) -> None:
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
