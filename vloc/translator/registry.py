"""Trained translators: where they are looked up, how a folder is checked and loaded.

Model folder layout (``models/<name>/`` under ``$VLOC_HOME`` or the repository, or any path;
a training output's ``best/`` is used when given the training output)::

    config.json          TranslatorConfig (vloc.translator.save_translator)
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
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.encoders import MINILM_ENCODER
from vloc.errors import InputError, WeightsError
from vloc.fileio import sha256_file, stable_hash
from vloc.workspace import vloc_home

if TYPE_CHECKING:
    from vloc.tokenization import Tokenizer
    from vloc.translator.model import Translator

SRC_TOKENIZER_DIR = "src_tokenizer"
TGT_TOKENIZER_DIR = "tgt_tokenizer"
INFO_FILE = "translator.json"  # vloc's metadata beside config.json (as summarizer.json)
BEST_DIR = "best"  # a training output's exported model
MODELS_DIR = "models"
FEATURE_FIELDS = ("backbone", "weights", "seed", "width", "fps", "clip_len", "size", "grid")


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


def model_dirs() -> list[Path]:
    """Where model names are looked up: ``$VLOC_HOME/models``, then the repository's
    ``models/`` (the same places as the summarizer's)."""
    return [vloc_home() / MODELS_DIR, Path(__file__).resolve().parents[2] / MODELS_DIR]


SUMMARIZER_INFO_FILE = "summarizer.json"  # marks a summarizer folder (vloc.summarizer)


def _is_model(folder: Path) -> bool:
    return (
        (folder / "config.json").is_file()
        and (folder / "model.safetensors").is_file()
        and not (folder / SUMMARIZER_INFO_FILE).is_file()
    )


def _model_folder(folder: Path) -> Path | None:
    """``folder`` itself, or its ``best/`` when it is a training output; None otherwise."""
    if _is_model(folder):
        return folder
    if _is_model(folder / BEST_DIR):
        return folder / BEST_DIR
    return None


def list_models() -> list[Path]:
    """Installed translator folders, by name (the first place wins for a repeated name)."""
    found: dict[str, Path] = {}
    for base in model_dirs():
        if base.is_dir():
            for sub in sorted(base.iterdir()):
                model = _model_folder(sub) if sub.is_dir() else None
                if model is not None and (model / TGT_TOKENIZER_DIR).is_dir():
                    found.setdefault(sub.name, model)
    return [found[k] for k in sorted(found)]


def _model_name(folder: Path) -> str:
    return folder.parent.name if folder.name == BEST_DIR else folder.name


def _missing_model(what: str) -> WeightsError:
    names = [_model_name(p) for p in list_models()]
    listed = ", ".join(names) if names else "none installed"
    where = " and ".join(str(d) for d in model_dirs())
    return WeightsError(
        f"{what}; models in {where}: {listed}. Pass --model NAME for one of them or "
        "--model PATH for a folder with config.json, model.safetensors, src_tokenizer/ and "
        "tgt_tokenizer/ (the output of `vloc train translate` or its best/ folder)"
    )


def resolve_model(name_or_path: str | Path | None, to: str) -> Path:
    """The model folder for ``--model`` (a path or a name); None picks the only installed
    model into ``to``."""
    if name_or_path is None:
        matches = [p for p in list_models() if _lang_base(_target_lang(p) or "") == _lang_base(to)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise _missing_model(f"no installed model translates into {to!r}")
        raise _missing_model(f"several models translate into {to!r}: choose one with --model")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        model = _model_folder(path)
        if model is None:
            raise WeightsError(
                "not a translator folder: expected config.json and model.safetensors "
                f"(or a training output with {BEST_DIR}/)",
                path=path,
            )
        return model
    if path.exists():
        raise WeightsError("--model must be a model folder or a model name, not a file", path=path)
    name = str(name_or_path)
    if "/" not in name and "\\" not in name and not name.startswith("."):
        for base in model_dirs():
            if (base / name).is_dir() and (model := _model_folder(base / name)) is not None:
                return model
    raise _missing_model(f"model {name!r} not found")


def _target_lang(folder: Path) -> str | None:
    try:
        meta = json.loads((folder / TGT_TOKENIZER_DIR / "vloc_tokenizer.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("lang") if isinstance(meta, dict) else None


def _read_info(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(feature settings, index encoder) recorded in ``translator.json`` (None: not recorded).
    Only the FeatureOptions fields that change feature values are kept."""
    from dataclasses import fields

    from vloc.features import FeatureOptions

    path = folder / INFO_FILE
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise WeightsError(f"unreadable model information: {e}", path=path) from e
    if not isinstance(data, dict):
        raise WeightsError("model information must be a JSON object", path=path)
    feats = data.get("features")
    if feats is not None:
        known = {f.name for f in fields(FeatureOptions)}
        if not isinstance(feats, dict) or set(feats) - known:
            raise WeightsError(
                f"'features' must be an object of feature options {list(FEATURE_FIELDS)}; "
                f"unknown: {sorted(set(feats) - known) if isinstance(feats, dict) else feats}",
                path=path,
            )
        feats = {k: v for k, v in feats.items() if k in FEATURE_FIELDS}
        w = feats.get("weights")
        if w not in (None, "random") and not Path(str(w)).is_absolute():
            if (folder / str(w)).exists():
                feats["weights"] = str(folder / str(w))
    index = data.get("index") or {}
    encoder = index.get("encoder") if isinstance(index, dict) else None
    if encoder is not None and not Path(str(encoder)).is_absolute():
        if (folder / str(encoder)).exists():
            encoder = str(folder / str(encoder))
    return feats, encoder


def open_model(name_or_path: str | Path | None, to: str, *, device: str = "cpu") -> LoadedModel:
    """Resolve and load a translator folder with its tokenizers and inference settings."""
    from vloc.tokenization import Tokenizer
    from vloc.translator.model import load_translator

    folder = resolve_model(name_or_path, to)
    for sub in (SRC_TOKENIZER_DIR, TGT_TOKENIZER_DIR):
        if not (folder / sub).is_dir():
            raise WeightsError(f"the model folder has no {sub}/ (its tokenizer)", path=folder)
    src_tok, tgt_tok = (
        Tokenizer.load(folder / SRC_TOKENIZER_DIR),
        Tokenizer.load(folder / TGT_TOKENIZER_DIR),
    )
    _check_target(folder, tgt_tok.lang, to)
    features, encoder = _read_info(folder)
    model = load_translator(folder, device=device)
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
        _model_name(folder), folder, model, src_tok, tgt_tok, features, index_encoder, identity
    )


def _check_target(folder: Path, model_lang: str, to: str) -> None:
    if not model_lang:
        raise WeightsError("the target tokenizer records no language", path=folder)
    if _lang_base(model_lang) != _lang_base(to) or (
        _lang_region(to) and _lang_region(to) != _lang_region(model_lang)
    ):
        raise InputError(
            f"--to {to}: model {folder.name!r} translates into {model_lang!r} only "
            f"(use --to {model_lang} or another --model)"
        )


def _lang_base(lang: str) -> str:
    return re.split(r"[-_]", lang.lower(), maxsplit=1)[0]


def _lang_region(lang: str) -> str:
    parts = re.split(r"[-_]", lang.lower(), maxsplit=1)
    return parts[1] if len(parts) > 1 else ""
