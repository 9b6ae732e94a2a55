"""Video backbones: a registry of pytorchvideo architectures used as clip feature extractors.

Every backbone is built with random weights (:func:`build_backbone`); weights are added
separately (:mod:`vloc.backbones.weights`). Shapes used throughout:

* clips in: ``(B, T, H, W, 3)`` uint8 RGB in [0, 255] (as decoded by :mod:`vloc.media`),
  normalised by :func:`normalise_clips` to ``(B, 3, T, H, W)`` float32;
* the trunk (everything before the classification head's pooling) maps that to a
  spatial feature map ``(B, D, T', H', W')``; for ``i3d_r50`` at 16 frames 224²
  it is ``(B, 2048, 8, 7, 7)``;
* :func:`pool_features` turns the map into a pooled vector ``(B, D)`` (mean over
  T', H', W') and a region grid ``(B, R, D)``, ``R = g × g`` (mean over T', then
  adaptive average pooling of H', W' to g × g; regions in row-major order, top-left first).

Two modules: :mod:`vloc.backbones.registry` (the architectures, their specs and
:func:`build_backbone`) and :mod:`vloc.backbones.model` (the ``Backbone`` module and the
inference helpers: BatchNorm folding, channels-last, ``torch.compile``, the TorchScript trace,
normalising and pooling). torch and pytorchvideo are imported inside the functions, so
importing this package is free.
"""

from __future__ import annotations

from vloc.backbones.model import (
    DEFAULT_GRID,
    backbone_class,
    fold_batchnorm,
    normalise_clips,
    optimize_traced,
    pool_features,
)
from vloc.backbones.registry import (
    ACTIVITYNET_MEAN,
    DEFAULT_BACKBONE,
    KINETICS_MEAN,
    KINETICS_STD,
    PYTORCHVIDEO_ZOO,
    REGISTRY,
    RESNEXT_CARDINALITY,
    RESNEXT_GROUP_WIDTH,
    UNIT_STD_255,
    BackboneSpec,
    build_backbone,
    build_csn_r101,
    build_i3d_r50,
    build_resnext101_3d,
    build_slow_r50,
    build_x3d_m,
    get_spec,
)

__all__ = [
    "ACTIVITYNET_MEAN",
    "DEFAULT_BACKBONE",
    "DEFAULT_GRID",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "PYTORCHVIDEO_ZOO",
    "REGISTRY",
    "RESNEXT_CARDINALITY",
    "RESNEXT_GROUP_WIDTH",
    "UNIT_STD_255",
    "BackboneSpec",
    "backbone_class",
    "build_backbone",
    "build_csn_r101",
    "build_i3d_r50",
    "build_resnext101_3d",
    "build_slow_r50",
    "build_x3d_m",
    "fold_batchnorm",
    "get_spec",
    "normalise_clips",
    "optimize_traced",
    "pool_features",
]
