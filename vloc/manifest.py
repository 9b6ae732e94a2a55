"""The translator's training manifest and its splits.

The manifest is JSON Lines, one documentary per line::

    {"id": "capitalism",                      # unique name of the documentary (required)
     "source_lang": "en", "target_lang": "zh", # language codes (required, equal on all lines)
     "split": "train",                         # "train" | "valid" | "test"; optional: when
                                               # absent the command decides (SplitOptions)
     "features": "feats/capitalism.safetensors",  # optional: per-cue features written by
                                               # `vloc features --subs` (pooled (N, D),
                                               # regions (N, R, D) float16), one row per cue
                                               # in the order of "cues"; needed by every
                                               # variant except text-only
     "video": "videos/capitalism.mkv",         # optional: the film itself (for information
                                               # and for tools that extract the features)
     "cues": [{"index": 1, "start": 28.76, "end": 42.23,   # seconds, [start, end)
               "source": "This picture, truly ...",        # source-language text
               "target": "此片 实为最不寻常的影片之一"},      # target-language text
              ...]}

Relative paths resolve against the manifest's folder. Blank lines and lines starting with
``#`` are skipped. A malformed record raises :class:`InputError` naming the manifest and the
line. Cues keep the order given (the film's order, which the temporal window of eq. 2 and the
``no-gr`` variants rely on); cues with an empty source or target text stay in the film (they
are segments other cues may retrieve) but are not training examples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.fileio import MANIFEST_LIMIT_BYTES, atomic_write_text, read_text_limited
from vloc.guard import declare_inputs
from vloc.text import plain_text

if TYPE_CHECKING:
    pass


SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Cue:
    """One subtitle with its translation."""

    index: int  # position label from the source (SRT index); order is the list order
    start: float  # seconds
    end: float  # seconds
    source: str  # source-language text
    target: str  # target-language text

    @property
    def plain(self) -> str:
        """The source as the model reads it: tags and ASS override blocks removed, lines
        joined by spaces (as ``vloc translate`` reads a cue, :func:`vloc.style.cues.split_style`)."""
        return plain_text(self.source)


@dataclass(frozen=True)
class Documentary:
    """One manifest record (see :mod:`vloc.manifest`)."""

    id: str  # unique name
    source_lang: str  # e.g. "en"
    target_lang: str  # e.g. "zh"
    cues: tuple[Cue, ...]  # in film order
    split: str | None = None  # "train" | "valid" | "test", or None: decided by SplitOptions
    features: Path | None = None  # per-cue feature file (absolute), or None
    video: Path | None = None  # the film (absolute), or None

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """The manifest record; paths relative to ``base`` when they lie under it."""

        def rel(p: Path | None) -> str | None:
            if p is None:
                return None
            if base is not None:
                try:
                    return p.relative_to(base).as_posix()
                except ValueError:
                    pass
            return str(p)

        rec: dict[str, Any] = {"id": self.id, "source_lang": self.source_lang}
        rec["target_lang"] = self.target_lang
        if self.split is not None:
            rec["split"] = self.split
        if self.features is not None:
            rec["features"] = rel(self.features)
        if self.video is not None:
            rec["video"] = rel(self.video)
        rec["cues"] = [
            {"index": c.index, "start": c.start, "end": c.end, "source": c.source,
             "target": c.target}
            for c in self.cues
        ]  # fmt: skip
        return rec


def _field(rec: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in rec:
        raise InputError(f"{where}: missing field {key!r}")
    value = rec[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{where}: field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _parse_cue(c: Any, where: str) -> Cue:
    if not isinstance(c, dict):
        raise InputError(f"{where}: a cue must be an object with index, start, end, source, target")
    start = float(_field(c, "start", (int, float), where))
    end = float(_field(c, "end", (int, float), where))
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
        raise InputError(f"{where}: times must satisfy 0 <= start <= end, got {start}, {end}")
    return Cue(
        index=int(_field(c, "index", int, where)),
        start=start,
        end=end,
        source=str(_field(c, "source", str, where)),
        target=str(_field(c, "target", str, where)),
    )


def parse_record(rec: Any, base: Path, where: str) -> Documentary:
    """One manifest record → :class:`Documentary`; ``where`` prefixes error messages."""
    if not isinstance(rec, dict):
        raise InputError(f"{where}: a record must be a JSON object")
    known = {"id", "source_lang", "target_lang", "split", "features", "video", "cues"}
    unknown = sorted(set(rec) - known)
    if unknown:
        raise InputError(f"{where}: unknown fields {unknown}; valid: {sorted(known)}")
    doc_id = _field(rec, "id", str, where)
    if not doc_id.strip():
        raise InputError(f"{where}: 'id' must not be empty")
    split = rec.get("split")
    if split is not None and split not in SPLITS:
        raise InputError(f"{where}: split {split!r} is not one of {SPLITS}")
    cues_raw = _field(rec, "cues", list, where)
    if not cues_raw:
        raise InputError(f"{where}: documentary {doc_id!r} has no cues")
    cues = tuple(_parse_cue(c, f"{where}, cue {k + 1}") for k, c in enumerate(cues_raw))
    paths: dict[str, Path | None] = {}
    for key in ("features", "video"):
        value = rec.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise InputError(f"{where}: {key!r} must be a path (string)")
        paths[key] = None if value is None else (base / Path(value).expanduser()).resolve()
    return Documentary(
        id=doc_id,
        source_lang=_field(rec, "source_lang", str, where),
        target_lang=_field(rec, "target_lang", str, where),
        cues=cues,
        split=split,
        features=paths["features"],
        video=paths["video"],
    )


def read_manifest(path: str | Path) -> list[Documentary]:
    """Read and check a manifest (see :mod:`vloc.manifest`)."""
    path = Path(path)
    declare_inputs([path], "the manifest")
    if not path.exists() and not path.is_symlink():
        raise InputError("manifest not found (expected a JSON Lines file)", path=path)
    lines = read_text_limited(path, MANIFEST_LIMIT_BYTES, what="manifest").splitlines()
    base = path.resolve().parent
    docs: list[Documentary] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{n}"
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise InputError(f"{where}: not valid JSON ({e})") from e
        doc = parse_record(rec, base, where)
        if doc.id in seen:
            raise InputError(f"{where}: id {doc.id!r} already used on line {seen[doc.id]}")
        seen[doc.id] = n
        if docs and (doc.source_lang, doc.target_lang) != (
            docs[0].source_lang,
            docs[0].target_lang,
        ):
            raise InputError(
                f"{where}: languages {doc.source_lang}->{doc.target_lang} differ from the "
                f"first record's {docs[0].source_lang}->{docs[0].target_lang}"
            )
        docs.append(doc)
    if not docs:
        raise InputError("the manifest holds no documentaries", path=path)
    for doc in docs:  # the files a manifest names are inputs of the run that reads it
        feats = [doc.features, doc.features.with_suffix(".json")] if doc.features else []
        declare_inputs([*feats, doc.video], f"named by the manifest {path.name}")
    return docs


def write_manifest(path: str | Path, docs: Sequence[Documentary]) -> Path:
    """Write ``docs`` as a manifest (atomically); paths relative to its folder when possible."""
    path = Path(path)
    base = path.resolve().parent
    text = "".join(json.dumps(d.to_json(base), ensure_ascii=False) + "\n" for d in docs)
    atomic_write_text(path, text)
    return path


# -------------------------------------------------------------------------------- splits


@dataclass(frozen=True)
class SplitOptions:
    """How documentaries without a ``split`` field are divided (explicit splits always win)."""

    test_films: int = 0  # the last N documentaries by id become "test"
    valid_films: int = 0  # the N before those become "valid"
    valid_fraction: float = 0.05  # with no valid documentary: this share of every training
    # film's cues (a contiguous block at its end) is held out for validation


@dataclass(frozen=True)
class Example:
    """A training/validation/test pair: cue ``cue`` of documentary ``doc``."""

    doc: int  # position in the documentary list
    cue: int  # position in that documentary's cues


@dataclass
class Splits:
    """Examples per split over one list of documentaries."""

    docs: list[Documentary]
    examples: dict[str, list[Example]] = field(default_factory=dict)
    films: dict[str, list[str]] = field(default_factory=dict)  # ids of films per split

    def describe(self) -> str:
        parts = []
        for s in SPLITS:
            films = self.films.get(s, [])
            parts.append(f"{s}: {len(self.examples.get(s, []))} cues from {len(films)} films")
        return "; ".join(parts)


def _usable(cue: Cue) -> bool:
    return bool(cue.plain) and bool(cue.target.strip())


def split_documentaries(docs: Sequence[Documentary], options: SplitOptions) -> Splits:
    """Assign every documentary (and, for the validation slice, cues) to a split."""
    if not 0 <= options.valid_fraction < 1:
        raise InputError(f"valid_fraction must be in [0, 1), got {options.valid_fraction}")
    docs = list(docs)
    film_split: dict[int, str] = {i: d.split for i, d in enumerate(docs) if d.split}
    free = sorted((i for i, d in enumerate(docs) if not d.split), key=lambda i: docs[i].id)
    held_out = options.test_films + options.valid_films
    has_train = "train" in film_split.values()
    if held_out > len(free) or (held_out and held_out == len(free) and not has_train):
        raise InputError(
            f"cannot hold out {options.test_films} test and {options.valid_films} valid "
            f"films: only {len(free)} documentaries have no split of their own, and some "
            "must remain for training"
        )
    for k, i in enumerate(reversed(free)):
        if k < options.test_films:
            film_split[i] = "test"
        elif k < options.test_films + options.valid_films:
            film_split[i] = "valid"
        else:
            film_split[i] = "train"
    out = Splits(docs=docs, examples={s: [] for s in SPLITS}, films={s: [] for s in SPLITS})
    slice_valid = "valid" not in film_split.values()
    for i, d in enumerate(docs):
        s = film_split[i]
        out.films[s].append(d.id)
        usable = [k for k, c in enumerate(d.cues) if _usable(c)]
        held = 0
        if s == "train" and slice_valid and options.valid_fraction > 0:
            held = max(1, round(len(usable) * options.valid_fraction)) if len(usable) > 1 else 0
        cut = len(usable) - held
        out.examples[s].extend(Example(i, k) for k in usable[:cut])
        out.examples["valid"].extend(Example(i, k) for k in usable[cut:])
    return out
