"""Decoding speed and memory of the paper-size VDF summarizer: beam search over a batch of
videos, the paper's sizes (§3.2: batch 8, beam 6, 800 transcript tokens, 1,024 video steps,
4 + 4 layers, d = 512, 8 heads, one cascaded fusion decoder layer).

Random weights never stop early, so with ``min_len = max_len = --steps`` every hypothesis
runs exactly ``--steps`` tokens and one more step ends it with EOS: a fixed amount of work
that does not depend on what the model learned. What is timed is the search only (encoding
is timed on its own): from the first decoder step to the end, every step's wall time
including the beam search's bookkeeping (the reordering of the decoder cache after each
step, the largest part of it when the cache holds the encoder's keys/values).

    .venv/bin/python benchmarks/bench_summarize_decode.py           # paper sizes, 20 steps
    .venv/bin/python benchmarks/bench_summarize_decode.py --json    # one JSON object

Reports seconds per step (mean and median), the encode time, the decoder cache and the beam
memory at their largest (MB), the resident set before the search and its peak (MB, the
process's high-water mark, model and inputs included), and the load average (the machine
may be shared: compare runs made in one session).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from typing import Any

import torch
from _common import fixed_length_search, parse_decode_args, print_report

from vloc.summarizer import SummarizerConfig, VDFSummarizer
from vloc.summarizer.config import MAX_SOURCE_TOKENS, MAX_VIDEO_STEPS, PAPER_BATCH, PAPER_BEAM

MB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * PAGE / MB


def peak_rss_mb() -> float:
    """High-water mark of the resident set in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StepClock:
    """Wraps the model for :func:`beam_search`: notes when each decoder step starts, so that
    a step's time includes the search's work after it (cache reordering), and the size of
    the decoder cache and of the (beam-expanded) memory."""

    def __init__(self, model: VDFSummarizer) -> None:
        self.model = model
        self.starts: list[float] = []
        self.cache_bytes = 0
        self.memory_bytes = 0

    def decode_step(
        self,
        tokens: torch.Tensor,
        memory: dict[str, torch.Tensor],
        cache: dict[str, torch.Tensor],
        step: int,
    ) -> torch.Tensor:
        self.starts.append(time.perf_counter())
        logits = self.model.decode_step(tokens, memory, cache, step)  # (rows, V)
        self.cache_bytes = max(self.cache_bytes, sum(t.nbytes for t in cache.values()))
        self.memory_bytes = max(self.memory_bytes, sum(t.nbytes for t in memory.values()))
        return logits


def build(args: argparse.Namespace) -> VDFSummarizer:
    torch.manual_seed(0)
    cfg = SummarizerConfig(
        src_vocab_size=args.vocab, tgt_vocab_size=args.vocab, variant=args.variant
    )  # the paper's sizes are the config's defaults
    return VDFSummarizer(cfg).eval()


def inputs(args: argparse.Namespace, cfg: SummarizerConfig) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    b = args.batch
    src = torch.randint(4, cfg.src_vocab_size, (b, args.src_len), generator=g)  # (B, L)
    src_mask = torch.ones(b, args.src_len, dtype=torch.bool)
    video = torch.rand(b, args.video_len, cfg.video_dim, generator=g)  # (B, S, D_v), >= 0
    video_mask = torch.ones(b, args.video_len, dtype=torch.bool)
    return src, src_mask, video, video_mask


@torch.inference_mode()
def run(args: argparse.Namespace) -> dict[str, Any]:
    model = build(args)
    c = model.config
    batch = inputs(args, c)
    warm = tuple(t[:1, :16] for t in batch)  # a small warm-up through the same code
    model.generate(*warm, beam_size=2, max_len=2)

    t0 = time.perf_counter()
    memory = model.encode(*batch)
    encode_s = time.perf_counter() - t0
    rss_before = rss_mb()

    clock = StepClock(model)
    t0 = time.perf_counter()
    result = fixed_length_search(clock, memory, c, args.beam, args.steps)
    end = time.perf_counter()
    search_s = end - t0
    assert all(len(t) == args.steps for t in result.tokens), "every item should run all steps"
    marks = clock.starts + [end]
    per_step = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    return {
        "variant": args.variant,
        "batch": args.batch,
        "beam": args.beam,
        "src_len": args.src_len,
        "video_len": args.video_len,
        "layers": [c.encoder_layers, c.decoder_layers],
        "d_model": c.d_model,
        "heads": c.n_heads,
        "vocab": args.vocab,
        "threads": torch.get_num_threads(),
        "decoder_steps": len(per_step),
        "encode_s": round(encode_s, 3),
        "search_s": round(search_s, 3),
        "s_per_step_mean": round(search_s / len(per_step), 4),
        "s_per_step_median": round(statistics.median(per_step), 4),
        "cache_mb_max": round(clock.cache_bytes / MB, 1),
        "beam_memory_mb": round(clock.memory_bytes / MB, 1),
        "rss_before_search_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--batch", type=int, default=PAPER_BATCH, help="videos decoded together")
    ap.add_argument("--beam", type=int, default=PAPER_BEAM)
    ap.add_argument("--src-len", type=int, default=MAX_SOURCE_TOKENS, help="transcript tokens")
    ap.add_argument("--video-len", type=int, default=MAX_VIDEO_STEPS, help="video steps")
    ap.add_argument("--steps", type=int, default=20, help="summary tokens per hypothesis")
    args = parse_decode_args(ap)
    print_report(run(args), args.json, width=22)


if __name__ == "__main__":
    main()
