"""Summarizing a batch of transcripts with their video features (:func:`summarize_batch`):
sources truncated and videos pooled to the model's positions, both reported, then beam
search in batches of :data:`GENERATE_BATCH`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.errors import InputError
from vloc.summarizer.data import (
    encode_source,
    load_video_features,
)

if TYPE_CHECKING:
    import numpy as np

    from vloc.summarizer.loading import LoadedSummarizer
    from vloc.summarizer.summarize import SummarizeOptions

WarnFn = Callable[[str], None]


GENERATE_BATCH = 8  # videos summarized per beam-search batch


@dataclass
class BatchSummary:
    """Summaries of several inputs and what had to be cut to fit the model."""

    texts: list[str]  # one summary per input
    source_tokens: list[int]  # transcript tokens before truncation (EOS included)
    video_steps: list[int | None]  # feature steps before pooling (None: no video)
    warnings: list[str] = field(default_factory=list)


def summarize_batch(
    loaded: LoadedSummarizer,
    transcripts: Sequence[str],
    videos: Sequence[np.ndarray | Path | None],
    options: SummarizeOptions,
    *,
    warn: WarnFn | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Summarize transcripts with their video features: (T, D) float arrays or ``.npy`` paths
    (loaded batch by batch), pooled here to the model's video positions; None for models
    without video. Truncation and pooling are reported through ``warn``."""
    import numpy as np
    import torch

    if len(transcripts) != len(videos):
        raise InputError(f"{len(transcripts)} transcripts but {len(videos)} videos")
    options.check()
    model, c = loaded.model, loaded.model.config
    device = next(model.parameters()).device
    warnings: list[str] = []

    def _warn(msg: str) -> None:
        warnings.append(msg)
        if warn is not None:
            warn(msg)

    srcs, lengths = [], []
    for t in transcripts:
        ids, n = encode_source(loaded.src_tok, t, c.max_source_len)
        srcs.append(ids)
        lengths.append(n)
    cut = [n for n in lengths if n > c.max_source_len]
    if cut:
        _warn(
            f"{len(cut)} of {len(lengths)} transcripts were longer than the model's "
            f"{c.max_source_len} tokens and were truncated (longest {max(cut)} tokens)"
        )
    from vloc.summarizer.model import pool_video

    def _video(v: np.ndarray | Path | None) -> tuple[Any, int | None]:
        """→ (pooled (S, D) tensor or None, steps before pooling or None)."""
        if v is None or not c.uses_video:
            return None, None
        if isinstance(v, Path):  # loaded per batch: a test set's features need not fit memory
            v = load_video_features(v, dim=c.video_dim)[0]
        if v.ndim != 2 or v.shape[1] != c.video_dim:
            raise InputError(
                f"video features must be (T, {c.video_dim}) for this model, got {tuple(v.shape)}"
            )
        x = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
        return pool_video(x, c.max_video_len), int(v.shape[0])

    if c.uses_video and any(v is None for v in videos):
        raise InputError(f"the {c.variant!r} summarizer needs video features for every input")
    steps: list[int | None] = []
    out: list[str] = []
    for i in range(0, len(srcs), GENERATE_BATCH):
        chunk = srcs[i : i + GENERATE_BATCH]
        width = max(len(s) for s in chunk)
        src = torch.full((len(chunk), width), c.pad_id, dtype=torch.long)
        for j, s in enumerate(chunk):
            src[j, : len(s)] = torch.tensor(s)
        loaded_videos = [_video(v) for v in videos[i : i + GENERATE_BATCH]]
        steps.extend(n for _, n in loaded_videos)
        video = video_mask = None
        if c.uses_video:
            feats = [f for f, _ in loaded_videos]
            s_max = max(f.shape[0] for f in feats)
            video = torch.zeros(len(chunk), s_max, c.video_dim)
            video_mask = torch.zeros(len(chunk), s_max, dtype=torch.bool)
            for j, f in enumerate(feats):
                video[j, : f.shape[0]] = f
                video_mask[j, : f.shape[0]] = True
            video, video_mask = video.to(device), video_mask.to(device)
        result = model.generate(
            src.to(device),
            (src != c.pad_id).to(device),
            video,
            video_mask,
            beam_size=options.beam_size,
            max_len=options.max_len,
            min_len=options.min_len,
            length_penalty=options.length_penalty,
            no_repeat_ngram=options.no_repeat_ngram,
        )
        out.extend(loaded.tgt_tok.decode(t) for t in result.tokens)
        if on_batch is not None:
            on_batch(len(chunk))
    long = [n for n in steps if n is not None and n > c.max_video_len]
    if long:
        _warn(
            f"{len(long)} of {len(steps)} videos had more than {c.max_video_len} feature steps "
            f"and were average-pooled to {c.max_video_len} (longest {max(long)})"
        )
    return BatchSummary(out, lengths, steps, warnings)
