"""Choosing and loading a summarizer for inference: a folder or a name (:func:`find_model`), the
one installed model into a language (:func:`default_model`), what ``summarizer.json`` alone
can tell is wrong (:func:`check_info`, before torch is imported) and the loaded folder
(:func:`load_model_folder` → :class:`LoadedSummarizer`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.catalogue import describe_installed as _describe_installed
from vloc.catalogue import feature_settings, installed, resolve
from vloc.errors import InputError, WeightsError
from vloc.summarizer.data import (
    INFO_FILE,
    SRC_TOKENIZER_DIR,
    TGT_TOKENIZER_DIR,
    read_model_info,
)

if TYPE_CHECKING:
    from vloc.summarizer.model import VDFSummarizer
    from vloc.tokenization import Tokenizer

WarnFn = Callable[[str], None]


@dataclass
class LoadedSummarizer:
    """A model folder loaded for inference."""

    model: VDFSummarizer  # in eval mode
    src_tok: Tokenizer  # source-language tokenizer
    tgt_tok: Tokenizer  # summary-language tokenizer
    info: dict[str, Any]  # summarizer.json: stage, languages, video features
    folder: Path

    @property
    def src_lang(self) -> str:
        return str(self.info.get("src_lang", ""))

    @property
    def tgt_lang(self) -> str:
        return str(self.info.get("tgt_lang", ""))

    def describe(self) -> dict[str, Any]:
        from vloc.fileio import sha256_file

        c = self.model.config
        return {
            "path": str(self.folder),
            "stage": self.info.get("stage"),
            "variant": c.variant,
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "d_model": c.d_model,
            "layers": [c.encoder_layers, c.decoder_layers],
            "weights_sha256": sha256_file(self.folder / "model.safetensors"),
        }


def find_model(name_or_path: str | Path) -> Path:
    """A model folder from a path (a model folder or a training output) or a name looked up as
    ``models/<name>/`` in ``$VLOC_HOME`` and the repository (:func:`vloc.catalogue.resolve`)."""
    return resolve("summarizer", name_or_path, to="")


def load_model_folder(folder: str | Path, *, device: str = "cpu") -> LoadedSummarizer:
    """Load a summarizer (config.json, model.safetensors, tokenizers, summarizer.json)."""
    from vloc.summarizer.model import VDFSummarizer
    from vloc.tokenization import Tokenizer

    folder = Path(folder)
    info = read_model_info(folder)
    check_info(folder, info)
    model = VDFSummarizer.from_folder(folder, device=device)
    src_tok = Tokenizer.load(folder / SRC_TOKENIZER_DIR)
    tgt_tok = Tokenizer.load(folder / TGT_TOKENIZER_DIR)
    c = model.config
    if src_tok.vocab_size != c.src_vocab_size or tgt_tok.vocab_size != c.tgt_vocab_size:
        raise WeightsError(
            f"tokenizers ({src_tok.vocab_size}, {tgt_tok.vocab_size} ids) do not fit the model "
            f"({c.src_vocab_size}, {c.tgt_vocab_size})",
            path=folder,
        )
    return LoadedSummarizer(model, src_tok, tgt_tok, info, folder)


def check_info(folder: Path, info: dict[str, Any]) -> None:
    """What ``summarizer.json`` alone can tell is wrong with a folder, before any weights load:
    a stage-2 output, an unknown backbone, a missing backbone weights file."""
    from vloc.backbones import REGISTRY

    if info.get("stage") == "2":
        raise InputError(
            "is a stage-2 distillation output (a source encoder, not a summarizer): fine-tune "
            "it first with `vloc train summarize --stage 3 --student DIR`",
            path=folder,
        )
    video = feature_settings(info) or {}
    backbone, weights = video.get("backbone"), video.get("weights")
    if backbone is not None and backbone not in REGISTRY:
        raise WeightsError(
            f"{INFO_FILE}: unknown backbone {backbone!r}; valid backbones: "
            f"{', '.join(sorted(REGISTRY))}",
            path=folder,
        )
    if weights and weights not in REGISTRY and not (folder / str(weights)).is_file():
        raise WeightsError(
            f"{INFO_FILE}: backbone weights {weights!r} not found in the model folder",
            path=folder,
        )


def describe_installed() -> str:
    """``synth-zh-en-summary (zh→en, demo)``, or ``none``: the installed summarizers."""
    return _describe_installed("summarizer")


def installed_models() -> list[Path]:
    """Installed summarizer folders, sorted by name (:func:`vloc.catalogue.installed`)."""
    return installed("summarizer")


def default_model(to: str) -> Path:
    """The one installed summarizer into language ``to`` (fails naming the candidates when
    there is none or more than one: then ``--model`` decides)."""
    return resolve("summarizer", None, to=to)
