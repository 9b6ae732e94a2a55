#!/usr/bin/env python
"""End-to-end ``vloc translate`` time on the example film, split by stage.

    python benchmarks/bench_translate.py                       # examples/film.mp4 + film.en.srt
    python benchmarks/bench_translate.py --model NAME|PATH     # a trained translator
    python benchmarks/bench_translate.py --json                # one JSON object

Runs the library function twice in a fresh temporary workspace: a *cold* run (features
extracted, index built, every cue decoded) and a *warm* run (features and index from the
workspace, every cue from the decoding journal), and prints seconds per stage (model, read,
features, index, context, decode, write, total) for both.

Without ``--model`` (or when no trained model is installed) it builds a paper-size translator
(4 + 4 layers, d = 128, I3D-R50 features 3×3 × 2048) with RANDOM weights and tokenizers trained
on the film's own subtitles, and extracts features with a full-size I3D-R50 with RANDOM weights
(no published checkpoint can be downloaded offline): the times are representative, the
translations are not. The output says so. Random weights never stop early, so every cue is
decoded to the model's maximum length: a worst case for the decode stage.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILM = ROOT / "examples" / "film.mp4"
SUBS = ROOT / "examples" / "film.en.srt"
ZH_SENTENCES = (  # target-side text for a random-weight model's tokenizer
    "河流发源于高山。",
    "每年春天积雪融化。",
    "在下游，三角洲铺满平原。",
    "候鸟在水流变缓的地方聚集。",
    "夏天，源头干涸了。",
    "农民们等待着雨水。",
    "城市喝的是同一条河的水。",
    "它的未来取决于群山。",
)
VOCAB = 8000  # tokenizer target size (it stops earlier on so little text)


def build_random_model(folder: Path, subs: Path, backbone_width: float) -> Path:
    """A paper-size random-weight translator folder (see the module docstring)."""
    import torch

    from vloc.index import plain_text
    from vloc.subtitles import read_subtitles
    from vloc.tokenization import train_tokenizer
    from vloc.translator import Translator, TranslatorConfig

    texts = [plain_text(c.text) for c in read_subtitles(subs).cues]
    src = train_tokenizer(texts, vocab_size=VOCAB, lang="en")
    tgt = train_tokenizer(ZH_SENTENCES, vocab_size=VOCAB, lang="zh")
    torch.manual_seed(0)
    dim = round(2048 * backbone_width)  # I3D-R50's last stage at this width
    cfg = TranslatorConfig(
        src_vocab_size=src.vocab_size, tgt_vocab_size=tgt.vocab_size, video_dim=dim
    )
    Translator(cfg).save(folder)
    src.save(folder / "src_tokenizer")
    tgt.save(folder / "tgt_tokenizer")
    features = {"backbone": "i3d_r50", "weights": "random", "seed": 0, "width": backbone_width}
    (folder / "translator.json").write_text(json.dumps({"features": features}))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="translator name or folder (default: random paper-size)")
    ap.add_argument("--to", default="zh", help="target language (default zh)")
    ap.add_argument("--video", type=Path, default=FILM)
    ap.add_argument("--subs", type=Path, default=SUBS)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--backbone-width", type=float, default=1.0, help="random model only")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    if not args.video.exists() and args.video == FILM:
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "make_film.py"), str(FILM)], check=True
        )

    from vloc.catalogue import installed as installed_models
    from vloc.errors import VlocError
    from vloc.pipeline import OwnModel, TranslateOptions, translate_subtitles

    with tempfile.TemporaryDirectory(prefix="vloc-bench-translate-") as tmp:
        tmp_path = Path(tmp)
        random_model = False
        model = args.model
        if model is None:
            installed = [p for p in installed_models("translator") if _target(p) == args.to]
            if installed:
                model = str(installed[0])
            else:
                random_model = True
                model = str(
                    build_random_model(tmp_path / "random-model", args.subs, args.backbone_width)
                )
        runs = {}
        for label in ("cold", "warm"):
            opts = TranslateOptions(
                to=args.to,
                decoder=OwnModel(model=model, beam_size=args.beam, batch_size=args.batch_size),
                output=tmp_path / f"film.{args.to}.{label}.srt",
                workdir=tmp_path / "ws",
            )
            t0 = time.perf_counter()
            try:
                res = translate_subtitles(args.video, args.subs, opts)
            except VlocError as e:
                sys.exit(f"error: {e}")
            wall = time.perf_counter() - t0
            runs[label] = {
                "wall_s": round(wall, 3),
                "timings_s": {k: round(v, 3) for k, v in res.timings.items()},
                "cues": res.cues,
                "translated": res.translated,
                "reused": res.reused,
                "cache": res.cache,
                "violations": {
                    "line_length": res.readability.line_violations,
                    "reading_speed": res.readability.speed_violations,
                },
            }
        report = {
            "video": str(args.video),
            "subs": str(args.subs),
            "model": "random paper-size translator (RANDOM weights)" if random_model else model,
            "random_weights": random_model,
            "beam": args.beam,
            "runs": runs,
        }
    if args.json:
        print(json.dumps(report))
        return
    if random_model:
        print("no trained model installed: RANDOM-weight paper-size translator and I3D-R50")
    print(f"model: {report['model']}  beam {args.beam}  cues {runs['cold']['cues']}")
    stages = list(runs["cold"]["timings_s"])
    print(f"{'stage':<10}" + "".join(f"{label:>10}" for label in runs))
    for stage in stages:
        print(
            f"{stage:<10}" + "".join(f"{runs[r]['timings_s'].get(stage, 0):>10.3f}" for r in runs)
        )
    print(
        "warm run: "
        + f"{runs['warm']['reused']} cues from the journal, cache {runs['warm']['cache']}"
    )


def _target(folder: Path) -> str | None:
    try:
        meta = json.loads((folder / "tgt_tokenizer" / "vloc_tokenizer.json").read_text())
    except (OSError, ValueError):
        return None
    return meta.get("lang")


if __name__ == "__main__":
    main()
