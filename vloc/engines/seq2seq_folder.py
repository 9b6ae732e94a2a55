"""Where a seq2seq model comes from (rules in :mod:`vloc.engines.seq2seq`): a local folder, or a
hub name looked up in ``vloc_home()/hf`` (:data:`HF_CACHE`) with no network and downloaded
there only when allowed (:func:`resolve_model`); the folder checked to hold an encoder-decoder
model (:func:`check_model_folder`) and the files that determine its output hashed
(:func:`model_hash`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc._compat import install_torchvision_compat
from vloc.errors import InputError, WeightsError
from vloc.fileio import read_json, sha256_file
from vloc.workspace import hf_cache_dir

if TYPE_CHECKING:
    pass

WarnFn = Callable[[str], None]


OFFLINE_ENVS = ("VLOC_OFFLINE", "HF_HUB_OFFLINE")  # any set to 1/true: never download
DOWNLOAD_TIMEOUT_S = 10.0  # per metadata request when a download is allowed


# hub names: "name" or "org/name"; anything else that does not exist is a missing folder
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?")


CONFIG_FILES = ("config.json", "generation_config.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "target_vocab.json",
    "vocab.txt",
    "merges.txt",
    "source.spm",
    "target.spm",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
    "spiece.model",
)
# one of these holds the vocabulary: a folder without any cannot tokenize
VOCABULARY_FILES = (
    "tokenizer.json",
    "vocab.json",
    "vocab.txt",
    "source.spm",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
    "spiece.model",
)
SAFETENSORS_FILES = ("*.safetensors", "model.safetensors.index.json")
BIN_FILES = ("pytorch_model*.bin", "pytorch_model.bin.index.json")
SENTENCE_TRANSFORMERS_FILES = ("modules.json", "config_sentence_transformers.json")


def _env_offline() -> str | None:
    """The variable that forbids downloads, if any is set."""
    for name in OFFLINE_ENVS:
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return None


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def resolve_model(
    model: str | Path, *, cache_dir: Path | None = None, allow_download: bool = False
) -> Path:
    """The local folder of ``model`` (a folder path or a hub name), or one clear error.

    A hub name is looked up in ``cache_dir`` (default :func:`hf_cache_dir`) with no network;
    it is downloaded there only when ``allow_download`` and no offline variable is set.
    """
    text = str(model).strip()
    if not text:
        raise InputError("--engine seq2seq needs --model (a model folder or a hub name)")
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            hint = " (a .gguf file runs with --engine gguf)" if path.suffix == ".gguf" else ""
            raise InputError(
                f"not a model folder: the seq2seq engine takes a transformers model folder "
                f"or a hub name{hint}",
                path=path,
            )
        return path
    if text.startswith((".", "/", "~")) or "\\" in text or not _HUB_NAME.fullmatch(text):
        raise InputError("seq2seq model folder not found", path=path)
    cache = Path(cache_dir) if cache_dir is not None else hf_cache_dir()
    plain = cache / text
    if (plain / "config.json").is_file():
        return plain
    from huggingface_hub import snapshot_download

    try:  # the hub's cache layout, never online
        return Path(snapshot_download(text, cache_dir=str(cache), local_files_only=True))
    except (OSError, ValueError):  # LocalEntryNotFoundError, HFValidationError
        pass
    blocked = _env_offline()
    if not allow_download or blocked:
        why = f"{blocked} is set" if blocked else "downloads are off"
        raise WeightsError(
            f"seq2seq model {text!r} is not a local folder and not in the model cache {cache} "
            f"({why}): on a machine with a network run `hf download {text} --cache-dir {cache}` "
            f"and copy {cache} here, or pass --model PATH to a local model folder"
        )
    return _download(text, cache)


def _download(name: str, cache: Path) -> Path:
    """Fetch config, tokenizer and one set of weights (safetensors, else .bin) into ``cache``."""
    from huggingface_hub import snapshot_download

    def fetch(weights: tuple[str, ...]) -> Path:
        patterns = [*CONFIG_FILES, *TOKENIZER_FILES, *weights]
        return Path(
            snapshot_download(
                name, cache_dir=str(cache), allow_patterns=patterns, etag_timeout=DOWNLOAD_TIMEOUT_S
            )
        )

    try:
        folder = fetch(SAFETENSORS_FILES)
        if not any(folder.glob("*.safetensors")):
            folder = fetch(BIN_FILES)
    except Exception as e:  # network, authentication, unknown repository: all one line
        raise WeightsError(
            f"cannot download seq2seq model {name!r} into {cache}: {type(e).__name__}: "
            f"{first_line(e)}; download it on a machine with a network (`hf download {name} "
            f"--cache-dir {cache}`) or pass --model PATH to a local model folder"
        ) from None
    return folder


def check_model_folder(folder: Path) -> dict[str, Any]:
    """The folder's config.json if it holds an encoder–decoder model, else one clear error."""
    cfg_path = folder / "config.json"
    if any((folder / f).is_file() for f in SENTENCE_TRANSFORMERS_FILES):
        raise InputError(
            "a sentence-transformers encoder, not a translation model: the seq2seq engine takes "
            "an encoder-decoder MT model (MarianMT, M2M100, NLLB)",
            path=folder,
        )
    if not cfg_path.is_file():
        raise InputError("not a transformers model folder (no config.json)", path=folder)
    config = read_json(cfg_path, what="model config", require_object=True)
    model_type = str(config.get("model_type") or "?")
    install_torchvision_compat()  # before transformers imports torchvision
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES

    if model_type not in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES:
        raise InputError(
            f"not a sequence-to-sequence model (model_type {model_type!r}): the seq2seq engine "
            "takes an encoder-decoder MT model (MarianMT, M2M100, NLLB)",
            path=folder,
        )
    return config


def model_files(folder: Path) -> list[Path]:
    """The files that determine the output: config, tokenizer and the weights transformers
    loads (safetensors when there are any, else pytorch_model*.bin)."""
    names = [*CONFIG_FILES, *TOKENIZER_FILES]
    files = [folder / n for n in names if (folder / n).is_file()]
    weights = sorted(p for pat in SAFETENSORS_FILES for p in folder.glob(pat) if p.is_file())
    if not weights:
        weights = sorted(p for pat in BIN_FILES for p in folder.glob(pat) if p.is_file())
    if not weights:
        raise InputError(
            "no weights in the model folder (model.safetensors or pytorch_model.bin)", path=folder
        )
    if not any((folder / n).is_file() for n in VOCABULARY_FILES):
        raise InputError(
            "no tokenizer in the model folder (none of " + ", ".join(VOCABULARY_FILES) + "); "
            "copy the tokenizer files saved with the model",
            path=folder,
        )
    return files + weights


def model_hash(folder: Path) -> dict[str, str]:
    """sha256 per file of :func:`model_files`, by file name (weights hashes memoised)."""
    from vloc.backbones.weights import cached_sha256

    out = {}
    for p in model_files(folder):
        weights = p.suffix in (".safetensors", ".bin")
        out[p.name] = cached_sha256(p) if weights else sha256_file(p)
    return out


def card_licence(folder: Path) -> str | None:
    """``license:`` from the model card's front matter (README.md), if any."""
    try:
        text = (folder / "README.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("---"):
        return None
    head = text[3:].split("\n---", 1)[0]
    m = re.search(r"^license:\s*['\"]?([\w.\-]+)", head, re.MULTILINE)
    return m.group(1) if m else None
