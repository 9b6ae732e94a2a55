"""What a decoder gets and gives: the one signature of vloc's two decoders.

A film is translated by one of two decoders, both behind the same call
``decode(job, settings, *, progress, warn) -> Decoded``:

* vloc's own global-context video-guided translator (:func:`vloc.translator.decode.decode_with_model`,
  settings :class:`vloc.translator.options.OwnModel`), and
* a pretrained engine — an OpenAI-compatible endpoint, a local GGUF model or a seq2seq MT model
  (:func:`vloc.engines.decode.decode_with_engine`, settings
  :class:`vloc.engines.options.EngineOptions`).

The film-level job around them (read, memory, write, reports) is :mod:`vloc.pipeline`; each
decoder journals its finished batches (:mod:`vloc.decoding.journal`), so a killed run resumes where it
stopped and gives byte-identical output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vloc.glossary.file import GlossaryTerm
    from vloc.memory.film import FilmMemory
    from vloc.style.budget import Budget

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)
WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class FilmJob:
    """One film's cues to translate, and where its caches and journal live."""

    video: Path
    subtitles: Path  # the source subtitle file (its name keys the journal and the caches)
    texts: list[str]  # each cue's plain source text ("" for an empty cue)
    spans_ms: list[tuple[int, int]]  # each cue's [start, end) in milliseconds
    to: str  # the language the decoder writes (Simplified Chinese for zh-TW: converted later)
    source_lang: str | None = None  # None: the decoder's (own model) or from the file's name
    workdir: str | Path | None = None  # parent folder of the video's workspace
    encoding: str | None = None  # subtitle encoding override (None: detect)
    device: str = "cpu"  # "cpu" | "cuda"
    glossary: tuple[GlossaryTerm, ...] = ()  # terms the LLM engines are told to keep
    budgets: Sequence[Budget] | None = None  # --style: each cue's character budget
    memory: FilmMemory | None = None  # translation memory: its examples go into LLM prompts
    skip: Mapping[int, str] = field(default_factory=dict)  # cues translated already (the
    # memory's exact and fuzzy matches): not sent to the decoder


@dataclass
class Decoded:
    """What a decoding stage (vloc's model or an engine) hands back to the pipeline."""

    translations: dict[int, str]  # cue position (0-based) -> translation, cues with text only
    translated: int  # cues decoded by this run
    reused: int  # cues taken from the journal
    batches: int  # batches decoded by this run
    journal: Path
    model: str  # the model's or engine model's name
    variant: str  # vloc: the translator variant; engines: the engine kind
    source_lang: str
    target_lang: str
    cache: dict[str, bool | None] = field(default_factory=dict)  # features/index cache hits
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    extra: dict[str, Any] = field(default_factory=dict)  # engine usage, context settings
