"""Does a model know the words of this input? The coverage check of translate and summarize.

A model trained on one kind of text turns text of another kind into fluent nonsense: the shipped
demo translator, trained on vloc's synthetic documentaries, renders "The stock market crashed in
2008" as a sentence about hot sand in a made-up town, with nothing to tell a user that it is
wrong. So before a model runs, the input is measured against the model's source tokenizer:

* **words**: the pieces the tokenizer's pre-tokeniser cuts the text into that hold a letter
  (an English word, one Chinese character; punctuation and bare numbers are not counted);
* **unknown**: a word the tokenizer cannot spell as one learned symbol — it needs several BPE
  pieces, or byte fallback for a character it never saw. BPE learns whole-word symbols for the
  words of its training text, so on text like the training text nearly every word is one
  symbol, and on other text most are not;
* **unknown share** = unknown / words; the check passes at or below :data:`UNKNOWN_SHARE_LIMIT`.

Measured with ``benchmarks/coverage.py`` (the share per film, lowest–highest; the demo
models' films here are all held out from their training):

==========================================  =======================  =================
input                                       model                    unknown share
==========================================  =======================  =================
``examples/film.en.srt`` (229 words)        ``synth-en-zh``          8.7 %
100 further synthetic translation films     ``synth-en-zh``          8.7–17.6 %
18 TopicVD validation films, English        ``synth-en-zh``          54.7–63.2 %
``examples/talk.zh.srt`` (186 characters)   ``synth-zh-en-summary``  0.0 %
100 further synthetic summarization films   ``synth-zh-en-summary``  0.0 %
18 TopicVD validation films, Chinese        ``synth-zh-en-summary``  52.0–63.7 %
8 How2 Portuguese transcripts               ``synth-zh-en-summary``  100 %
==========================================  =======================  =================

The limit, 35 %, sits in the middle of the gap between the demo films (at most 17.6 %) and the
real ones (at least 52.0 %). The unknown words of the synthetic films are their place names
(made up per film, so new to the model); a real film's are most of its vocabulary. A model
trained on real subtitles passes on real films it has not seen: BPE tokenizers trained on 15
TopicVD films (4,000 English / 3,000 Chinese ids, as ``benchmarks/topicvd_text_only.py``)
leave 23.2–23.9 % of the other 3 films' English words and 2–3 % of their Chinese characters
unknown.

What happens then (:func:`check`): a *demo* model (``"demo": true`` in its folder's JSON)
picked without ``--model`` runs only when the check passes and the subtitles' language tag
(``film.en.srt``) is its source language; otherwise the command stops, says which models exist
and how to choose. Any other model, or a demo named with ``--model``, runs with a one-line
warning naming the model, its training domain and the coverage; ``strict`` turns that warning
into an error (for CI). Nothing here imports torch: the check runs before any model loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError, WeightsError
from vloc.text import LANG_CODE, language_base

if TYPE_CHECKING:
    from vloc.tokenization import Tokenizer

UNKNOWN_SHARE_LIMIT = 0.35  # most unknown words (share) a model may be used on; see above
SHOWN_UNKNOWN = 3  # most frequent unknown words quoted in a warning
DEMO_KEY = "demo"  # model-folder JSON: true for a demo model
DOMAIN_KEY = "domain"  # model-folder JSON: one line on what the training text was

WarnFn = Callable[[str], None]


@dataclass(frozen=True)
class Coverage:
    """How much of an input a model's source tokenizer knows."""

    words: int  # words of the input (a Chinese character is a word)
    unknown: int  # words that are not one learned symbol of the tokenizer
    limit: float  # the largest unknown share that passes
    frequent: tuple[str, ...]  # the most frequent unknown words, most frequent first

    @property
    def share(self) -> float:
        """Unknown words / words (0 for an input without words)."""
        return self.unknown / self.words if self.words else 0.0

    @property
    def ok(self) -> bool:
        return self.share <= self.limit

    def describe(self) -> str:
        """``61.2 % of 9,633 words unknown (limit 30 %)``."""
        return (
            f"{100 * self.share:.1f} % of {self.words:,} words unknown "
            f"(limit {100 * self.limit:g} %)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "words": self.words,
            "unknown": self.unknown,
            "unknown_share": round(self.share, 4),
            "limit": self.limit,
            "ok": self.ok,
            "frequent_unknown": list(self.frequent),
        }


def measure(
    tokenizer: Tokenizer, texts: Iterable[str], *, limit: float = UNKNOWN_SHARE_LIMIT
) -> Coverage:
    """The coverage of ``texts`` by ``tokenizer`` (see the module docstring)."""
    from vloc.tokenization import METASPACE, N_RESERVED, UNK_ID

    words = 0
    unknown: Counter[str] = Counter()
    for text in texts:
        for piece in tokenizer.split_words(text):
            word = piece.lstrip(METASPACE)
            if not any(ch.isalpha() for ch in word):
                continue
            words += 1
            ids = tokenizer.piece_ids(piece)
            if len(ids) != 1 or ids[0] < N_RESERVED or ids[0] == UNK_ID:
                unknown[word] += 1
    frequent = tuple(w for w, _ in unknown.most_common(SHOWN_UNKNOWN))
    return Coverage(words, sum(unknown.values()), limit, frequent)


def measure_folder(
    tokenizer_folder: str | Path, texts: Iterable[str], *, limit: float = UNKNOWN_SHARE_LIMIT
) -> Coverage:
    """:func:`measure` with the tokenizer saved in ``tokenizer_folder``."""
    from vloc.tokenization import Tokenizer

    return measure(Tokenizer.load(tokenizer_folder), texts, limit=limit)


# per kind of model, what to use instead of one that does not know the text: how to train
# one, and the pretrained engines that run that job
REMEDIES = {
    "translator": ("vloc train translate", "--engine openai|gguf|seq2seq"),
    "summarizer": ("vloc train summarize", "--engine openai|gguf"),
}


@dataclass(frozen=True)
class ModelFacts:
    """What the coverage policy needs to know about the chosen model (read from its JSON)."""

    name: str  # model name (folder name)
    kind: str  # "translator" | "summarizer"
    source_lang: str  # language of the text it reads
    target_lang: str  # language it writes
    demo: bool  # marked as a demo in its folder
    domain: str | None  # what it was trained on (None: not recorded)
    by_default: bool  # chosen without --model (the only installed model into --to)

    @property
    def pair(self) -> str:
        return f"{self.source_lang}→{self.target_lang}"


def read_marks(info: Mapping[str, Any], path: Path) -> tuple[bool, str | None]:
    """(demo, training domain) from a model folder's JSON ``info`` (read from ``path``)."""
    demo, domain = info.get(DEMO_KEY, False), info.get(DOMAIN_KEY)
    if not isinstance(demo, bool):
        raise WeightsError(f"{DEMO_KEY!r} must be true or false, got {demo!r}", path=path)
    if domain is not None and not isinstance(domain, str):
        raise WeightsError(f"{DOMAIN_KEY!r} must be a string, got {domain!r}", path=path)
    return demo, domain


def language_tag(path: str | Path) -> str | None:
    """The language tag of a subtitle file's name (``film.en.srt`` → ``en``; None if none).

    Two-letter languages only (``en``, ``zh-Hans``, ``pt_BR``), unlike :data:`LANG_CODE`: the
    tag is compared with the model's two-letter language, and a three-letter word before the
    extension (``film.eng.srt``, ``film.cut.srt``) must not make a demo model refuse a run."""
    stem = Path(path).stem
    _, dot, last = stem.rpartition(".")
    two_letters = len(language_base(last)) == 2
    return last if dot and two_letters and LANG_CODE.match(last) else None


def check_model(
    folder: Path,
    texts: Iterable[str],
    model: ModelFacts,
    input_path: Path,
    *,
    strict: bool = False,
    warn: WarnFn | None = None,
) -> Coverage:
    """Measure ``texts`` (read from ``input_path``) against the source tokenizer of the model
    in ``folder`` and apply the coverage policy (:func:`check`, naming the installed models of
    its kind and :data:`REMEDIES`) → the :class:`Coverage`."""
    from vloc.catalogue import SRC_TOKENIZER_DIR, describe_installed

    coverage = measure_folder(folder / SRC_TOKENIZER_DIR, texts)
    train_command, engines = REMEDIES[model.kind]
    check(
        coverage,
        model,
        input_path,
        installed=describe_installed(model.kind),
        train_command=train_command,
        engines=engines,
        strict=strict,
        warn=warn,
    )
    return coverage


def check(
    coverage: Coverage,
    model: ModelFacts,
    input_path: Path,
    *,
    installed: str,
    train_command: str,
    engines: str = "",
    strict: bool = False,
    warn: WarnFn | None = None,
) -> None:
    """Apply the coverage policy (module docstring) to ``input_path`` read with ``model``.

    ``installed`` lists the models that exist (for the refusal), ``train_command`` is how to make
    one (``vloc train translate``), ``engines`` the pretrained engines that can run instead
    (``--engine openai|gguf|seq2seq``). Raises :class:`WeightsError` when a demo picked by default
    does not fit, :class:`InputError` when ``strict`` and the check fails; warns otherwise.
    """
    tag = language_tag(input_path)
    wrong_language = tag is not None and language_base(tag) != language_base(model.source_lang)
    trained_on = model.domain or "an unrecorded domain"
    unknown = (
        f"{100 * coverage.share:.1f} % of the file's {coverage.words:,} words are unknown to the model "
        f"(limit {100 * coverage.limit:g} %)"
    )
    if model.demo and model.by_default and (wrong_language or not coverage.ok):
        why = f"its name says it is {tag!r}" if wrong_language else unknown
        raise WeightsError(
            f"not run through {model.name!r}, the only installed {model.pair} {model.kind}: it is "
            f"a demo trained on {trained_on}, and {why}, so its output would be nonsense. "
            f"Installed {model.kind}s: {installed}. Train one on text like yours with "
            f"`{train_command}` and pass --model DIR"
            + (f", or use a pretrained engine ({engines} --model ...)" if engines else "")
            + f", or pass --model {model.name} to run the demo anyway",
            path=input_path,
        )
    if coverage.ok:
        return
    examples = ", ".join(repr(w) for w in coverage.frequent)
    line = (
        f"{'demo ' if model.demo else ''}{model.kind} {model.name!r}, trained on {trained_on}, "
        f"does not know this text: {unknown}"
        + (f", e.g. {examples}" if examples else "")
        + f"; expect poor output — use a model trained on text like it (`{train_command}`, "
        "then --model DIR)" + (f" or a pretrained engine ({engines})" if engines else "")
    )
    if strict:
        raise InputError(f"--strict: {line}", path=input_path)
    if warn is not None:
        warn(f"{input_path}: {line}")


__all__ = [
    "UNKNOWN_SHARE_LIMIT",
    "Coverage",
    "ModelFacts",
    "check",
    "check_model",
    "language_tag",
    "measure",
    "measure_folder",
    "read_marks",
]
