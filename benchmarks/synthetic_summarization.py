"""Synthetic cross-lingual summarization: does the video help, does the triple stage help?

    .venv/bin/python benchmarks/synthetic_summarization.py OUT_DIR [--films 80] [--steps 1500]
        [--ship models/synth-zh-en-summary]

1. Generates the synthetic set (:func:`vloc.synthetic.make_summarization_set`): Chinese
   transcripts that hide each film's visual topic, English summaries most of whose words
   describe it, parallel English transcripts, rendered films, and the How2-MCLS text layout in
   ``set/how2/``.
2. Extracts fixed-stride clip features of every film with ``vloc.features`` (default: the
   ``x3d_m`` backbone with seeded random weights, reduced width — no pretrained weights are
   reachable offline; random convolutions still separate the topics' colours and textures)
   and stores them as ``how2/video_action_features/<id>.npy``.
3. Trains (every model: at most ``--steps`` steps, validation every ``steps / 6``, patience 3,
   best validation loss kept) and scores on the test films (ROUGE-L and the rest, beam 6, length penalty 1):

   * ``full`` vs ``no-video``: VDF from scratch on all training films, ZH → EN, same budget and
     settings. Claim checked: the full model beats the text-only ablation by ≥ 5 ROUGE-L (only
     the video tells the topic). Also reported: topic accuracy, the share of summaries that
     describe the film's topic (:func:`topic_of`); the text-only model should stay at chance.
   * ``scratch-small`` vs ``triple-stage``: on a small cross-lingual subset (``--subset`` training
     films): from scratch, against stage 1 (EN → EN on all training films), stage 2 (distil a
     ZH encoder on the parallel transcripts), stage 3 (fine-tune on the subset).

Writes ``OUT_DIR/results.md`` and ``OUT_DIR/results.json``; exits 1 when a claim fails.
With ``--ship DIR``, the ``--ship-run`` model (default ``triple-stage``) becomes a
self-contained model folder (see
:func:`ship_model`): weights, tokenizers, the feature extractor's settings and its exact weights
(``backbone.safetensors``), and a ``card.md`` with the scores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROUGE_MARGIN = 5.0  # ROUGE-L points the full model must gain over the text-only ablation
BACKBONE_SEED = 0  # seed of the random-weight feature backbone
BACKBONE_FILE = "backbone.safetensors"  # its weights inside a shipped model folder
SHIPPED_DOMAIN = (  # the shipped model's training text, as its summarizer.json records it
    "vloc's synthetic documentaries (Chinese narration about made-up places by a river, in a "
    "desert, a forest or a city; vloc.synthetic.summarization)"
)
DEMO_SECTION = [
    "## A demo: what it knows",
    "",
    '- `summarizer.json` marks it `"demo": true` and records its training domain (`"domain"`): Chinese narration about made-up places by a river, in a desert, a forest or a city.',
    "- Before summarizing, `vloc summarize` measures the transcript against `src_tokenizer/` (`vloc.coverage`): the share of characters and words it cannot spell as one learned symbol. The example transcript and held-out synthetic films stay far under the 35 % limit, real documentaries and other languages far over it (figures: README, `benchmarks/coverage.py`). Without `--model` it is used only under the limit; named with `--model` it warns over it (`--strict`: fails).",
]  # of the card
FEATURE_FPS = 10.0  # decode rate of the feature extractor (the films are rendered at 10 fps)


def topic_of(text: str) -> str | None:
    """The synthetic topic a summary describes: the topic with the most of its own words in the
    text (words that only that topic's summaries use); None when no topic word occurs."""
    import re

    from vloc.synthetic.summarization import TOPIC_WORDS

    vocab = {t: set(" ".join(ws).split()) for t, ws in TOPIC_WORDS.items()}
    own = {t: v - set().union(*(w for u, w in vocab.items() if u != t)) for t, v in vocab.items()}
    words = re.findall(r"[a-z]+", text.lower())
    counts = {t: sum(w in own[t] for w in words) for t in own}
    best = max(counts, key=lambda t: counts[t])
    return best if counts[best] > 0 else None


def topic_accuracy(outputs: list[dict[str, str]]) -> float:
    """Share (%) of summaries that describe the reference's topic (chance: 1 in 4)."""
    hits = [topic_of(o["hypothesis"]) == topic_of(o["reference"]) for o in outputs]
    return round(100.0 * sum(hits) / max(1, len(hits)), 2)


def ship_model(run: Path, target: Path, args: argparse.Namespace, results: dict) -> Path:
    """Copy ``run/best`` (one of the benchmark's models, named by ``run.name``) to ``target`` as
    a model that ``vloc summarize`` runs on any video.

    The features it was trained on come from a seeded random-weight backbone; its exact weights
    are saved as ``target/backbone.safetensors`` and ``summarizer.json`` records the extractor
    (backbone, weights file, width, crop size, frame rate, clip length), so ``vloc summarize``
    computes the same features on any machine without ``--backbone``/``--weights``.
    """
    import os

    import torch
    from safetensors.torch import save_file

    from vloc.backbones.weights import instantiate, resolve_weights
    from vloc.fileio import atomic_path, atomic_write_json, atomic_write_text

    best = run / "best"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(best, target, ignore=shutil.ignore_patterns("card.md"))
    for f in target.rglob("*"):
        os.chmod(f, 0o755 if f.is_dir() else 0o644)  # committed files: readable by everyone
    with torch.random.fork_rng(devices=[]):
        backbone = instantiate(
            resolve_weights(args.backbone, "random", seed=BACKBONE_SEED), width=args.width
        )
    state = {k: v.detach().contiguous().clone() for k, v in backbone.net.state_dict().items()}
    with atomic_path(target / BACKBONE_FILE) as tmp:
        save_file(state, str(tmp))
    info = json.loads((best / "summarizer.json").read_text(encoding="utf-8"))
    info["data"] = f"synthetic summarization set ({args.films} films, seed 0)"
    info["demo"] = True  # picked by default only on text it covers (vloc.coverage)
    info["domain"] = SHIPPED_DOMAIN
    if info.get("parent"):  # a local training folder: name the stage, not the path
        info["parent"] = f"{Path(info['parent']).parent.name} (not shipped)"
    info["video"] = {
        "feature": f"{args.backbone}, seeded random weights (seed {BACKBONE_SEED}), width "
        f"{args.width}, {args.size} px, {FEATURE_FPS:g} fps",
        "dim": info["video"]["dim"],
    }
    info["features"] = {  # FeatureOptions fields (vloc.catalogue.feature_settings)
        "backbone": args.backbone,
        "weights": BACKBONE_FILE,
        "width": args.width,
        "size": args.size,
        "fps": FEATURE_FPS,
        "clip_len": info["features"]["clip_len"],
    }
    atomic_write_json(target / "summarizer.json", info)
    scores = results["scores"]
    lines = [
        f"# {target.name}",
        "",
        "A small VDF summarizer (Chinese transcript + video → English summary) trained on vloc's "
        "synthetic summarization set: documentaries whose Chinese narration never says what kind "
        "of place they are about (river, desert, forest, city), while half of their shots show it. "
        "It is a demo of the pipeline, not a general summarizer: it only knows the four synthetic "
        "topics and their phrasing.",
        "",
        *DEMO_SECTION,
        "",
        "## Use",
        "",
        "```",
        "python examples/make_summary_film.py examples/talk.mp4",
        "vloc summarize examples/talk.mp4 examples/talk.zh.srt --to en",
        "```",
        "",
        "## Training",
        "",
        f"- data: `benchmarks/synthetic_summarization.py --films {args.films}` (generator seed 0): "
        f"{len(results['splits_films']['train'])} training films, "
        f"{len(results['splits_films']['valid'])} validation films, "
        f"{len(results['splits_films']['test'])} test films; variant full, d {args.d_model}, "
        f"{args.layers}+{args.layers} layers, at most {args.steps} steps per stage (best "
        "validation loss kept)",
        f"- recipe: {RECIPES[run.name].format(subset=args.subset)}",
        f"- video features: {info['video']['feature']}, one {info['video']['dim']}-d vector per "
        f"{info['features']['clip_len']} frames; the backbone's exact weights are "
        f"`{BACKBONE_FILE}` (sha256 `{_sha256(target / BACKBONE_FILE)}`), so features match "
        "the training ones on any machine",
        "",
        f"## Scores on the {results['n_examples'][run.name]} held-out test films",
        "",
        "| model | ROUGE-L | BLEU-4 | METEOR | topic accuracy (%) |",
        "|---|---|---|---|---|",
        *(
            f"| {n}{' (this model)' if n == run.name else ''} | {scores[n]['rougeL']:.2f} | "
            f"{scores[n]['bleu4']:.2f} | {scores[n]['meteor']:.2f} | "
            f"{results['topic_accuracy'][n]:.1f} |"
            for n in scores
        ),
        "",
        "Rows: the benchmark's four models (recipes in `benchmarks/synthetic_summarization.py`). "
        "Topic accuracy: share of summaries that describe the film's visual topic (chance: 25). "
        "The place name is not transliterated from the Chinese: the models write a place name "
        "seen in training, so that part of a summary is usually wrong.",
    ]
    atomic_write_text(target / "card.md", "\n".join(lines) + "\n")
    return target


RECIPES = {  # how each of the benchmark's models was trained (for the shipped card)
    "full": "VDF from scratch, Chinese transcripts + video → English summaries, all training films",
    "triple-stage": "stage 1: English transcripts + video → summaries on all training films; "
    "stage 2: a Chinese encoder distilled from stage 1's middle layer on the parallel "
    "transcripts; stage 3: stage 1 with that encoder, fine-tuned on the first {subset} "
    "Chinese training films",
}


def _sha256(path: Path) -> str:
    from vloc.fileio import sha256_file

    return sha256_file(path)


def _subset(how2: Path, out: Path, n_train: int) -> Path:
    """A copy of the How2 layout whose ``train`` split keeps its first ``n_train`` rows."""
    from vloc.summarizer.data import how2_splits

    out.mkdir(parents=True, exist_ok=True)
    for split in how2_splits(how2):
        for f in how2.glob(f"{split}_*.txt"):
            lines = f.read_text(encoding="utf-8").splitlines()
            if split == "train":
                lines = lines[:n_train]
            text = "".join(line + "\n" for line in lines)
            (out / f.name).write_text(text, encoding="utf-8")
    feats = out / "video_action_features"
    if not feats.exists():
        feats.symlink_to((how2 / "video_action_features").resolve())
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--films", type=int, default=80)
    p.add_argument("--subset", type=int, default=8, help="cross-lingual training films (small)")
    p.add_argument("--steps", type=int, default=1500, help="most optimizer steps per model")
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--backbone", default="x3d_m")
    p.add_argument("--width", type=float, default=0.25, help="backbone width multiplier")
    p.add_argument("--size", type=int, default=112, help="backbone input crop (px)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--ship", type=Path, help="copy a trained model here as a demo model folder")
    p.add_argument("--ship-run", default="triple-stage", choices=("full", "triple-stage"))
    p.add_argument(
        "--features-only", action="store_true", help="stop after the set and its features"
    )
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from vloc.fileio import atomic_write_json, atomic_write_text
    from vloc.summarizer.evaluate import evaluate_summarizers
    from vloc.summarizer.settings import ModelSize, StageOptions
    from vloc.summarizer.summarize import SummarizeOptions
    from vloc.summarizer.train import train_summarizer
    from vloc.synthetic import SummarizationSetOptions, make_summarization_set
    from vloc.training import TrainConfig

    torch.set_num_threads(args.threads)
    out: Path = args.out
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    set_dir = out / "set"
    if not (set_dir / "summaries.jsonl").is_file():
        make_summarization_set(set_dir, SummarizationSetOptions(films=args.films))
    timings["generate"] = round(time.perf_counter() - t0, 1)
    how2 = set_dir / "how2"
    feats_dir = how2 / "video_action_features"
    feats_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    videos = [
        v for v in sorted(set_dir.glob("*.mp4")) if not (feats_dir / f"{v.stem}.npy").is_file()
    ]
    if videos:  # the backbone stack is only needed when features are missing
        from vloc.features import FeatureOptions, extract_features, load_features
    fo = None if not videos else FeatureOptions(
        backbone=args.backbone, weights="random", seed=BACKBONE_SEED, mode="stride", width=args.width,
        size=args.size, fps=FEATURE_FPS, device=args.device, threads=args.threads,
    )  # fmt: skip
    for video in videos:
        target = feats_dir / f"{video.stem}.npy"
        r = extract_features(video, options=fo, workdir=out / "workspaces")
        fs = load_features(r.outputs["stride"])
        np.save(target, fs.pooled.astype(np.float32))
    timings["features"] = round(time.perf_counter() - t0, 1)
    if args.features_only:
        return 0
    small = _subset(how2, out / "how2-small", args.subset)

    size = ModelSize(
        d_model=args.d_model, n_heads=4, encoder_layers=args.layers, decoder_layers=args.layers,
        vocab_size=1000, max_target_len=64,
    )  # fmt: skip
    no_video = ModelSize(**{**size.__dict__, "variant": "no-video"})
    config = TrainConfig(
        optimizer="adam", lr=1e-3, warmup_steps=max(1, args.steps // 10), max_steps=args.steps,
        batch_size=8, val_every=max(1, args.steps // 6), patience=3, seed=0, device=args.device,
    )  # fmt: skip
    plan = [
        ("full", how2, StageOptions(stage="plain", src_lang="zh", size=size)),
        ("no-video", how2, StageOptions(stage="plain", src_lang="zh", size=no_video)),
        ("scratch-small", small, StageOptions(stage="plain", src_lang="zh", size=size)),
        ("stage1", how2, StageOptions(stage="1", src_lang="zh", size=size)),
        ("stage2", how2, StageOptions(stage="2", src_lang="zh", teacher=str(out / "stage1"),
                                      train_splits=("train",), size=size)),
        ("triple-stage", small, StageOptions(stage="3", src_lang="zh",
                                             student=str(out / "stage2"), size=size)),
    ]  # fmt: skip
    for name, data, opts in plan:
        t0 = time.perf_counter()
        r = train_summarizer(
            data, out / name, opts, config, resume=(out / name / "latest").is_file()
        )
        timings[f"train_{name}"] = round(time.perf_counter() - t0, 1)
        print(f"[{name}] {r.state.step} steps, best val loss {r.state.best:.3f}", file=sys.stderr)
    t0 = time.perf_counter()
    names = ["full", "no-video", "scratch-small", "triple-stage"]
    result = evaluate_summarizers(
        [str(out / n) for n in names], how2, splits=("test",), names=names,
        options=SummarizeOptions(beam_size=6, length_penalty=1.0, max_len=60, device=args.device),
    )  # fmt: skip
    timings["evaluate"] = round(time.perf_counter() - t0, 1)
    s = result.scores
    topic_acc = {n: topic_accuracy(result.outputs[n]) for n in names}
    claims = {
        "video_helps": s["full"]["rougeL"] - s["no-video"]["rougeL"] >= ROUGE_MARGIN,
        "triple_stage_helps": s["triple-stage"]["rougeL"] > s["scratch-small"]["rougeL"],
    }
    table = result.table()
    atomic_write_text(
        out / "results.md",
        "\n".join(
            [
                "# Synthetic cross-lingual summarization (ZH → EN, test films)",
                "",
                table,
                "",
                "Topic accuracy (% of test summaries that describe the film's visual topic; "
                f"chance 25): {json.dumps(topic_acc)}",
                "",
                f"Claims: {json.dumps(claims)}. Films: {args.films}, small subset: "
                f"{args.subset}, steps: {args.steps}, d {args.d_model}.",
                f"Timings (s): {json.dumps(timings)}",
            ]
        )
        + "\n",
    )
    atomic_write_json(
        out / "results.json",
        {**result.to_json(), "claims": claims, "topic_accuracy": topic_acc, "timings_s": timings,
         "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}},
    )  # fmt: skip
    if args.ship is not None:
        splits_films = json.loads((set_dir / "splits.json").read_text(encoding="utf-8"))
        ship_model(
            out / args.ship_run, args.ship, args,
            {**result.to_json(), "topic_accuracy": topic_acc, "splits_films": splits_films},
        )  # fmt: skip
    print(table)
    shutil.rmtree(out / "workspaces", ignore_errors=True)
    return 0 if all(claims.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
