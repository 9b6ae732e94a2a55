"""CLIP as a ready-made align model: search by what is seen with no training.

A CLIP image–text model (transformers ``CLIPModel``, e.g. ``openai/clip-vit-base-patch32``)
already maps images and English text into one space. :class:`LoadedClip` uses its image tower
as a frame-level feature extractor — each cue's clip is :data:`CLIP_FRAMES` frames evenly
spaced over the cue (short side resized to the model's image size, centre crop), each frame
embedded, the L2-normalised frame embeddings averaged and normalised again — and its text
tower to embed a query into the same space. CLIP's text tower is **English only**: other
languages do not find what is shown (train an align model, :mod:`vloc.align.train`, for that).

Named as ``clip:NAME`` where NAME is a model folder (``config.json``, weights, tokenizer and
image-processor files) or a hub name looked up in the model cache (``vloc_home()/hf``) with no
network: a hub model that is not there is one clear error that says how to fetch it. Its id in
an index is the sha256 over its config and weight files.

Heavy imports (torch, transformers) happen inside the functions, after the torchvision
compatibility step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vloc.errors import InputError, WeightsError
from vloc.fileio import read_json

CLIP_PREFIX = "clip:"  # --align clip:NAME selects a CLIP model instead of a trained align model
CLIP_FRAMES = 4  # frames embedded per cue, evenly spaced over it, their embeddings averaged
CLIP_FPS = 4.0  # decode rate (frames/s) the cue frames are picked from
CLIP_BATCH = 32  # frames per image-tower forward pass
CLIP_KIND = "clip"  # the "kind" of a CLIP align model in index manifests
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # one of these holds the weights
DEFAULT_MEAN = (0.48145466, 0.4578275, 0.40821073)  # CLIP's pixel normalisation (RGB)
DEFAULT_STD = (0.26862954, 0.26130258, 0.27577711)
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name


def is_clip_spec(spec: object) -> bool:
    """True for ``clip:NAME`` (an --align value naming a CLIP model)."""
    return isinstance(spec, str) and spec.startswith(CLIP_PREFIX)


def resolve_clip(spec: str, *, cache_dir: Path | None = None) -> Path:
    """The local folder of ``clip:NAME`` (a folder, or a hub name in the model cache); never
    downloads. One-line :class:`WeightsError` / :class:`InputError` otherwise."""
    from vloc.workspace import hf_cache_dir

    name = spec[len(CLIP_PREFIX) :].strip() if is_clip_spec(spec) else str(spec).strip()
    if not name:
        raise InputError("--align clip:NAME needs a CLIP model folder or hub name after 'clip:'")
    path = Path(name).expanduser()
    if path.exists():
        if not (path.is_dir() and (path / "config.json").is_file()):
            raise WeightsError("not a CLIP model folder: expected config.json", path=path)
        return path
    if name.startswith((".", "/", "~")) or "\\" in name or not _HUB_NAME.fullmatch(name):
        raise WeightsError("CLIP model folder not found", path=path)
    cache = Path(cache_dir) if cache_dir is not None else hf_cache_dir()
    if (cache / name / "config.json").is_file():
        return cache / name
    from huggingface_hub import snapshot_download

    try:  # the hub's cache layout, never online
        return Path(snapshot_download(name, cache_dir=str(cache), local_files_only=True))
    except (OSError, ValueError):  # LocalEntryNotFoundError, HFValidationError
        pass
    raise WeightsError(
        f"CLIP model {name!r} is not a local folder and not in the model cache {cache} "
        f"(vloc never downloads it): on a machine with a network run `hf download {name} "
        f"--cache-dir {cache}` and copy {cache} here, or pass --align clip:PATH to a local "
        "model folder"
    )


def clip_sha256(folder: Path) -> str:
    """The model's id: sha256 over its config and weight files' hashes."""
    from vloc.fileio import sha256_file, stable_hash

    files = ["config.json", *[n for n in WEIGHT_FILES if (folder / n).is_file()]]
    if len(files) == 1:
        raise WeightsError(
            f"CLIP model folder has no weights ({' or '.join(WEIGHT_FILES)})", path=folder
        )
    return stable_hash({n: sha256_file(folder / n) for n in files})


@dataclass(frozen=True)
class LoadedClip:
    """A CLIP model loaded for inference (eval mode, CPU)."""

    folder: Path
    spec: str  # what it was asked for: "clip:NAME"
    sha256: str  # content hash of config and weights (the model's id in indexes)
    model: Any = field(repr=False)  # transformers CLIPModel
    tokenizer: Any = field(repr=False)
    size: int = 224  # image tower input (px, square)
    mean: tuple[float, float, float] = DEFAULT_MEAN  # pixel normalisation, RGB in [0, 1]
    std: tuple[float, float, float] = DEFAULT_STD
    dim: int = 512  # D: the shared space's width (projection_dim)

    @property
    def name(self) -> str:
        return self.spec

    @property
    def info(self) -> dict[str, Any]:
        """What an index records about it."""
        return {"kind": CLIP_KIND, "frames": CLIP_FRAMES, "fps": CLIP_FPS, "size": self.size}

    def embed_frames(self, frames: Any) -> Any:
        """Frames ``(N, H, W, 3)`` uint8 RGB (H = W = :attr:`size`) → unit rows ``(N, D)``."""
        import numpy as np
        import torch

        arr = np.asarray(frames)
        if arr.ndim != 4 or arr.shape[1:] != (self.size, self.size, 3):
            raise InputError(
                f"CLIP frames must be (N, {self.size}, {self.size}, 3), got {arr.shape}"
            )
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        out = []
        with torch.inference_mode():
            for i in range(0, len(arr), CLIP_BATCH):
                x = torch.from_numpy(np.ascontiguousarray(arr[i : i + CLIP_BATCH]))
                x = (x.permute(0, 3, 1, 2).float() / 255.0 - mean) / std  # (B, 3, S, S)
                out.append(_features(self.model.get_image_features(pixel_values=x)))
        emb = torch.cat(out) if out else torch.zeros(0, self.dim)
        return _unit(emb.numpy())

    def embed_spans(
        self,
        video: str | Path,
        spans_ms: Sequence[tuple[int, int]],
        *,
        warn: Callable[[str], None] | None = None,
    ) -> Any:
        """One unit row ``(M, D)`` per span: the mean of its :data:`CLIP_FRAMES` frames'
        embeddings, normalised (one decoding pass with real ffmpeg)."""
        import numpy as np

        from vloc.media.clips import iter_cue_clips

        warnings: list[str] = []
        out = np.zeros((len(spans_ms), self.dim), np.float32)
        for clip in iter_cue_clips(
            video, spans_ms, fps=CLIP_FPS, clip_len=CLIP_FRAMES, size=self.size,
            warnings=warnings,
        ):  # fmt: skip
            out[clip.index] = self.embed_frames(clip.frames).mean(0)
        for w in warnings:
            if warn is not None:
                warn(w)
        return _unit(out)

    def encode_text(self, texts: list[str]) -> Any:
        """English texts → unit rows ``(N, D)`` in the image embeddings' space."""
        import torch

        batch = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            emb = _features(
                self.model.get_text_features(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                )
            )
        return _unit(emb.numpy())


def _features(out: Any) -> Any:
    """transformers 4 returns the projected features, 5 an output whose pooler_output they are."""
    return out if hasattr(out, "shape") else out.pooler_output


def _unit(x: Any) -> Any:
    import numpy as np

    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


@dataclass(frozen=True)
class ClipRef:
    """A CLIP model found on disk and identified by content hash, not loaded yet (what an
    index's cache key needs; :meth:`load` when clips are embedded or a query encoded)."""

    folder: Path  # the model folder
    spec: str  # how it is named in indexes: "clip:NAME" as asked for
    sha256: str  # content hash of config and weights (the model's id in indexes)

    @property
    def name(self) -> str:
        return self.spec

    def load(self) -> LoadedClip:
        """Load it for inference; one-line :class:`WeightsError` for a broken folder."""
        from vloc._compat import install_torchvision_compat

        folder = self.folder
        install_torchvision_compat()
        try:
            from transformers import CLIPModel, CLIPTokenizer

            model = CLIPModel.from_pretrained(str(folder)).eval()
            tokenizer = CLIPTokenizer.from_pretrained(str(folder))
        except Exception as e:  # transformers raises many types for a folder that is not CLIP
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WeightsError(f"not a loadable CLIP model: {first}", path=folder) from e
        size = int(model.config.vision_config.image_size)
        mean, std = DEFAULT_MEAN, DEFAULT_STD
        proc = folder / "preprocessor_config.json"
        if proc.is_file():
            p = read_json(
                proc, what="CLIP preprocessor config", error=WeightsError, require_object=True
            )
            try:
                mean = tuple(float(x) for x in p.get("image_mean", mean))  # type: ignore[assignment]
                std = tuple(float(x) for x in p.get("image_std", std))  # type: ignore[assignment]
            except (ValueError, TypeError) as e:
                raise WeightsError(f"unusable image_mean / image_std: {e}", path=proc) from e
        return LoadedClip(
            folder=folder, spec=self.spec, sha256=self.sha256, model=model, tokenizer=tokenizer,
            size=size, mean=mean, std=std, dim=int(model.config.projection_dim),
        )  # fmt: skip


def find_clip(spec: str, *, cache_dir: Path | None = None) -> ClipRef:
    """Find ``clip:NAME`` and hash it without loading it (never downloads); one-line errors
    for a model that is not there."""
    folder = resolve_clip(spec, cache_dir=cache_dir)
    name = spec if is_clip_spec(spec) else CLIP_PREFIX + str(spec)
    return ClipRef(folder=folder, spec=name, sha256=clip_sha256(folder))


def load_clip(spec: str, *, cache_dir: Path | None = None) -> LoadedClip:
    """Load ``clip:NAME`` for inference; one-line errors for a missing or broken model."""
    return find_clip(spec, cache_dir=cache_dir).load()


def is_clip_model(model: object) -> bool:
    """True for a CLIP model (found or loaded), as opposed to a trained align model."""
    return isinstance(model, (ClipRef, LoadedClip))


__all__ = [
    "CLIP_FRAMES",
    "CLIP_KIND",
    "CLIP_PREFIX",
    "ClipRef",
    "LoadedClip",
    "clip_sha256",
    "find_clip",
    "is_clip_model",
    "is_clip_spec",
    "load_clip",
    "resolve_clip",
]
