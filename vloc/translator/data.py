"""Training data of the translator: a film's video context for training
(:class:`FilmContextLoader`) and the trainer's :class:`TranslationTask`; the manifest and its
splits are in :mod:`vloc.manifest` (re-exported here).

The model reads a cue's source as ``vloc translate`` feeds it: its plain text (:attr:`Cue.plain`,
tags removed, lines joined), and a film's video context comes from
:func:`vloc.index.film_context`, the function ``vloc translate`` uses, so that training and
``vloc eval translate`` see exactly the tensors a user's run does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.fileio import atomic_write_text
from vloc.manifest import (
    SPLITS,
    Cue,
    Documentary,
    Example,
    SplitOptions,
    Splits,
    parse_record,
    read_manifest,
    split_documentaries,
    write_manifest,
)

if TYPE_CHECKING:
    import numpy as np

    from vloc.encoders import Encoder
    from vloc.index.context import FilmContext


__all__ = [  # the task, and the manifest names its callers have always found here
    "INFO_FILE",
    "SPLITS",
    "SRC_TOKENIZER_DIR",
    "TGT_TOKENIZER_DIR",
    "Cue",
    "Documentary",
    "Example",
    "FilmContextLoader",
    "SplitOptions",
    "Splits",
    "TranslationBatch",
    "TranslationTask",
    "VideoLoader",
    "encode_pairs",
    "gather_examples",
    "parse_record",
    "read_manifest",
    "split_documentaries",
    "write_manifest",
]

SRC_TOKENIZER_DIR = "src_tokenizer"
TGT_TOKENIZER_DIR = "tgt_tokenizer"
INFO_FILE = "translator.json"  # vloc's metadata beside config.json (data, variant, features)
SOURCE_ADD_EOS = True  # source ids end with EOS (fairseq convention; inference does the same)
VALID_BATCH_TOKENS = 4096  # padded tokens per validation batch


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
