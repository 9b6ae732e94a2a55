"""Training data of the translator: the manifest, its splits, and the :class:`TranslationTask`.

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

The model reads a cue's source as ``vloc translate`` feeds it: its plain text (:attr:`Cue.plain`,
tags removed, lines joined), and a film's video context comes from
:func:`vloc.index.film_context`, the function ``vloc translate`` uses, so that training and
``vloc eval translate`` see exactly the tensors a user's run does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.fileio import atomic_write_text

if TYPE_CHECKING:
    import numpy as np

    from vloc.encoders import Encoder
    from vloc.index.context import FilmContext

SPLITS = ("train", "valid", "test")
SRC_TOKENIZER_DIR = "src_tokenizer"
TGT_TOKENIZER_DIR = "tgt_tokenizer"
INFO_FILE = "translator.json"  # vloc's metadata beside config.json (data, variant, features)
SOURCE_ADD_EOS = True  # source ids end with EOS (fairseq convention; inference does the same)
VALID_BATCH_TOKENS = 4096  # padded tokens per validation batch


# ------------------------------------------------------------------------------ manifest


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
        """The source as the model reads it: tags removed, lines joined by spaces (as
        ``vloc translate`` does, :func:`vloc.translator.cues.split_style`)."""
        from vloc.translator.cues import split_style

        return split_style(self.source).plain


@dataclass(frozen=True)
class Documentary:
    """One manifest record (see the module docstring)."""

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
    """Read and check a manifest (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("manifest not found (expected a JSON Lines file)", path=path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the manifest: {e}", path=path) from e
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


# ------------------------------------------------------------------------- video context


VideoLoader = Callable[[Documentary, Any], "FilmContext"]  # (documentary, TranslatorConfig)


def _cue_regions(doc: Documentary, config: Any) -> np.ndarray:
    """``doc.features``' per-cue region features ``(N, R, D)`` float32, checked against the
    cues and the model."""
    from vloc.features.store import read_entry

    if doc.features is None:
        raise InputError(
            f"documentary {doc.id!r} has no 'features' file; the {config.variant!r} variant "
            "needs per-cue features (`vloc features --subs`), or train --variant text-only"
        )
    regions = read_entry(doc.features).regions
    if regions is None or regions.shape[0] != len(doc.cues):
        got = None if regions is None else regions.shape[0]
        raise InputError(
            f"expected per-cue region features for {len(doc.cues)} cues, got {got} rows",
            path=doc.features,
        )
    if regions.shape[1:] != (config.video_regions, config.video_dim):
        raise InputError(
            f"region features are {regions.shape[1:]}, the model expects "
            f"(R={config.video_regions}, D={config.video_dim})",
            path=doc.features,
        )
    return regions


class FilmContextLoader:
    """The default :data:`VideoLoader`: a documentary's :func:`vloc.index.film_context` from
    its cues' plain source texts (:attr:`Cue.plain`) and its feature file (one row per cue).

    Global retrieval embeds those texts with the sentence encoder ``encoder`` (a name or
    folder, None = the default, or a loaded :class:`~vloc.encoders.Encoder`; loaded once, on
    the first film that needs it) exactly as ``vloc translate``'s subtitle index does
    (:func:`vloc.index.embed_texts`), unless ``embeddings`` already holds the film's rows.
    """

    def __init__(
        self,
        encoder: str | Path | Encoder | None = None,
        *,
        embeddings: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.encoder = encoder  # the retrieval encoder, loaded on first use
        self.embeddings = dict(embeddings or {})  # film id → (N, E) unit rows, e.g. the
        # SubtitleIndex.embeddings() of the film's subtitles

    def _loaded_encoder(self) -> Encoder:
        from vloc.encoders import Encoder, load_encoder

        if not isinstance(self.encoder, Encoder):
            self.encoder = load_encoder(self.encoder)
        return self.encoder

    def __call__(self, doc: Documentary, config: Any) -> FilmContext:
        from vloc.index import embed_texts, film_context

        kind = config.context
        texts = [c.plain for c in doc.cues]
        regions = None if kind == "none" else _cue_regions(doc, config)
        emb = None
        if kind == "global":
            emb = self.embeddings.get(doc.id)
            if emb is None:
                emb = embed_texts(self._loaded_encoder(), texts)
        return film_context(kind, texts, regions, embeddings=emb, **config.context_options)


def gather_examples(
    examples: Sequence[Example], film: Callable[[int], FilmContext]
) -> tuple[np.ndarray, np.ndarray]:
    """(video ``(B, P, R, D_v)`` float32, mask ``(B, P)`` bool) of a batch of examples from
    any films; ``film(doc)`` gives documentary ``doc``'s context."""
    import numpy as np

    blocks, masks = [], []
    for e in examples:
        video, mask = film(e.doc).gather([e.cue])  # (1, P, R, D_v), (1, P)
        blocks.append(video)
        masks.append(mask)
    return np.concatenate(blocks), np.concatenate(masks)


# ---------------------------------------------------------------------------------- task


def encode_pairs(
    docs: Sequence[Documentary],
    examples: Sequence[Example],
    src_tok: Any,
    tgt_tok: Any,
    config: Any,
) -> tuple[list[list[int]], list[list[int]], int]:
    """(source ids with EOS, target ids with BOS…EOS, number truncated) for ``examples``;
    sources (their plain text, :attr:`Cue.plain`) are cut to ``config.max_source_len`` and
    targets to ``max_target_len`` + 2."""
    srcs = src_tok.encode_batch([docs[e.doc].cues[e.cue].plain for e in examples], add_eos=True)
    tgts = tgt_tok.encode_batch(
        [docs[e.doc].cues[e.cue].target for e in examples], add_bos=True, add_eos=True
    )
    cut = 0
    for k in range(len(srcs)):
        if len(srcs[k]) > config.max_source_len:
            srcs[k] = srcs[k][: config.max_source_len - 1] + [config.eos_id]
            cut += 1
        if len(tgts[k]) > config.max_target_len + 2:
            tgts[k] = tgts[k][: config.max_target_len + 1] + [config.eos_id]
            cut += 1
    return srcs, tgts, cut


@dataclass
class TranslationBatch:
    """Tensors of one batch (all on the task's device).

    src (B, L) long, src_mask (B, L) bool, video (B, P, R, D_v) float32 or None,
    video_mask (B, P) bool or None, tgt_in (B, T) long (BOS…), tgt_out (B, T) long (…EOS).
    """

    src: Any
    src_mask: Any
    video: Any
    video_mask: Any
    tgt_in: Any
    tgt_out: Any


class TranslationTask:
    """The :class:`vloc.training.TrainTask` of the translator (text-only or with video)."""

    def __init__(
        self,
        splits: Splits,
        config: Any,
        src_tok: Any,
        tgt_tok: Any,
        *,
        video_loader: VideoLoader | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.splits = splits
        self.config = config  # TranslatorConfig
        self.src_tok, self.tgt_tok = src_tok, tgt_tok
        self.info = info or {}  # written to translator.json
        self.truncated = 0
        self.ids: dict[str, tuple[list[list[int]], list[list[int]]]] = {}
        for s in ("train", "valid"):
            src, tgt, cut = encode_pairs(splits.docs, splits.examples[s], src_tok, tgt_tok, config)
            self.ids[s] = (src, tgt)
            self.truncated += cut
        self.films: dict[int, FilmContext] = {}
        if config.uses_video:
            loader = video_loader or FilmContextLoader()
            used = {e.doc for s in ("train", "valid") for e in splits.examples[s]}
            for d in sorted(used):
                self.films[d] = loader(splits.docs[d], config)

    def lengths(self, split: str) -> list[int]:
        src, tgt = self.ids[split]
        return [max(len(a), len(b) - 1) for a, b in zip(src, tgt, strict=True)]

    def collate(self, split: str, indices: Sequence[int], device: str) -> TranslationBatch:
        import torch

        c = self.config
        src_ids, tgt_ids = self.ids[split]
        b = len(indices)
        src = torch.full((b, max(len(src_ids[i]) for i in indices)), c.pad_id, dtype=torch.long)
        t = max(len(tgt_ids[i]) for i in indices) - 1
        tgt_in = torch.full((b, t), c.pad_id, dtype=torch.long)
        tgt_out = torch.full((b, t), c.pad_id, dtype=torch.long)
        for r, i in enumerate(indices):
            src[r, : len(src_ids[i])] = torch.tensor(src_ids[i])
            y = torch.tensor(tgt_ids[i])
            tgt_in[r, : len(y) - 1] = y[:-1]
            tgt_out[r, : len(y) - 1] = y[1:]
        video = video_mask = None
        if c.uses_video:
            examples = self.splits.examples[split]
            vid, vmask = gather_examples([examples[i] for i in indices], self.films.__getitem__)
            video = torch.from_numpy(vid).to(device)  # (B, P, R, D_v)
            video_mask = torch.from_numpy(vmask).to(device)  # (B, P)
        return TranslationBatch(
            src.to(device), (src != c.pad_id).to(device), video, video_mask,
            tgt_in.to(device), tgt_out.to(device),
        )  # fmt: skip

    def loss(self, model: Any, batch: TranslationBatch) -> tuple[Any, int]:
        return model.loss(
            batch.src, batch.src_mask, batch.video, batch.video_mask, batch.tgt_in, batch.tgt_out
        )

    def validate(self, model: Any) -> dict[str, float]:
        """Token-weighted label-smoothed loss and its perplexity on the validation examples."""
        from vloc.training import make_batches

        device = next(model.parameters()).device.type
        lengths = self.lengths("valid")
        if not lengths:
            raise InputError(
                "no validation examples: give some documentaries split 'valid' or keep a "
                "validation fraction of the training films"
            )
        total, tokens = 0.0, 0
        for idx in make_batches(lengths, max_tokens=VALID_BATCH_TOKENS, batch_size=None, rng=None):
            loss, n = self.loss(model, self.collate("valid", idx, device))
            total += loss.item() * n
            tokens += n
        mean = total / max(tokens, 1)
        return {"loss": mean, "ppl": math.exp(min(mean, 50.0))}

    def save_model_files(self, model: Any, folder: Path) -> None:
        atomic_write_text(folder / "config.json", json.dumps(model.config.to_dict(), indent=2))
        self.src_tok.save(folder / SRC_TOKENIZER_DIR)
        self.tgt_tok.save(folder / TGT_TOKENIZER_DIR)
        atomic_write_text(
            folder / INFO_FILE, json.dumps(self.info, indent=2, ensure_ascii=False) + "\n"
        )

    def describe(self) -> str:
        d = self.splits.docs[0]
        lines = [
            f"- languages: {d.source_lang} → {d.target_lang}; variant: {self.config.variant}",
            f"- {self.splits.describe()}",
            f"- vocabularies: source {self.src_tok.vocab_size}, target {self.tgt_tok.vocab_size}",
            f"- training films: {', '.join(self.splits.films['train'])}",
        ]
        if self.splits.films["test"]:
            lines.append(f"- held-out test films: {', '.join(self.splits.films['test'])}")
        if self.truncated:
            lines.append(f"- {self.truncated} over-long texts truncated")
        return "\n".join(lines)
