"""Decoding speed of the paper-size translator: beam search over many cues at once vs one cue
at a time.

Random weights never stop early, so every hypothesis runs to exactly ``--max-len`` tokens
(``min_len = max_len``): a worst case that does not depend on what the model learned.
Encoding is included in the timings (it is what ``vloc translate`` does per batch).

    .venv/bin/python benchmarks/bench_translate_decode.py            # 64 cues, beam 5, 30 tokens
    .venv/bin/python benchmarks/bench_translate_decode.py --json     # one JSON object

Prints the parameter count, cues/s batched and one at a time, and the speed-up.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from _common import fixed_length_search, parse_decode_args, print_report

from vloc.translator import Translator, TranslatorConfig

I3D_DIM = 2048  # D_v of I3D-R50 features
REGIONS = 9  # 3×3 grid


def build(variant: str, vocab: int) -> Translator:
    torch.manual_seed(0)
    cfg = TranslatorConfig(
        src_vocab_size=vocab,
        tgt_vocab_size=vocab,
        variant=variant,
        video_dim=I3D_DIM,
        video_regions=REGIONS,
    )
    return Translator(cfg).eval()


def inputs(n: int, src_len: int, cfg: TranslatorConfig):
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, cfg.src_vocab_size, (n, src_len), generator=g)
    src_mask = torch.ones(n, src_len, dtype=torch.bool)
    video = torch.rand(n, cfg.segments, REGIONS, I3D_DIM, generator=g)  # post-ReLU-like, >= 0
    video_mask = torch.ones(n, cfg.segments, dtype=torch.bool)
    return src, src_mask, video, video_mask


@torch.inference_mode()
def translate(model: Translator, batch, beam: int, max_len: int) -> list[list[int]]:
    memory = model.encode(*batch)
    return fixed_length_search(model, memory, model.config, beam, max_len).tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cues", type=int, default=64, help="cues decoded as one batch")
    ap.add_argument("--single", type=int, default=16, help="cues timed one at a time")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--max-len", type=int, default=30, help="target tokens per cue")
    ap.add_argument("--src-len", type=int, default=20, help="source tokens per cue")
    args = parse_decode_args(ap)

    model = build(args.variant, args.vocab)
    n_params = sum(p.numel() for p in model.parameters())
    emb = model.encoder.embed.table.weight.numel() + model.decoder.embed.table.weight.numel()
    batch = inputs(args.cues, args.src_len, model.config)

    translate(model, tuple(t[:2] for t in batch), args.beam, 3)  # warm-up
    t0 = time.perf_counter()
    out = translate(model, batch, args.beam, args.max_len)
    batched_s = time.perf_counter() - t0
    assert all(len(t) == args.max_len for t in out), "every cue should reach max_len"

    t0 = time.perf_counter()
    for i in range(args.single):
        translate(model, tuple(t[i : i + 1] for t in batch), args.beam, args.max_len)
    single_s = time.perf_counter() - t0

    report = {
        "variant": args.variant,
        "parameters": n_params,
        "parameters_without_embeddings": n_params - emb,
        "vocab": args.vocab,
        "beam": args.beam,
        "max_len": args.max_len,
        "src_len": args.src_len,
        "threads": torch.get_num_threads(),
        "batched_cues": args.cues,
        "batched_seconds": round(batched_s, 3),
        "batched_cues_per_s": round(args.cues / batched_s, 2),
        "single_cues": args.single,
        "single_seconds": round(single_s, 3),
        "single_cues_per_s": round(args.single / single_s, 2),
        "speedup": round((args.cues / batched_s) / (args.single / single_s), 2),
        "load_average": list(os.getloadavg()),
    }
    print_report(report, args.json, width=30)


if __name__ == "__main__":
    main()
