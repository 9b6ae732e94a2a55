"""Trained translators: how a folder is checked and loaded (found by :mod:`vloc.catalogue`).

Model folder layout (``models/<name>/`` under ``$VLOC_HOME`` or the repository, or any path;
a training output's ``best/`` is used when given the training output)::

    config.json          TranslatorConfig (vloc.translator.Translator.save)
    model.safetensors    weights
    src_tokenizer/       source Tokenizer (its ``lang`` is the source language)
    tgt_tokenizer/       target Tokenizer (its ``lang`` is the only valid ``--to``)
    translator.json      optional: {"features": {...}, "index": {"encoder": ...}, ...}

``translator.json``'s ``features`` holds :class:`~vloc.features.FeatureOptions` fields that
fix the values of the features (``backbone``, ``weights``, ``seed``, ``width``, ``fps``,
``clip_len``, ``size``, ``grid``); a relative ``weights`` path is relative to the model folder,
``"weights": "random"`` with a ``seed`` gives reproducible test models. Without it, the
defaults of ``FeatureOptions`` (I3D-R50 with its published weights, 3×3 grid) are used.
``index.encoder`` is the sentence encoder used for retrieval; a model that records none was
trained with all-MiniLM-L6-v2 (the embedded default of its time) and keeps retrieving with it.
``demo`` (true for the shipped demo models) and ``domain`` (one line on the training text) feed
the coverage check (:mod:`vloc.coverage`): without ``--model``, a demo is picked only when no
other model translates into ``--to``, and used only when the input's words fit it.

:func:`choose_model` settles which folder a run uses from the folders' JSON files alone (no
torch), so that a missing model, a wrong ``--to`` or a broken ``translator.json`` fails in well
under a second; every error about a folder starts with the folder's path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.catalogue import (
    FEATURE_FIELDS,
    SRC_TOKENIZER_DIR,
    TGT_TOKENIZER_DIR,
    feature_settings,
    lang_base,
    lang_region,
    model_name,
    read_info,
    resolve,
    tokenizer_lang,
)
from vloc.coverage import read_marks
from vloc.encoders import MINILM_ENCODER
from vloc.errors import InputError, WeightsError
from vloc.fileio import sha256_file, stable_hash

if TYPE_CHECKING:
    from vloc.tokenization import Tokenizer
    from vloc.translator.model import Translator

INFO_FILE = "translator.json"  # vloc's metadata beside config.json (as summarizer.json)


@dataclass(frozen=True)
class LoadedModel:
    """A translator with everything inference needs."""

    name: str  # folder name
    path: Path  # the model folder
    model: Translator  # in eval mode, on the requested device
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    features: dict[str, Any] | None  # FeatureOptions fields recorded with the model
    index_encoder: str  # sentence encoder for retrieval (recorded, else all-MiniLM-L6-v2)
    identity: str  # sha256 over the weights, config, tokenizers and inference settings

    @property
    def source_lang(self) -> str:
        return self.src_tokenizer.lang

    @property
    def target_lang(self) -> str:
        return self.tgt_tokenizer.lang


@dataclass(frozen=True)
class ModelChoice:
    """The translator folder a run will use, read from its JSON files only (no weights)."""

    folder: Path  # the model folder (a training output's best/)
    name: str  # its name
    source_lang: str  # its source tokenizer's language
    target_lang: str  # its target tokenizer's language
    demo: bool  # marked as a demo ("demo": true in translator.json)
    domain: str | None  # what it was trained on ("domain" in translator.json)
    by_default: bool  # no --model was given: the model installed for --to


def choose_model(name_or_path: str | Path | None, to: str) -> ModelChoice:
    """Which model a run into ``to`` uses, checked as far as the JSON files allow: the folder
    exists and holds a translator, translates into ``to``, and its ``translator.json`` is valid
    (backbone name, weights file). Imports no torch: fails fast."""
    folder = resolve("translator", name_or_path, to=to)
    _check_tokenizers(folder)
    source = tokenizer_lang(folder, SRC_TOKENIZER_DIR)
    target = tokenizer_lang(folder, TGT_TOKENIZER_DIR)
    _check_target(folder, target or "", to)
    _read_info(folder)
    demo, domain = read_marks(read_info("translator", folder), folder / INFO_FILE)
    return ModelChoice(
        folder, model_name(folder), source or "", target or "", demo, domain, name_or_path is None
    )


def _read_info(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(feature settings, index encoder) recorded in ``translator.json`` (None: not recorded).
    Only the FeatureOptions fields that change feature values are kept."""
    from dataclasses import fields

    from vloc.backbones import REGISTRY
    from vloc.features import FeatureOptions

    if not (folder / INFO_FILE).is_file():
        return None, None
    data = read_info("translator", folder)
    feats = feature_settings(data)
    if feats is not None:
        known = {f.name for f in fields(FeatureOptions)}
        if not isinstance(feats, dict) or set(feats) - known:
            raise WeightsError(
                f"{INFO_FILE}: 'features' must be an object of feature options "
                f"{list(FEATURE_FIELDS)}; unknown: "
                f"{sorted(set(feats) - known) if isinstance(feats, dict) else feats}",
                path=folder,
            )
        feats = {k: v for k, v in feats.items() if k in FEATURE_FIELDS}
        backbone = feats.get("backbone")
        if backbone is not None and backbone not in REGISTRY:
            raise WeightsError(
                f"{INFO_FILE}: unknown backbone {backbone!r}; valid backbones: "
                f"{', '.join(sorted(REGISTRY))}",
                path=folder,
            )
        w = feats.get("weights")
        if w not in (None, "random") and str(w) not in REGISTRY:
            file = Path(str(w)).expanduser()
            file = file if file.is_absolute() else folder / file
            if not file.is_file():
                raise WeightsError(
                    f"{INFO_FILE}: backbone weights {str(w)!r} not found (a file in the model "
                    f"folder, an absolute path, 'random' or a registry name: "
                    f"{', '.join(sorted(REGISTRY))})",
                    path=folder,
                )
            feats["weights"] = str(file)
    index = data.get("index") or {}
    encoder = index.get("encoder") if isinstance(index, dict) else None
    if encoder is not None and not Path(str(encoder)).is_absolute():
        if (folder / str(encoder)).exists():
            encoder = str(folder / str(encoder))
    return feats, encoder


def open_model(folder: Path, to: str, *, device: str = "cpu") -> LoadedModel:
    """Load the translator in model ``folder`` (as :func:`choose_model` or
    :func:`vloc.catalogue.resolve` found it) with its tokenizers and inference settings."""
    from vloc.tokenization import Tokenizer
    from vloc.translator.model import Translator

    _check_tokenizers(folder)
    src_tok, tgt_tok = (
        Tokenizer.load(folder / SRC_TOKENIZER_DIR),
        Tokenizer.load(folder / TGT_TOKENIZER_DIR),
    )
    _check_target(folder, tgt_tok.lang, to)
    features, encoder = _read_info(folder)
    model = Translator.from_folder(folder, device=device)
    c = model.config
    if (c.src_vocab_size, c.tgt_vocab_size) != (src_tok.vocab_size, tgt_tok.vocab_size):
        raise WeightsError(
            f"tokenizers ({src_tok.vocab_size}/{tgt_tok.vocab_size} ids) do not match the "
            f"model's vocabularies ({c.src_vocab_size}/{c.tgt_vocab_size})",
            path=folder,
        )
    parts = [sha256_file(folder / "config.json"), sha256_file(folder / "model.safetensors")]
    for sub in (SRC_TOKENIZER_DIR, TGT_TOKENIZER_DIR):
        parts.append(sha256_file(folder / sub / "tokenizer.json"))
    identity = stable_hash({"files": parts, "features": features, "encoder": encoder})
    index_encoder = MINILM_ENCODER if encoder is None else encoder  # None: trained with it
    return LoadedModel(
        model_name(folder), folder, model, src_tok, tgt_tok, features, index_encoder, identity
    )


def _check_tokenizers(folder: Path) -> None:
    for sub in (SRC_TOKENIZER_DIR, TGT_TOKENIZER_DIR):
        if not (folder / sub).is_dir():
            raise WeightsError(f"the model folder has no {sub}/ (its tokenizer)", path=folder)


def _check_target(folder: Path, model_lang: str, to: str) -> None:
    if not model_lang:
        raise WeightsError("the target tokenizer records no language", path=folder)
    if lang_base(model_lang) != lang_base(to) or (
        lang_region(to) and lang_region(to) != lang_region(model_lang)
    ):
        raise InputError(
            f"--to {to}: model {folder.name!r} translates into {model_lang!r} only "
            f"(use --to {model_lang} or another --model)"
        )
