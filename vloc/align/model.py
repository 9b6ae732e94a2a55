"""The video–text alignment model: two projection heads into one shared space, its losses,
and its model folder.

Architecture (MKTVR's matching space, without its cross encoder): a *video head* maps a clip
feature ``(B, D_v)`` (any vloc backbone's pooled feature) and a *text head* maps a sentence
embedding ``(B, D_t)`` of the multilingual text encoder (default ``use-multilingual-v3``,
512-d) to ``(B, D)``; both end in L2 normalisation, so a dot product is a cosine. A head is
``Linear`` (``hidden = 0``) or ``Linear → GELU → Dropout → Linear``. The video head first
standardises its input with the training set's per-dimension mean and standard deviation
(stored as buffers), so random-weight and pretrained backbones train alike.

Losses:

* :func:`info_nce` — symmetric InfoNCE over a batch's similarity matrix ``S`` (texts × clips,
  cosines): ``½ [CE(S/τ, diag) + CE(Sᵀ/τ, diag)]`` (LECCR eq. 4, MKTVR eq. 7 per direction);
  τ learned (as CLIP: ``τ = exp(-logit_scale)``, clamped) or fixed.
* :func:`soft_matching` — LECCR's softened matching under English guidance (§3.5, eqs. 20–22):
  ``KL(softmax(S_en/τ) ‖ softmax(S_other/τ))`` row-wise, the English row a fixed target.

Model folder (catalogue kind ``align``)::

    config.json         AlignConfig (sizes, temperature)
    model.safetensors   heads, logit scale, input standardisation
    align.json          text encoder (name, sha256, dim), feature settings ("features" block:
                        backbone, weights, seed, width, fps, clip_len, size, grid, kind),
                        languages trained on, training summary
    card.md             what it was trained on and how well it retrieved
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.configs import unknown_fields
from vloc.errors import WeightsError
from vloc.fileio import (
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    check_format_version,
    read_json,
    sha256_file,
)

if TYPE_CHECKING:
    import numpy as np
    import torch

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INFO_FILE = "align.json"  # catalogue kind "align": the folder's identifying JSON
CARD_FILE = "card.md"
ALIGN_FORMAT = "vloc-align"  # align.json "format"
ALIGN_FORMAT_VERSION = 1  # bump when the folder's meaning changes
MIN_TEMPERATURE = 0.01  # a learned τ never goes below this (CLIP clamps logit_scale at 100)
STD_FLOOR = 1e-4  # standardisation: dimensions that never vary are divided by this, not 0


@dataclass(frozen=True)
class AlignConfig:
    """Sizes and temperature of an :class:`AlignModel` (config.json)."""

    video_dim: int  # D_v: width of the clip features (the backbone's pooled width)
    text_dim: int  # D_t: width of the text encoder's sentence embeddings
    dim: int = 256  # D: width of the shared space
    hidden: int = 512  # hidden width of each head's MLP; 0: a single Linear
    dropout: float = 0.1  # dropout inside the MLP heads while training
    temperature: float = 0.07  # τ: initial value when learned, the value when fixed
    learn_temperature: bool = True  # learn τ (as CLIP and MKTVR's CLIP4Clip) or keep it fixed

    def __post_init__(self) -> None:
        if min(self.video_dim, self.text_dim, self.dim) < 1 or self.hidden < 0:
            raise ValueError(f"align sizes must be positive: {self}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.temperature >= MIN_TEMPERATURE:
            raise ValueError(f"temperature must be >= {MIN_TEMPERATURE}, got {self.temperature}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlignConfig:
        unknown = unknown_fields(cls, data)
        if unknown:
            raise ValueError(f"unknown align config keys: {', '.join(unknown)}")
        return cls(**data)


def info_nce(sim: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
    """Symmetric InfoNCE of a square similarity matrix ``sim`` ``(B, B)`` whose diagonal holds
    the positive pairs: ``½ [CE(sim/τ, diag) + CE(simᵀ/τ, diag)]``, mean over the batch."""
    import torch
    import torch.nn.functional as F

    logits = sim / temperature
    target = torch.arange(sim.shape[0], device=sim.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def soft_matching(
    sim_guide: torch.Tensor, sim_other: torch.Tensor, temperature: torch.Tensor | float
) -> torch.Tensor:
    """LECCR's softened matching: ``mean_i KL(y_i ‖ ȳ_i)`` with ``y = softmax(sim_guide/τ)``
    (English texts × clips, no gradient) and ``ȳ = softmax(sim_other/τ)`` (the same texts in
    another language × the same clips), both ``(B, B)``."""
    import torch.nn.functional as F

    target = F.softmax(sim_guide.detach() / temperature, dim=1)
    log_pred = F.log_softmax(sim_other / temperature, dim=1)
    return F.kl_div(log_pred, target, reduction="batchmean")


def _head(cfg: AlignConfig, d_in: int) -> Any:
    from torch import nn

    if cfg.hidden == 0:
        return nn.Linear(d_in, cfg.dim)
    return nn.Sequential(
        nn.Linear(d_in, cfg.hidden),
        nn.GELU(),
        nn.Dropout(cfg.dropout),
        nn.Linear(cfg.hidden, cfg.dim),
    )


def _module_class() -> type:
    import math

    import torch
    import torch.nn.functional as F
    from torch import nn

    class AlignModel(nn.Module):
        """Video and text projection heads into one L2-normalised space (see the module)."""

        def __init__(self, config: AlignConfig) -> None:
            super().__init__()
            self.config = config
            self.video_head = _head(config, config.video_dim)
            self.text_head = _head(config, config.text_dim)
            self.logit_scale = nn.Parameter(
                torch.tensor(math.log(1.0 / config.temperature)),
                requires_grad=config.learn_temperature,
            )
            self.register_buffer("video_mean", torch.zeros(config.video_dim))  # (D_v,)
            self.register_buffer("video_std", torch.ones(config.video_dim))  # (D_v,)

        def set_video_stats(self, mean: np.ndarray, std: np.ndarray) -> None:
            """Standardise video inputs with these per-dimension statistics ``(D_v,)``."""
            self.video_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.video_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(STD_FLOOR))

        def temperature(self) -> torch.Tensor:
            """τ = 1 / exp(logit_scale), never below MIN_TEMPERATURE."""
            return torch.exp(-self.logit_scale).clamp_min(MIN_TEMPERATURE)

        def encode_video(self, x: torch.Tensor) -> torch.Tensor:
            """Clip features ``(B, D_v)`` → unit rows ``(B, D)``."""
            return F.normalize(self.video_head((x - self.video_mean) / self.video_std), dim=-1)

        def encode_text(self, e: torch.Tensor) -> torch.Tensor:
            """Sentence embeddings ``(B, D_t)`` → unit rows ``(B, D)``."""
            return F.normalize(self.text_head(e), dim=-1)

    return AlignModel


def build_model(config: AlignConfig) -> Any:
    """A freshly initialised ``AlignModel`` (torch module) for ``config``."""
    return _module_class()(config)


@dataclass(frozen=True)
class LoadedAlign:
    """An align model folder, loaded for inference (eval mode, CPU)."""

    folder: Path
    model: Any  # AlignModel
    config: AlignConfig
    info: dict[str, Any]  # align.json
    sha256: str  # content hash of the weights and config (the model's id in indexes)

    @property
    def name(self) -> str:
        from vloc.catalogue import model_name

        return model_name(self.folder)

    @property
    def encoder(self) -> dict[str, Any]:
        """The text encoder it was trained on: name, sha256, dim."""
        return dict(self.info["encoder"])

    @property
    def features(self) -> dict[str, Any]:
        """The clip-feature settings it was trained on (catalogue ``"features"`` block)."""
        return dict(self.info["features"])

    def project_video(self, x: np.ndarray) -> np.ndarray:
        """Clip features ``(N, D_v)`` → unit rows ``(N, D)`` float32."""
        return self._run(self.model.encode_video, x, self.config.video_dim, "clip features")

    def project_text(self, e: np.ndarray) -> np.ndarray:
        """Sentence embeddings ``(N, D_t)`` → unit rows ``(N, D)`` float32."""
        return self._run(self.model.encode_text, e, self.config.text_dim, "text embeddings")

    def _run(self, fn: Any, x: np.ndarray, width: int, what: str) -> np.ndarray:
        import numpy as np
        import torch

        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != width:
            raise WeightsError(
                f"align model expects {what} of width {width}, got shape {arr.shape}",
                path=self.folder,
            )
        with torch.inference_mode():
            out = fn(torch.from_numpy(np.ascontiguousarray(arr)))
        return np.ascontiguousarray(out.numpy(), dtype=np.float32)


def model_sha256(folder: Path) -> str:
    """The model's id: sha256 over its config and weights files' hashes."""
    from vloc.fileio import stable_hash

    return stable_hash({n: sha256_file(folder / n) for n in (CONFIG_FILE, WEIGHTS_FILE)})


def save_model(folder: str | Path, model: Any, info: dict[str, Any], card: str) -> Path:
    """Write an align model folder (weights and config first, align.json last)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": ALIGN_FORMAT})
    atomic_write_json(folder / CONFIG_FILE, asdict(model.config))
    atomic_write_text(folder / CARD_FILE, card)
    full = {"format": ALIGN_FORMAT, "format_version": ALIGN_FORMAT_VERSION, **info}
    atomic_write_json(folder / INFO_FILE, full)
    return folder


def read_align_info(folder: Path) -> dict[str, Any]:
    """align.json, checked (format, version, encoder and features blocks); WeightsError naming
    the folder otherwise. JSON only: no torch."""
    path = folder / INFO_FILE
    if not os.path.lexists(path):
        raise WeightsError(
            f"not an align model folder: no {INFO_FILE} (train one with 'vloc train align')",
            path=folder,
        )
    info = read_json(path, what="align model metadata", error=WeightsError)
    if not isinstance(info, dict) or info.get("format") != ALIGN_FORMAT:
        raise WeightsError(f"{INFO_FILE}: not a {ALIGN_FORMAT} file", path=folder)
    check_format_version(
        info.get("format_version"), ALIGN_FORMAT_VERSION, what=f"{INFO_FILE}: format version",
        error=WeightsError, path=folder,
    )  # fmt: skip
    enc, feats = info.get("encoder"), info.get("features")
    if not isinstance(enc, dict) or not {"name", "sha256", "dim"} <= set(enc):
        raise WeightsError(f"{INFO_FILE}: lacks the text encoder (name, sha256, dim)", path=folder)
    if not isinstance(feats, dict) or "backbone" not in feats:
        raise WeightsError(f"{INFO_FILE}: lacks the feature settings block", path=folder)
    return info


def resolve_align(name_or_path: str | Path) -> Path:
    """The align model folder for a name (``models/<name>/``) or a path
    (:func:`vloc.catalogue.resolve`); WeightsError when there is none (listing the installed
    ones)."""
    from vloc.catalogue import resolve

    return resolve("align", name_or_path)


def load_align(name_or_path: str | Path) -> LoadedAlign:
    """Load an align model folder (or name) for inference; one-line WeightsError when the
    folder is missing, incomplete or inconsistent."""
    from safetensors.torch import load_file

    folder = resolve_align(name_or_path)
    info = read_align_info(folder)
    data = read_json(folder / CONFIG_FILE, what="align config", error=WeightsError)
    try:
        config = AlignConfig.from_dict(data)
    except (ValueError, TypeError, AttributeError) as e:
        raise WeightsError(f"{CONFIG_FILE}: not a valid align config: {e}", path=folder) from e
    if config.text_dim != int(info["encoder"]["dim"]):
        raise WeightsError(
            f"{CONFIG_FILE} says text_dim {config.text_dim} but {INFO_FILE} records a "
            f"{info['encoder']['dim']}-d encoder",
            path=folder,
        )
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except Exception as e:  # safetensors raises its own types for damaged files
        raise WeightsError(
            f"{WEIGHTS_FILE}: unreadable ({type(e).__name__}: {e})", path=folder
        ) from e
    model = build_model(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(
            f"{WEIGHTS_FILE} does not fit {CONFIG_FILE}: {first}", path=folder
        ) from e
    model.eval()
    return LoadedAlign(folder, model, config, info, model_sha256(folder))


__all__ = [
    "ALIGN_FORMAT",
    "AlignConfig",
    "LoadedAlign",
    "build_model",
    "info_nce",
    "load_align",
    "model_sha256",
    "read_align_info",
    "resolve_align",
    "save_model",
    "soft_matching",
]
