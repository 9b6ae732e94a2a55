"""The two decoders of ``vloc translate`` behind one interface: :func:`open_decoder` turns the
typed option (:class:`~vloc.translator.options.OwnModel` or
:class:`~vloc.engines.options.EngineOptions`) into an object that says which files it reads,
checks the film's text, and decodes a :class:`~vloc.decoding.FilmJob`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.guard import declare_inputs
from vloc.translator.options import OwnModel

if TYPE_CHECKING:
    from vloc.decoding.job import Decoded, FilmJob, ProgressFn, WarnFn
    from vloc.engines.options import EngineOptions


class OwnModelDecoder:
    """vloc's own translator: chosen from the model folders' JSON files when created (no
    torch: a missing model or a wrong ``--to`` fails in well under a second), loaded and run
    by :meth:`decode`."""

    def __init__(self, options: OwnModel, to: str) -> None:
        from vloc.translator.loading import choose_model

        self.options = options
        self.kind = OwnModel.kind
        self.choice = choose_model(options.model, to)
        declare_inputs([self.choice.folder], f"model {self.choice.name}")  # by name or default

    @property
    def source_lang(self) -> str | None:
        return self.choice.source_lang

    @property
    def files(self) -> list[Path]:
        """The files the decoder reads (never an output)."""
        return [self.choice.folder]

    def check_text(self, texts: list[str], subtitles: Path, warn: WarnFn) -> dict[str, Any] | None:
        """The coverage check (:mod:`vloc.coverage`): a demo model picked by default is refused
        on text it does not know, any other model warns, ``strict`` fails."""
        from vloc.coverage import ModelFacts, check_model

        c = self.choice
        facts = ModelFacts(
            name=c.name, kind="translator", source_lang=c.source_lang, target_lang=c.target_lang,
            demo=c.demo, domain=c.domain, by_default=c.by_default,
        )  # fmt: skip
        coverage = check_model(
            c.folder, texts, facts, subtitles, strict=self.options.strict, warn=warn
        )
        return coverage.to_json()

    def decode(self, job: FilmJob, *, progress: ProgressFn, warn: WarnFn) -> Decoded:
        from vloc.translator.decode import decode_with_model
        from vloc.translator.loading import open_model

        c0 = time.perf_counter()
        check_device(job.device)
        loaded = open_model(self.choice.folder, job.to, device=job.device)
        opened = time.perf_counter() - c0
        decoded = decode_with_model(loaded, job, self.options, progress=progress, warn=warn)
        decoded.timings["model"] = decoded.timings.get("model", 0.0) + opened
        return decoded


class EngineDecoder:
    """A pretrained engine (openai | gguf | seq2seq), opened by :meth:`decode`."""

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self.kind = options.kind
        self.source_lang: str | None = None  # the engines read the subtitles' language

    @property
    def files(self) -> list[Path]:
        model = self.options.model
        return [Path(model)] if model and Path(model).exists() else []

    def check_text(self, texts: list[str], subtitles: Path, warn: WarnFn) -> None:
        return None  # pretrained engines have no vocabulary to check against

    def decode(self, job: FilmJob, *, progress: ProgressFn, warn: WarnFn) -> Decoded:
        from vloc.engines.decode import decode_with_engine

        check_device(job.device)
        return decode_with_engine(job, self.options, progress=progress, warn=warn)


def open_decoder(options: OwnModel | EngineOptions, to: str) -> OwnModelDecoder | EngineDecoder:
    """The decoder ``options`` names, translating into ``to``."""
    if isinstance(options, OwnModel):
        return OwnModelDecoder(options, to)
    return EngineDecoder(options)


def check_device(device: str) -> None:
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise InputError("--device cuda: CUDA is not available here; use --device cpu")
