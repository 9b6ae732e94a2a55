"""What every translation engine takes and gives back, whatever runs behind it.

An engine translates one *batch* of consecutive cues at a time. The batch carries the film's
context that vloc gathered for it (:class:`BatchRequest`): related lines retrieved from anywhere
in the film (eq. 1 of the translator paper, with their translations where already done), the
previous cues, a synopsis, a glossary, and keyframes. Cues are keyed by their 1-based position
in the film (``number``): the engine must return exactly one translation per number — never
merged, dropped or invented — or raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Protocol

from vloc.errors import VlocError

if TYPE_CHECKING:
    from vloc.glossary.file import GlossaryTerm
    from vloc.style.budget import Budget


class EngineError(VlocError):
    """An engine cannot run (unreachable endpoint, unknown model id, rejected key, missing
    runtime) or kept failing on a batch."""


@dataclass(frozen=True)
class Line:
    """One subtitle line the prompt shows: its position in the film, source and translation."""

    number: int  # 1-based position of the cue in the film
    source: str  # plain source text (tags removed, lines joined by spaces)
    translation: str | None = None  # the target text when already translated, else None
    budget: Budget | None = None  # the characters its translation may hold (``--style``);
    # None: no length limit


@dataclass(frozen=True)
class BatchRequest:
    """One batch of consecutive cues and the film context gathered for it."""

    cues: tuple[Line, ...]  # the cues to translate (translation None)
    source_lang: str  # e.g. "en"
    target_lang: str  # e.g. "zh"
    related: tuple[Line, ...] = ()  # retrieved from anywhere in the film (eq. 1), best first
    previous: tuple[Line, ...] = ()  # the cues just before the batch (continuity)
    synopsis: str = ""  # what the film is about
    glossary: tuple[GlossaryTerm, ...] = ()  # terms that occur in this batch's context
    images: tuple[bytes, ...] = ()  # JPEG keyframes, most relevant first
    notes: tuple[str, ...] = ()  # what was wrong with these lines' last replies (re-asks)
    examples: tuple[tuple[str, str], ...] = ()  # translation memory: approved (source,
    # target) pairs of similar lines (stable prefix)

    @property
    def numbers(self) -> list[int]:
        return [c.number for c in self.cues]


@dataclass
class Usage:
    """What translating cost: tokens as the engine counts them, requests and retries."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0  # calls made to the model
    retries: int = 0  # transport retries (429, 5xx, connection errors, timeouts)
    reasks: int = 0  # replies rejected by validation and asked again
    splits: int = 0  # batches halved after a rejected re-ask
    untranslated: int = 0  # lines whose every reply ran away: kept as their source text
    over_budget: int = 0  # lines whose first reply was over their budget (asked to condense)
    leftovers: int = 0  # lines whose words left in the source were asked word by word and mended
    shortened: int = 0  # lines still over their budget after the batches, rewritten shorter

    def add(self, other: Usage) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class BatchResult:
    """The translations of one batch, keyed by cue number, and what they cost."""

    translations: dict[int, str]
    usage: Usage = field(default_factory=Usage)


class Engine(Protocol):
    """A translation engine.

    ``identity`` changes whenever the output could change (engine kind, model id and hash,
    prompt template, decoding settings): it keys the translation journal.
    """

    kind: str  # "vloc" | "openai" | "gguf" | "seq2seq"
    name: str  # the model as the user named it
    identity: str  # sha256 of everything that determines the output
    uses_context: bool  # whether related/previous lines and the synopsis reach the model
    accepts_images: bool  # whether keyframes reach the model

    def translate_batch(self, request: BatchRequest) -> BatchResult: ...

    def close(self) -> None: ...
