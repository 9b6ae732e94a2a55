"""What ``vloc translate`` is asked to do and what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.subtitles import OUTPUT_FORMATS
from vloc.text import LANG_CODE
from vloc.translator.options import OwnModel

if TYPE_CHECKING:
    from vloc.engines.options import EngineOptions
    from vloc.style.readability import ReadabilityReport

DEVICES = ("cpu", "cuda")
TRADITIONAL = ("convert", "direct")  # how a Traditional Chinese target is written


@dataclass(frozen=True)
class TranslateOptions:
    """What ``vloc translate`` was asked to do."""

    to: str  # target language code (zh-TW, zh-HK, zh-Hant: see ``traditional``)
    decoder: OwnModel | EngineOptions = field(default_factory=OwnModel)  # vloc's own
    # translator (the default) or a pretrained engine (openai | gguf | seq2seq) and its context
    output: str | Path | None = None  # output file; None: beside the subtitles, film.<to>.<fmt>
    format: str | None = None  # "srt" | "vtt" | "ass" | "ssa" | "ttml"; None: from
    # ``output``'s suffix, else the input's
    bilingual: bool = False  # each cue holds the translation over the source line(s) (ASS:
    # the source in its own style)
    encoding: str | None = None  # subtitle encoding override (default: detect)
    workdir: str | Path | None = None  # parent folder of the video's workspace
    device: str = "cpu"  # "cpu" | "cuda", for the backbone and the translator
    source_lang: str | None = None  # engines: the subtitles' language; None: from the file
    # name's tag (film.en.srt), else guessed from the script
    style: str | None = None  # a style profile (shipped name or .toml): each cue's budget goes
    # into the LLM engines' prompts, over-budget replies are asked up to twice to condense, and the
    # result counts the cues over budget; None: no budgets
    memory: tuple[str, ...] = ()  # translation memory files (vloc.memory.film): exact and
    # fuzzy matches used verbatim; LLM engines also see similar pairs as examples
    traditional: str = "convert"  # a Traditional Chinese ``to``: "convert" — the decoder
    # writes Simplified, OpenCC converts it (regional phrasing for zh-TW); "direct" — an LLM
    # engine is asked for the Traditional target itself (vloc.style.chinese)
    memory_examples: int = 600  # token budget of those examples (0: none); the default is
    # vloc.memory.lookup.EXAMPLE_TOKENS (not imported: `vloc --help` stays light)

    @property
    def converts(self) -> bool:
        """Whether the decoder writes Simplified Chinese that OpenCC turns into ``to``'s
        Traditional script after decoding (``traditional`` "convert" for zh-TW etc.)."""
        from vloc.style.chinese import traditional_config

        return self.traditional == "convert" and traditional_config(self.to) is not None

    @property
    def decode_to(self) -> str:
        """The language the decoder writes: Simplified Chinese where the result is converted."""
        return "zh" if self.converts else self.to

    def check(self) -> None:
        """Refuse what cannot run, before any file is read (one line naming the flag)."""
        if not self.to or not LANG_CODE.match(self.to):
            raise InputError(f"--to {self.to!r} is not a language code (e.g. zh, en, pt-BR)")
        if self.format is not None and self.format not in OUTPUT_FORMATS:
            raise InputError(f"--format {self.format!r}; valid: {', '.join(OUTPUT_FORMATS)}")
        if self.device not in DEVICES:
            raise InputError(f"--device {self.device!r}; valid: {', '.join(DEVICES)}")
        self._check_traditional()
        own = self.decoder
        if not isinstance(own, OwnModel):
            own.check()  # an engine's options: one line naming the flag
            return
        if own.beam_size < 1:
            raise InputError(f"--beam must be at least 1, got {own.beam_size}")
        if own.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {own.batch_size}")
        if own.batch_tokens < 1:
            raise InputError(f"--batch-tokens must be at least 1, got {own.batch_tokens}")
        from vloc.features.execution import check_path  # torch-free

        check_path(own.backbone_path, fast=True, device=self.device)  # fast: as extracted

    def _check_traditional(self) -> None:
        if self.traditional not in TRADITIONAL:
            raise InputError(f"--traditional {self.traditional!r}; valid: {', '.join(TRADITIONAL)}")
        if self.traditional == "convert":
            return
        from vloc.style.chinese import traditional_config

        if traditional_config(self.to) is None:
            raise InputError(
                f"--traditional direct is for a Traditional Chinese target (zh-TW, zh-HK, "
                f"zh-MO, zh-Hant), not --to {self.to}"
            )
        from vloc.engines.options import LLM_ENGINES

        kind = self.decoder.kind
        if kind not in LLM_ENGINES:
            raise InputError(
                f"--traditional direct needs an LLM engine (--engine openai or gguf); "
                f"--engine {kind} writes Simplified Chinese, which --traditional convert turns "
                "into Traditional"
            )


@dataclass
class TranslateResult:
    """What :func:`vloc.pipeline.translate_subtitles` did."""

    output: Path  # the file written
    cues: int  # cues in the input and in the output
    translated: int  # cues decoded by this run
    reused: int  # cues taken from the journal of an earlier (interrupted) run
    empty: int  # cues without text, kept empty
    batches: int  # decoding batches run by this run
    timings: dict[str, float]  # seconds per stage: model, read, features, index, context, ...
    cache: dict[str, bool | None]  # features/index found in the workspace (None: not needed)
    readability: ReadabilityReport  # line-length and reading-speed violations
    model: str  # model name
    variant: str  # translator variant (vloc), or the engine kind
    source_lang: str
    target_lang: str
    journal: Path  # the decoding journal
    warnings: list[str] = field(default_factory=list)
    coverage: dict[str, Any] | None = None  # vloc.coverage.Coverage.to_json() of the input
    engine: str = "vloc"  # vloc | openai | gguf | seq2seq
    extra: dict[str, Any] = field(default_factory=dict)  # engines: usage and context settings
    glossary: list[dict[str, Any]] | None = None  # per term: cues, honoured, missed
    style: dict[str, Any] | None = None  # --style: profile, cues over budget before and after
    memory: dict[str, Any] | None = None  # FilmMemory.to_json(): exact, fuzzy, identity, ...

    def to_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "cues": self.cues,
            "translated": self.translated,
            "reused": self.reused,
            "empty": self.empty,
            "batches": self.batches,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "cache": self.cache,
            "violations": self.readability.to_json(),
            "engine": self.engine,
            "model": self.model,
            "variant": self.variant,
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "journal": str(self.journal),
            "warnings": self.warnings,
            "coverage": self.coverage,
            "glossary": self.glossary,
            "style": self.style,
            "memory": self.memory,
            **self.extra,
        }
