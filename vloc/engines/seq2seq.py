"""The ``seq2seq`` engine: a pretrained encoder–decoder MT model run with transformers.

``--model`` is a local model folder or a hub name:

* MarianMT (``Helsinki-NLP/opus-mt-en-zh`` for English → Chinese): one model per language
  pair; multi-target Marian models get the target token (``>>fra<<``) put before every line;
* M2M100 (``facebook/m2m100_418M``): ``tokenizer.src_lang`` and ``forced_bos_token_id`` name
  the pair with two-letter codes;
* NLLB-200 (``facebook/nllb-200-distilled-600M``): the same with NLLB's codes (``eng_Latn``,
  ``zho_Hans``), mapped from vloc's language tags (:data:`NLLB_CODES`). Its weights are licensed
  CC-BY-NC-4.0 (no commercial use): loading one says so through the ``warn`` callback;
* any other encoder–decoder model that ``AutoModelForSeq2SeqLM`` loads, run as it is.

Where the model comes from: a path that exists is a model folder. Anything else must look
like a hub name (``org/name``) and is looked up, with no network, in the cache
``vloc_home()/hf`` (:data:`HF_CACHE`): either a plain folder ``hf/org/name`` or the hub's
cache layout (``hf download org/name --cache-dir ~/.cache/vloc/hf``). Only when the caller
allows a download (``allow_download=True``) and neither ``VLOC_OFFLINE`` nor
``HF_HUB_OFFLINE`` is set does a missing model get fetched into that cache. The model is
always loaded from its folder with ``local_files_only=True``: nothing else goes online.

Decoding: batched beam search (``beam_size``), deterministic (no sampling), at most
``NEW_TOKENS_PER_SOURCE_TOKEN`` × the longest source line + ``NEW_TOKENS_SLACK`` new tokens
and never more than ``MAX_NEW_TOKENS``, ``no_repeat_ngram_size`` against loops. fp32 on CPU
or CUDA. The engine's identity is content-addressed: sha256 over the config, the weights and
tokenizer files and the decoding settings — the same model by folder or by hub name has the
same identity; the device is not part of it.

These models translate each line on its own: the film-wide context (related and previous
lines, synopsis) and keyframes never reach them (``uses_context = False``,
``accepts_images = False``). A glossary is applied by masking: every term in a line becomes a
placeholder (:func:`vloc.engines.glossary.mask_terms`) that the model usually copies through,
and the required target is put back afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc._compat import install_torchvision_compat
from vloc.engines.base import BatchRequest, BatchResult, EngineError, Usage
from vloc.engines.glossary import mask_terms, unmask_terms
from vloc.errors import InputError, WeightsError
from vloc.fileio import sha256_file, stable_hash
from vloc.workspace import vloc_home

if TYPE_CHECKING:
    from vloc.engines.options import EngineOptions

WarnFn = Callable[[str], None]

IDENTITY_VERSION = "seq2seq-1"  # bump when this module's decoding or masking changes output
HF_CACHE = "hf"  # vloc_home()/hf: where hub names are looked up (and downloaded to, if allowed)
OFFLINE_ENVS = ("VLOC_OFFLINE", "HF_HUB_OFFLINE")  # any set to 1/true: never download
DOWNLOAD_TIMEOUT_S = 10.0  # per metadata request when a download is allowed
DEFAULT_BEAM = 4
MAX_NEW_TOKENS = 256  # hard cap on generated tokens per line
NEW_TOKENS_PER_SOURCE_TOKEN = 2.0  # generated-token budget relative to the longest source line
NEW_TOKENS_SLACK = 10  # ... plus this many (short lines, language tokens)
NO_REPEAT_NGRAM = 3  # repetition guard: no 3-gram of tokens twice in one line
MAX_SOURCE_TOKENS = 256  # longer lines are cut (with a warning); models allow 512 at most
MAX_BATCH_LINES = 32  # lines per generate call; a larger request takes several calls
DEVICES = ("cpu", "cuda", "cuda:N")
UNBOUNDED = 10**6  # tokenizers without a length limit report ~1e30 as model_max_length

# hub names: "name" or "org/name"; anything else that does not exist is a missing folder
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?")
_OPUS_PAIR = re.compile(r"opus-mt-(?:tc-[\w]+-)?([a-z]{2,3})-([a-z]{2,3})(?![a-z])", re.IGNORECASE)

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
SAFETENSORS_FILES = ("*.safetensors", "model.safetensors.index.json")
BIN_FILES = ("pytorch_model*.bin", "pytorch_model.bin.index.json")
SENTENCE_TRANSFORMERS_FILES = ("modules.json", "config_sentence_transformers.json")

# vloc's two-letter language codes -> NLLB-200 codes (FLORES-200)
NLLB_CODES = {
    "en": "eng_Latn",
    "zh": "zho_Hans",
    "fr": "fra_Latn",
    "de": "deu_Latn",
    "es": "spa_Latn",
    "pt": "por_Latn",
    "ja": "jpn_Jpan",
    "ru": "rus_Cyrl",
    "it": "ita_Latn",
    "ko": "kor_Hang",
    "ar": "arb_Arab",
    "nl": "nld_Latn",
    "pl": "pol_Latn",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "vi": "vie_Latn",
    "hi": "hin_Deva",
    "id": "ind_Latn",
    "sv": "swe_Latn",
    "cs": "ces_Latn",
}
NLLB_TRADITIONAL_CHINESE = "zho_Hant"
_TRADITIONAL = ("hant", "tw", "hk", "mo")  # zh-Hant, zh-TW, zh_HK: traditional script
# two-letter codes -> ISO 639-3, as Marian tokenizers and target tokens name languages
ISO3 = {
    "en": "eng",
    "zh": "zho",
    "fr": "fra",
    "de": "deu",
    "es": "spa",
    "pt": "por",
    "ja": "jpn",
    "ru": "rus",
    "it": "ita",
    "ko": "kor",
    "ar": "ara",
    "nl": "nld",
    "pl": "pol",
    "tr": "tur",
    "uk": "ukr",
    "vi": "vie",
    "hi": "hin",
    "id": "ind",
    "sv": "swe",
    "cs": "ces",
}
_MARIAN_ALIASES = {"zh": ("cmn_Hans", "cmn", "zho_Hans")}  # opus-mt multi-target Chinese tokens
NLLB_LICENCE = "CC-BY-NC-4.0"


@dataclass(frozen=True)
class Seq2SeqSettings:
    """How the model runs. Every field but ``device`` and ``threads`` is part of the identity."""

    beam_size: int = DEFAULT_BEAM  # beams in beam search (1: greedy)
    max_new_tokens: int = MAX_NEW_TOKENS  # hard cap on generated tokens per line
    new_tokens_per_source_token: float = NEW_TOKENS_PER_SOURCE_TOKEN  # budget per source token
    new_tokens_slack: int = NEW_TOKENS_SLACK  # ... plus this many
    no_repeat_ngram_size: int = NO_REPEAT_NGRAM  # repetition guard (0: off)
    max_source_tokens: int = MAX_SOURCE_TOKENS  # longer source lines are cut
    max_batch_lines: int = MAX_BATCH_LINES  # lines per generate call
    device: str = "cpu"  # cpu | cuda | cuda:N
    threads: int | None = None  # CPU threads for torch (None: torch's default)

    def check(self) -> None:
        for name in ("beam_size", "max_new_tokens", "max_source_tokens", "max_batch_lines"):
            if getattr(self, name) < 1:
                raise InputError(f"seq2seq {name.replace('_', ' ')} must be at least 1")
        if self.no_repeat_ngram_size < 0 or self.new_tokens_slack < 0:
            raise InputError("seq2seq repetition guard and token slack must not be negative")
        if self.new_tokens_per_source_token <= 0:
            raise InputError("seq2seq new tokens per source token must be positive")
        if self.threads is not None and self.threads < 1:
            raise InputError("--threads must be at least 1")
        if not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise InputError(f"--device {self.device!r}; valid: {', '.join(DEVICES)}")

    def decoding(self) -> dict[str, Any]:
        """The settings that can change the output (part of the identity)."""
        d = asdict(self)
        d.pop("device")
        d.pop("threads")
        return d


def hf_cache_dir() -> Path:
    """Where hub names are looked up: ``vloc_home()/hf``."""
    return vloc_home() / HF_CACHE


def _env_offline() -> str | None:
    """The variable that forbids downloads, if any is set."""
    for name in OFFLINE_ENVS:
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return None


def _first_line(e: BaseException) -> str:
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

    meta = [*CONFIG_FILES, *TOKENIZER_FILES]
    try:
        folder = Path(
            snapshot_download(
                name,
                cache_dir=str(cache),
                allow_patterns=[*meta, *SAFETENSORS_FILES],
                etag_timeout=DOWNLOAD_TIMEOUT_S,
            )
        )
        if not any(folder.glob("*.safetensors")):
            folder = Path(
                snapshot_download(
                    name,
                    cache_dir=str(cache),
                    allow_patterns=[*meta, *BIN_FILES],
                    etag_timeout=DOWNLOAD_TIMEOUT_S,
                )
            )
    except Exception as e:  # network, authentication, unknown repository: all one line
        raise WeightsError(
            f"cannot download seq2seq model {name!r} into {cache}: {type(e).__name__}: "
            f"{_first_line(e)}; download it on a machine with a network (`hf download {name} "
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
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"unreadable config.json: {_first_line(e)}", path=folder) from None
    if not isinstance(config, dict):
        raise InputError("config.json is not a JSON object", path=folder)
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
    return files + weights


def model_hash(folder: Path) -> dict[str, str]:
    """sha256 per file of :func:`model_files`, by file name (weights hashes memoised)."""
    from vloc.weights import cached_sha256

    out = {}
    for p in model_files(folder):
        weights = p.suffix in (".safetensors", ".bin")
        out[p.name] = cached_sha256(p) if weights else sha256_file(p)
    return out


def _card_licence(folder: Path) -> str | None:
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


def _lang_parts(tag: str) -> tuple[str, str]:
    """("zh", "hant") from "zh-Hant" / "zh_TW"; ("en", "") from "en"."""
    parts = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bars or advice while loading: vloc reports what matters itself."""
    install_torchvision_compat()  # before transformers imports torchvision
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Recommended: pip install sacremoses")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _stderr_warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class Seq2SeqEngine:
    """A pretrained encoder–decoder MT model (see the module docstring).

    It translates every line on its own: the related and previous lines, the synopsis and
    keyframes of a :class:`BatchRequest` are ignored (``uses_context`` is False); the glossary
    is applied by masking.
    """

    kind = "seq2seq"
    uses_context = False
    accepts_images = False

    def __init__(
        self,
        model: str | Path,
        settings: Seq2SeqSettings | None = None,
        *,
        allow_download: bool = False,
        cache_dir: Path | None = None,
        warn: WarnFn | None = None,
    ) -> None:
        self.settings = settings or Seq2SeqSettings()
        self.settings.check()
        self.name = str(model)
        self._warn = warn or _stderr_warn
        self._check_device(self.settings.device)
        self.folder = resolve_model(model, cache_dir=cache_dir, allow_download=allow_download)
        self.config = check_model_folder(self.folder)
        self.identity = stable_hash(
            {
                "engine": IDENTITY_VERSION,
                "files": model_hash(self.folder),
                "decoding": self.settings.decoding(),
            }
        )
        self._load()
        self._langs: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        self._lock = threading.Lock()  # the tokenizer's src_lang is state: one batch at a time
        self._closed = False

    @classmethod
    def from_options(
        cls,
        options: EngineOptions,
        *,
        device: str = "cpu",
        allow_download: bool = False,
        warn: WarnFn | None = None,
    ) -> Seq2SeqEngine:
        """The engine that ``--engine seq2seq`` options describe."""
        settings = Seq2SeqSettings(
            beam_size=options.beam_size, device=device, threads=options.threads
        )
        return cls(options.model or "", settings, allow_download=allow_download, warn=warn)

    # ------------------------------------------------------------ loading

    @staticmethod
    def _check_device(device: str) -> None:
        if device == "cpu":
            return
        import torch

        if not torch.cuda.is_available():
            raise EngineError(
                f"--device {device}: torch {torch.__version__} sees no CUDA device; use --device cpu"
            )
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise EngineError(
                f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) "
                "(cuda:0 ...) are visible"
            )

    def _load(self) -> None:
        import torch

        if self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        install_torchvision_compat()  # before transformers imports torchvision
        try:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            with _quiet_transformers():
                self.tokenizer = AutoTokenizer.from_pretrained(
                    str(self.folder), local_files_only=True, trust_remote_code=False
                )
                model = AutoModelForSeq2SeqLM.from_pretrained(
                    str(self.folder),
                    local_files_only=True,
                    trust_remote_code=False,
                    dtype=torch.float32,
                )
        except ImportError as e:
            raise EngineError(
                f"{self.name}: the seq2seq engine cannot load this model's tokenizer or model: "
                f"{_first_line(e)} (Marian and M2M100 tokenizers need: pip install sentencepiece)"
            ) from None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, AssertionError) as e:
            raise InputError(
                f"cannot load this model: {_first_line(e)}", path=self.folder
            ) from None
        self.model = model.to(self.settings.device).eval()
        model_type = self.config.get("model_type")
        if model_type == "marian":
            self.family = "marian"
        elif model_type == "m2m_100" and type(self.tokenizer).__name__.startswith("Nllb"):
            self.family = "nllb"
        elif model_type == "m2m_100":
            self.family = "m2m100"
        else:
            self.family = "other"
        licence = _card_licence(self.folder)
        if self.family == "nllb" or (licence and "nc" in licence.lower().split("-")):
            shown = licence if licence and self.family != "nllb" else NLLB_LICENCE
            self._warn(
                f"{self.name}: these weights are licensed {shown}, which forbids commercial use"
            )
        pad = self.tokenizer.pad_token_id
        self._pad_id = pad if pad is not None else self.model.config.pad_token_id
        # learned position tables end here: longer inputs or outputs would index past them
        positions = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        model_max = int(getattr(self.tokenizer, "model_max_length", 0) or 0)
        limits = [n for n in (positions, model_max) if 0 < n < UNBOUNDED]
        self._max_source = min([self.settings.max_source_tokens, *limits])
        # the decoder's first position holds the start token
        self._max_new = min([self.settings.max_new_tokens, *(n - 1 for n in limits)])

    def close(self) -> None:
        if getattr(self, "_closed", True):
            return
        self._closed = True
        cuda = self.settings.device.startswith("cuda")
        del self.model
        if cuda:
            import torch

            torch.cuda.empty_cache()

    # ------------------------------------------------------------ languages

    def languages(self, source: str, target: str) -> tuple[str | None, str | None]:
        """The model's codes for a pair of vloc language tags (None where the model takes
        none), or an :class:`EngineError` saying the model cannot translate that pair."""
        key = (source, target)
        if key not in self._langs:
            self._langs[key] = self._resolve_languages(source, target)
        return self._langs[key]

    def _resolve_languages(self, source: str, target: str) -> tuple[str | None, str | None]:
        if self.family == "nllb":
            return self._nllb_code(source), self._nllb_code(target)
        if self.family == "m2m100":
            return self._m2m_code(source), self._m2m_code(target)
        if self.family == "marian":
            self._check_marian_pair(source, target)
            return None, self._marian_target_token(target)
        return None, None

    def _known(self, token: str) -> bool:
        return token in self.tokenizer.get_vocab()

    def _nllb_code(self, tag: str) -> str:
        base, region = _lang_parts(tag)
        if self._known(tag.strip()):  # already an NLLB code, e.g. "zho_Hant"
            return tag.strip()
        code = NLLB_CODES.get(base)
        if base == "zh" and region in _TRADITIONAL:
            code = NLLB_TRADITIONAL_CHINESE
        if code is None or not self._known(code):
            raise EngineError(
                f"{self.name}: no NLLB language code for {tag!r}; known: "
                f"{', '.join(sorted(NLLB_CODES))} (or pass an NLLB code such as zho_Hant)"
            )
        return code

    def _m2m_code(self, tag: str) -> str:
        base, _ = _lang_parts(tag)
        codes = getattr(self.tokenizer, "lang_code_to_id", {}) or {}
        if base not in codes:
            raise EngineError(
                f"{self.name}: M2M100 has no language {tag!r}; it knows: "
                f"{', '.join(sorted(codes)[:30])}, ..."
            )
        return base

    def _marian_pair(self) -> tuple[str | None, str | None]:
        """The pair a Marian model was trained for, from its tokenizer config or its name."""
        src = getattr(self.tokenizer, "source_lang", None)
        tgt = getattr(self.tokenizer, "target_lang", None)
        if not (src and tgt):
            m = _OPUS_PAIR.search(self.name) or _OPUS_PAIR.search(self.folder.name)
            if m:
                src, tgt = m.group(1), m.group(2)
        return (str(src).lower() if src else None), (str(tgt).lower() if tgt else None)

    def _check_marian_pair(self, source: str, target: str) -> None:
        known = set(ISO3) | set(ISO3.values())
        model_pair = self._marian_pair()
        for side, asked, have in zip(
            ("source", "target"), (source, target), model_pair, strict=True
        ):
            base, _ = _lang_parts(asked)
            if have is None or have not in known or base not in ISO3:
                continue  # a language group (mul, roa, ...) or a language vloc does not map
            if have not in (base, ISO3[base]):
                raise EngineError(
                    f"{self.name} translates {model_pair[0]} to {model_pair[1]}, but the {side} "
                    f"language is {asked!r}: use a model for this pair (e.g. "
                    f"Helsinki-NLP/opus-mt-{_lang_parts(source)[0]}-{_lang_parts(target)[0]})"
                )

    def _marian_target_token(self, target: str) -> str | None:
        codes = list(getattr(self.tokenizer, "supported_language_codes", None) or [])
        if not codes:
            return None
        base, _ = _lang_parts(target)
        names = [target.strip(), base, ISO3.get(base, base), *_MARIAN_ALIASES.get(base, ())]
        for n in names:
            if f">>{n}<<" in codes:
                return f">>{n}<<"
        raise EngineError(
            f"{self.name} is a multi-target model without a target token for {target!r}; "
            f"it has: {', '.join(codes[:20])}{', ...' if len(codes) > 20 else ''}"
        )

    # ------------------------------------------------------------ translating

    def translate_batch(self, request: BatchRequest) -> BatchResult:
        with self._lock:
            return self._translate(request)

    def _translate(self, request: BatchRequest) -> BatchResult:
        if self._closed:
            raise EngineError(f"{self.name}: the engine is closed")
        src_code, tgt_code = self.languages(request.source_lang, request.target_lang)
        prefix = f"{tgt_code} " if self.family == "marian" and tgt_code else ""
        out = {c.number: "" for c in request.cues}  # an empty source stays empty
        todo: list[tuple[int, str, list[int]]] = []  # (cue number, model input, masked terms)
        for cue in request.cues:
            text = " ".join(cue.source.split())
            if not text:
                continue
            used: list[int] = []
            if request.glossary:
                text, used = mask_terms(text, request.glossary)
            todo.append((cue.number, prefix + text, used))
        usage = Usage()
        step = self.settings.max_batch_lines
        with _quiet_transformers():  # no length advice from the tokenizer: vloc warns itself
            for start in range(0, len(todo), step):
                chunk = todo[start : start + step]
                texts = self._generate(
                    [t for _, t, _ in chunk], [n for n, _, _ in chunk], src_code, tgt_code, usage
                )
                for (number, _, used), text in zip(chunk, texts, strict=True):
                    out[number] = unmask_terms(text, request.glossary, used) if used else text
        return BatchResult(out, usage)

    def _generate(
        self,
        texts: Sequence[str],
        numbers: Sequence[int],
        src_code: str | None,
        tgt_code: str | None,
        usage: Usage,
    ) -> list[str]:
        """One beam search over ``texts``; token counts and the call go into ``usage``."""
        import torch

        s = self.settings
        tok = self.tokenizer
        if self.family in ("m2m100", "nllb") and src_code:
            tok.src_lang = src_code
        limit = self._max_source
        lengths = [len(ids) for ids in tok(list(texts))["input_ids"]]
        for n, length in zip(numbers, lengths, strict=True):
            if length > limit:
                self._warn(
                    f"{self.name}: line {n} has {length} tokens; only its first {limit} are "
                    "translated"
                )
        enc = tok(
            list(texts), return_tensors="pt", padding=True, truncation=True, max_length=limit
        ).to(s.device)
        longest = int(enc["attention_mask"].sum(dim=1).max())
        max_new = min(
            self._max_new, math.ceil(s.new_tokens_per_source_token * longest) + s.new_tokens_slack
        )
        gen = copy.deepcopy(self.model.generation_config)
        gen.max_length = None  # the budget is max_new_tokens (relative to the source)
        gen.update(
            num_beams=s.beam_size,
            num_return_sequences=1,
            do_sample=False,
            max_new_tokens=max_new,
            no_repeat_ngram_size=s.no_repeat_ngram_size,
        )
        if self.family == "nllb" and tgt_code:
            gen.forced_bos_token_id = tok.convert_tokens_to_ids(tgt_code)
        elif self.family == "m2m100" and tgt_code:
            gen.forced_bos_token_id = tok.get_lang_id(tgt_code)
        try:
            with torch.inference_mode():
                ids = self.model.generate(
                    input_ids=enc["input_ids"],
                    attention_mask=enc["attention_mask"],
                    generation_config=gen,
                )
        except (RuntimeError, ValueError) as e:  # e.g. CUDA out of memory
            raise EngineError(f"{self.name}: generation failed: {_first_line(e)}") from None
        usage.requests += 1
        usage.prompt_tokens += int(enc["attention_mask"].sum())
        usage.completion_tokens += int((ids[:, 1:] != self._pad_id).sum())  # after the start
        decoded = tok.batch_decode(ids, skip_special_tokens=True)
        return [" ".join(t.split()) for t in decoded]
