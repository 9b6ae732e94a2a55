"""The registry of video backbones: pytorchvideo architectures used as clip feature extractors,
each with the clip length, frame rate, crop size and normalisation its published checkpoint
was trained with.

Every backbone is built with random weights (:func:`build_backbone`); weights are added
separately (:mod:`vloc.backbones.weights`).

torch and pytorchvideo are imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vloc.backbones.model import backbone_class, plain_int_hyperparameters
from vloc.errors import InputError

if TYPE_CHECKING:
    from torch import nn

DEFAULT_BACKBONE = "i3d_r50"
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
    # checksum is published for any of them: vloc.backbones.weights trusts the file on first use


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


def _kinetics(
    name: str,
    description: str,
    builder: Callable[..., nn.Module],
    *,
    clip_len: int,
    fps: float,
    dim: int,
    checkpoint: str,
) -> BackboneSpec:
    """A pytorchvideo Kinetics-400 model: 224² crops, Kinetics normalisation, its checkpoint
    in pytorchvideo's model zoo."""
    return BackboneSpec(
        name=name, description=description, builder=builder, clip_len=clip_len, fps=fps,
        size=224, mean=KINETICS_MEAN, std=KINETICS_STD, dim=dim,
        weights_url=f"{PYTORCHVIDEO_ZOO}/{checkpoint}",
    )  # fmt: skip


REGISTRY: dict[str, BackboneSpec] = {
    s.name: s
    for s in (
        _kinetics(
            "i3d_r50", "I3D ResNet-50, Kinetics-400 (pytorchvideo 8×8)", build_i3d_r50,
            clip_len=8, fps=30 / 8,  # 8 frames taken every 8th frame of 30 fps video
            dim=2048, checkpoint="I3D_8x8_R50.pyth",
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
        _kinetics(
            "csn_r101", "ir-CSN ResNet-101, Kinetics-400 (pytorchvideo 32×2)", build_csn_r101,
            clip_len=32, fps=15.0,  # 32 frames every 2nd frame of 30 fps video
            dim=2048, checkpoint="CSN_32x2_R101.pyth",
        ),
        _kinetics(
            "slow_r50", "Slow ResNet-50, Kinetics-400 (pytorchvideo 8×8)", build_slow_r50,
            clip_len=8, fps=30 / 8, dim=2048, checkpoint="SLOW_8x8_R50.pyth",
        ),
        _kinetics(
            "x3d_m", "X3D-M, Kinetics-400 (pytorchvideo; fast)", build_x3d_m,
            clip_len=16, fps=6.0,  # 16 frames every 5th frame of 30 fps video
            dim=432, checkpoint="X3D_M.pyth",
        ),
    )
}  # fmt: skip


def get_spec(name: str) -> BackboneSpec:
    """The registry entry for ``name``; :class:`InputError` listing valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(REGISTRY))
        raise InputError(f"unknown backbone {name!r}; valid backbones: {valid}") from None


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
    plain_int_hyperparameters(net)
    return backbone_class()(spec, net).eval()
