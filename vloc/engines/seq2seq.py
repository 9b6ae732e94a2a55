"""The ``seq2seq`` engine: a pretrained encoder–decoder MT model run with transformers.

``--model`` is a local model folder or a hub name:

* MarianMT (``Helsinki-NLP/opus-mt-en-zh`` for English → Chinese): one model per language
  pair; multi-target Marian models get the target token (``>>fra<<``) put before every line;
* M2M100 (``facebook/m2m100_418M``): ``tokenizer.src_lang`` and ``forced_bos_token_id`` name
  the pair with two-letter codes;
* NLLB-200 (``facebook/nllb-200-distilled-600M``): the same with NLLB's codes (``eng_Latn``,
  ``zho_Hans``), mapped from vloc's language tags
  (:data:`~vloc.engines.seq2seq_languages.NLLB_CODES`). Its weights are licensed CC-BY-NC-4.0
  (no commercial use): loading one says so through the ``warn`` callback;
* any other encoder–decoder model that ``AutoModelForSeq2SeqLM`` loads, run as it is.

Where the model comes from: a path that exists is a model folder. Anything else must look
like a hub name (``org/name``) and is looked up, with no network, in the cache
``vloc_home()/hf`` (:mod:`vloc.engines.seq2seq_folder`): either a plain folder
``hf/org/name`` or the hub's cache layout (``hf download org/name --cache-dir
~/.cache/vloc/hf``). Only when the settings allow a download (``download=True``, the command line's default) and
neither ``VLOC_OFFLINE`` nor ``HF_HUB_OFFLINE`` is set does a missing model get fetched into
that cache. The model is
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
placeholder (:func:`vloc.glossary.file.mask_terms`) that the model usually copies through,
and the required target is put back afterwards.

Modules: this one (settings, loading, decoding), :mod:`vloc.engines.seq2seq_folder` (where the
model comes from, its hash) and :mod:`vloc.engines.seq2seq_languages` (language codes per
model family).
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from vloc._compat import install_torchvision_compat
from vloc.engines.base import BatchRequest, BatchResult, EngineError, Usage
from vloc.engines.seq2seq_folder import (
    card_licence,
    check_model_folder,
    first_line,
    model_files,
    model_hash,
    resolve_model,
)
from vloc.engines.seq2seq_languages import ISO3, NLLB_CODES, LanguageCodes
from vloc.errors import InputError
from vloc.fileio import stable_hash
from vloc.glossary.file import mask_terms, unmask_terms
from vloc.workspace import HF_CACHE, hf_cache_dir

__all__ = [  # the engine, and what its folder and language modules give callers of this one
    "HF_CACHE",
    "ISO3",
    "NLLB_CODES",
    "Seq2SeqEngine",
    "Seq2SeqSettings",
    "check_model_folder",
    "hf_cache_dir",
    "model_files",
    "model_hash",
    "resolve_model",
]

WarnFn = Callable[[str], None]

IDENTITY_VERSION = "seq2seq-1"  # bump when this module's decoding or masking changes output
DEFAULT_BEAM = 4
MAX_NEW_TOKENS = 256  # hard cap on generated tokens per line
NEW_TOKENS_PER_SOURCE_TOKEN = 2.0  # generated-token budget relative to the longest source line
NEW_TOKENS_SLACK = 10  # ... plus this many (short lines, language tokens)
NO_REPEAT_NGRAM = 3  # repetition guard: no 3-gram of tokens twice in one line
MAX_SOURCE_TOKENS = 256  # longer lines are cut (with a warning); models allow 512 at most
MAX_BATCH_LINES = 32  # lines per generate call; a larger request takes several calls
DEVICES = ("cpu", "cuda", "cuda:N")
UNBOUNDED = 10**6  # tokenizers without a length limit report ~1e30 as model_max_length
NLLB_LICENCE = "CC-BY-NC-4.0"


@dataclass(frozen=True)
class Seq2SeqSettings:
    """Which model and how it runs (``--engine seq2seq``; the ``[seq2seq]`` table of engines.toml
    sets ``model``, ``beam_size``, ``threads`` and ``download``). The decoding fields are part of
    the identity; the model is, through its files (:func:`model_hash`)."""

    kind: ClassVar[str] = "seq2seq"

    model: str | Path | None = None  # a hub name (cached under $VLOC_HOME/hf) or a model folder
    download: bool = False  # fetch a hub model into $VLOC_HOME/hf on first use (never when
    # HF_HUB_OFFLINE or VLOC_OFFLINE is set); the command line's default is True
    # (vloc.engines.options.resolve), a caller of this class goes online only when it says so
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
                flag = "--beam-size" if name == "beam_size" else f"seq2seq {name.replace('_', ' ')}"
                raise InputError(f"{flag} must be at least 1")
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
        for how in ("model", "download", "device", "threads"):
            d.pop(how)
        return d


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
        settings: Seq2SeqSettings,
        *,
        cache_dir: Path | None = None,
        warn: WarnFn | None = None,
    ) -> None:
        self.settings = settings
        self.settings.check()
        model = settings.model or ""
        self.name = str(model)
        self._warn = warn or _stderr_warn
        self._check_device(self.settings.device)
        self.folder = resolve_model(model, cache_dir=cache_dir, allow_download=settings.download)
        self.config = check_model_folder(self.folder)
        self.identity = stable_hash(
            {
                "engine": IDENTITY_VERSION,
                "files": model_hash(self.folder),
                "decoding": self.settings.decoding(),
            }
        )
        self._load()
        self._codes = LanguageCodes(self.tokenizer, self.family, self.name, self.folder)
        self._lock = threading.Lock()  # the tokenizer's src_lang is state: one batch at a time
        self._closed = False

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
                f"{first_line(e)} (Marian and M2M100 tokenizers need: pip install sentencepiece)"
            ) from None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, AssertionError) as e:
            raise InputError(f"cannot load this model: {first_line(e)}", path=self.folder) from None
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
        licence = card_licence(self.folder)
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
        return self._codes.resolve(source, target)

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
            raise EngineError(f"{self.name}: generation failed: {first_line(e)}") from None
        usage.requests += 1
        usage.prompt_tokens += int(enc["attention_mask"].sum())
        usage.completion_tokens += int((ids[:, 1:] != self._pad_id).sum())  # after the start
        decoded = tok.batch_decode(ids, skip_special_tokens=True)
        return [" ".join(t.split()) for t in decoded]
