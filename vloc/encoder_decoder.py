"""What the translator and the summarizer share as encoder-decoder models: the teacher-forced
loss, the decoder step, the search entry point and the model folder (:class:`Seq2Seq`:
``save(folder)`` / ``from_folder(folder)``), and the folder format itself (a JSON config +
safetensors weights, :func:`save_module_folder`, :func:`load_module_folder`; the distillation
student uses it too).

Inputs as in both models::

    src        (B, L)    int64    source token ids, padded with pad_id
    src_mask   (B, L)    bool     True at real tokens
    video      (B, ...)  float32  the model's video features (None for its text-only variant)
    video_mask (B, ...)  bool     True at real video steps / segments
    tgt_in     (B, T)    int64    BOS + target ids (teacher forcing), padded with pad_id
    tgt_out    (B, T)    int64    target ids + EOS, padded with pad_id
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from vloc.errors import InputError, WeightsError
from vloc.fileio import read_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from vloc.attention import Tensors
    from vloc.generation import BeamResult

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"

ModuleT = TypeVar("ModuleT", bound=nn.Module)
Seq2SeqT = TypeVar("Seq2SeqT", bound="Seq2Seq")


class Seq2Seq(nn.Module):
    """Base of :class:`~vloc.translator.model.Translator` and
    :class:`~vloc.summarizer.model.VDFSummarizer`.

    Subclasses set ``config`` (with ``pad_id``, ``bos_id``, ``eos_id``, ``label_smoothing`` and
    ``to_dict()``) and ``decoder`` (a :class:`vloc.attention.DecoderStack`), and define
    ``encode(src, src_mask, video, video_mask)`` → the decoder's memory (every tensor
    batch-first, each decoder layer's keys/values projected once). Subclasses also name their
    config class (``config_class``, with ``from_dict``) and what they are (``kind``, for error
    messages), which is all :meth:`save` and :meth:`from_folder` need.
    """

    config: Any
    decoder: nn.Module
    config_class: ClassVar[Any]  # the config dataclass: from_dict(dict) → config
    kind: ClassVar[str]  # "translator", "summarizer": names the model in error messages

    def save(self, folder: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``folder`` (each atomically)
        → ``folder``."""
        return save_module_folder(self, folder, self.config.to_dict())

    @classmethod
    def from_folder(cls: type[Seq2SeqT], folder: str | Path, *, device: str = "cpu") -> Seq2SeqT:
        """Build the model from ``config.json`` and load ``model.safetensors`` from ``folder``
        (a training run's ``best/`` folder or :meth:`save`'s output) → on ``device``, in eval
        mode; any problem raises :class:`~vloc.errors.WeightsError`."""
        return load_module_folder(
            folder, lambda data: cls(cls.config_class.from_dict(data)), kind=cls.kind, device=device
        )

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None,
        video_mask: torch.Tensor | None,
        tgt_in: torch.Tensor,
    ) -> torch.Tensor:
        """Teacher-forced logits (B, T, V_tgt)."""
        return self.decoder(tgt_in, self.encode(src, src_mask, video, video_mask))

    def decode_step(
        self, tokens: torch.Tensor, memory: Tensors, cache: Tensors, step: int
    ) -> torch.Tensor:
        """The :class:`vloc.generation.IncrementalDecoder` step: tokens (B, 1) → logits (B, V)."""
        return self.decoder.step(tokens, memory, cache, step).float()  # (B, V)

    def loss(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        video: torch.Tensor | None,
        video_mask: torch.Tensor | None,
        tgt_in: torch.Tensor,
        tgt_out: torch.Tensor,
    ) -> tuple[torch.Tensor, int]:
        """(label-smoothed cross-entropy per target token, number of target tokens); pad
        positions of ``tgt_out`` (B, T) are ignored."""
        logits = self(src, src_mask, video, video_mask, tgt_in)  # (B, T, V)
        c = self.config
        loss = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            tgt_out.reshape(-1),
            ignore_index=c.pad_id,
            label_smoothing=c.label_smoothing,
        )
        return loss, int((tgt_out != c.pad_id).sum())

    def search(
        self, memory: dict[str, torch.Tensor], *, beam_size: int, **options: Any
    ) -> BeamResult:
        """Generate from BOS to EOS over ``memory`` (from ``encode``), never emitting pad or
        BOS: beam search, greedy when ``beam_size`` is 1. ``options`` (``max_len``,
        ``min_len``, ``length_penalty``, ``no_repeat_ngram``) go to
        :func:`vloc.generation.beam_search`."""
        from vloc.generation import beam_search, greedy_search

        c = self.config
        common = dict(bos=c.bos_id, eos=c.eos_id, banned=(c.pad_id, c.bos_id), **options)
        if beam_size == 1:
            return greedy_search(self, memory, **common)
        return beam_search(self, memory, beam_size=beam_size, **common)


def save_module_folder(
    module: nn.Module,
    folder: str | Path,
    config: dict[str, Any],
    *,
    config_file: str = CONFIG_FILE,
    model_file: str = MODEL_FILE,
) -> Path:
    """Write ``config`` as JSON to ``config_file`` and the module's weights to ``model_file``
    (safetensors) in ``folder``, each atomically → ``folder``."""
    from safetensors.torch import save_model

    from vloc.fileio import atomic_path, atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / config_file, json.dumps(config, indent=2))
    with atomic_path(folder / model_file) as tmp:
        save_model(module, str(tmp))
    return folder


def load_module_folder(
    folder: str | Path,
    build: Callable[[Any], ModuleT],
    *,
    kind: str,
    config_file: str = CONFIG_FILE,
    model_file: str = MODEL_FILE,
    noun: str = "config",
    hint: str = " (train one with `vloc train`)",
    device: str = "cpu",
) -> ModuleT:
    """``build(parsed config_file)`` and load ``model_file`` into it → the module on
    ``device``, in eval mode.

    Every problem (a missing file, a config that is not JSON or that ``build`` rejects, corrupt
    weights, weights of another shape) raises :class:`WeightsError`; ``kind`` names the module
    in its message ("translator", "summarizer", "student encoder"), ``noun`` its config file
    ("config", "spec") and ``hint`` ends the missing-file message."""
    folder = Path(folder)
    cfg_path, weights = folder / config_file, folder / model_file
    for path in (cfg_path, weights):
        if not path.is_file():
            raise WeightsError(
                f"{kind} file {path.name} not found; expected {config_file} and {model_file}{hint}",
                path=folder,
            )
    config = read_json(cfg_path, what=f"{kind} {noun}", error=WeightsError)
    try:
        module = build(config)
    except (ValueError, KeyError, TypeError, AttributeError, InputError) as exc:
        raise WeightsError(f"unreadable {kind} {noun}: {exc}", path=cfg_path) from exc
    load_weights(
        module, weights, unreadable=f"{kind} weights", mismatch=f"weights do not match the {noun}",
        path=weights, device=device,
    )  # fmt: skip
    return module.to(device).eval()


def load_weights(
    module: nn.Module,
    weights: Path,
    *,
    unreadable: str,
    mismatch: str,
    path: Path,
    device: str = "cpu",
) -> None:
    """Load the safetensors file ``weights`` into ``module``, every tensor and nothing else;
    a corrupt file raises :class:`WeightsError` "unreadable <unreadable>: ...", missing or
    unexpected tensors "<mismatch>: missing [...], unexpected [...]" (both naming ``path``)."""
    from safetensors.torch import load_model

    try:
        missing, unexpected = load_model(module, str(weights), strict=False, device=device)
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise WeightsError(f"unreadable {unreadable}: {exc}", path=path) from exc
    if missing or unexpected:
        raise WeightsError(
            f"{mismatch}: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}",
            path=path,
        )
