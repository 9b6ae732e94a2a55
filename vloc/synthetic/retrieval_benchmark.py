"""The synthetic search-by-what-is-seen benchmark (``benchmarks/bench_search_seen.py`` is its
command line; ``tests/test_search_seen.py`` runs it in miniature).

1. **generate** — :func:`vloc.synthetic.retrieval.make_retrieval_set`: films whose cues sit over
   shots of 16 scenes (4 topics × 4 lights) and whose subtitles never name them.
2. **features** — per-cue clip features of every film (:func:`vloc.features.extract_features`;
   default ``x3d_m`` at width 0.25 with seeded RANDOM weights, 64 px, 8 frames at 5 fps).
3. **manifest** — the training films' cues with TRAIN-phrasing descriptions in English and
   their Chinese translations (:func:`~vloc.synthetic.retrieval.training_descriptions`).
4. **train** — one align model per variant (:data:`VARIANTS`): ``en`` (English only: what the
   multilingual encoder gives Chinese for free), ``en+zh`` (MKTVR: translations as extra
   positives), ``en+zh+soft`` (plus LECCR's softened matching, ``soft_weight``).
5. **index + search** — the held-out films indexed with each model
   (:func:`vloc.index.build_index` with ``align``), then every QUERY-phrasing description (never
   seen in training), in English and Chinese, searched ``--by said``, ``seen`` and ``both``
   (:class:`vloc.search.Searcher`) over all held-out films. A hit is relevant when its cue
   shows the query's scene. Recall@1/@5 (share of queries with a relevant moment in the top 1
   / 5), mean rank of the first relevant moment, and the same for a random ranking (chance).

Targets (on :data:`MAIN_VARIANT`): ``seen`` and ``both`` Recall@5 >= 0.9 in both languages;
``said`` Recall@5 no more than :data:`SAID_MARGIN` above chance. :func:`run_benchmark` writes
``OUT/results.md`` and ``OUT/results.json``; ``results["passed"]`` is false when one is missed.
Finished stages in ``OUT`` are reused (films, features, models).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    "en": {"languages": "en"},
    "en+zh": {"languages": "en,zh"},
    "en+zh+soft": {"languages": "en,zh", "soft_weight": 1.0},
}  # align training settings per variant (on top of BenchSettings')
MAIN_VARIANT = "en+zh"  # the variant the targets are checked on
SEEN_TARGET = 0.9  # seen and both: Recall@5 at least this, in both languages
SAID_MARGIN = 0.15  # said: Recall@5 at most chance + this
LANGS = ("en", "zh")
BY = ("said", "seen", "both")
KS = (1, 5)  # Recall@k reported


@dataclass(frozen=True)
class SeenBenchSettings:
    """Everything that decides the benchmark's numbers (recorded in results.json)."""

    train_films: int = 40  # films whose described cues train the align models
    test_films: int = 12  # held-out films: indexed and searched
    cues: tuple[int, int] = (10, 14)  # fewest and most cues per film
    seed: int = 0  # generator seed
    descriptions: int = 6  # TRAIN-phrasing descriptions per training cue (EN + ZH each)
    backbone: str = "x3d_m"
    width: float = 0.25  # backbone width multiplier
    size: int = 64  # crop (px)
    fps: float = 5.0  # decode rate (frames/s)
    clip_len: int = 8  # frames per cue clip
    backbone_seed: int = 0  # seed of the random backbone weights
    encoder: str = "use-multilingual-v3"  # the multilingual text encoder (and the said index's)
    steps: int = 600  # align optimizer steps per variant
    batch_size: int = 64
    train_seed: int = 0
    variants: tuple[str, ...] = tuple(VARIANTS)  # trained and scored


def _load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def feature_options(s: SeenBenchSettings) -> Any:
    """The clip-feature settings of every film (and so of every align model)."""
    from vloc.features import FeatureOptions

    return FeatureOptions(
        backbone=s.backbone, weights="random", seed=s.backbone_seed, width=s.width, fps=s.fps,
        clip_len=s.clip_len, size=s.size, grid=1, threads=1,
    )  # fmt: skip


def score_rankings(ranked: list[list[str]], wanted: list[str], total: int) -> dict[str, float]:
    """Recall@k, mean rank of the first relevant item and their chance levels.

    Args:
        ranked: per query, the scenes of its hits, best first (every item ranked).
        wanted: per query, its scene.
        total: items ranked per query (all held-out cues).
    """
    out: dict[str, float] = {}
    firsts = []
    for hits, want in zip(ranked, wanted, strict=True):
        firsts.append(next((i + 1 for i, s in enumerate(hits) if s == want), total + 1))
    n = len(wanted)
    for k in KS:
        out[f"R@{k}"] = sum(r <= k for r in firsts) / n
    out["mean_rank"] = sum(firsts) / n
    return out


def chance_scores(relevant: list[int], total: int) -> dict[str, float]:
    """Recall@k and mean first-relevant rank of a random ranking, averaged over queries."""
    from vloc.synthetic.retrieval import chance_recall

    n = len(relevant)
    out = {f"R@{k}": sum(chance_recall(r, total, k) for r in relevant) / n for k in KS}
    out["mean_rank"] = sum((total + 1) / (r + 1) for r in relevant) / n
    return out


def run_benchmark(out: Path, s: SeenBenchSettings, *, log: Any = print) -> dict[str, Any]:
    """Every stage into ``out``; returns the results dict (also written as results.json)."""
    import torch

    from vloc.align.data import write_manifest
    from vloc.align.model import load_align
    from vloc.align.train import AlignTrainOptions, train_align
    from vloc.encoders import load_encoder
    from vloc.features import extract_features
    from vloc.fileio import atomic_write_json, atomic_write_text
    from vloc.index import build_index
    from vloc.search import IndexSet, Searcher
    from vloc.synthetic.retrieval import (
        RetrievalSetOptions,
        load_scene_truth,
        make_retrieval_set,
        queries,
        training_descriptions,
    )

    unknown = [v for v in s.variants if v not in VARIANTS]
    if unknown or MAIN_VARIANT not in s.variants:
        raise ValueError(f"variants must include {MAIN_VARIANT!r} and be among {list(VARIANTS)}")
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    load_before = _load()
    t_all = time.perf_counter()
    set_dir, ws = out / "set", out / "workspaces"

    t0 = time.perf_counter()
    opts = RetrievalSetOptions(
        train_films=s.train_films, test_films=s.test_films, cues=s.cues, seed=s.seed
    )
    if (set_dir / "truth.json").is_file():
        films = load_scene_truth(set_dir)
    else:
        films = make_retrieval_set(set_dir, opts)
    timings["generate"] = time.perf_counter() - t0
    train = [f for f in films if f.split == "train"]
    test = [f for f in films if f.split == "test"]
    log(f"[generate] {len(train)} training + {len(test)} held-out films "
        f"({timings['generate']:.1f} s)")  # fmt: skip

    t0 = time.perf_counter()
    fo = feature_options(s)
    feats: dict[str, Path] = {}
    for f in films:
        r = extract_features(
            set_dir / f"{f.id}.mp4", subs=set_dir / f"{f.id}.en.srt", options=fo,
            workdir=ws, warn=lambda _m: None,
        )  # fmt: skip
        feats[f.id] = r.outputs["cues"]
    timings["features"] = time.perf_counter() - t0
    log(f"[features] {len(feats)} films ({timings['features']:.1f} s)")

    rows = [
        {
            "features": str(feats[f.id].resolve()),
            "start_ms": f.spans[k][0],
            "end_ms": f.spans[k][1],
            "description_en": en,
            "description_zh": zh,
        }
        for f, k, en, zh in training_descriptions(train, s.descriptions, s.seed)
    ]
    manifest = write_manifest(out / "moments.jsonl", rows)

    encoder = load_encoder(s.encoder)
    models: dict[str, Path] = {}
    train_info: dict[str, Any] = {}
    t0 = time.perf_counter()
    for v in s.variants:
        folder = out / "models" / v.replace("+", "-")
        if not (folder / "align.json").is_file():
            options = AlignTrainOptions.from_overrides(
                {
                    **VARIANTS[v],
                    "encoder": s.encoder,
                    "steps": s.steps,
                    "batch_size": s.batch_size,
                    "seed": s.train_seed,
                }
            )
            r = train_align(manifest, folder, options, encoder=encoder)
            train_info[v] = r.to_json()
            log(f"[train] {v}: loss {r.loss:.3f} ({r.seconds:.1f} s)")
        models[v] = folder
    timings["train"] = time.perf_counter() - t0

    scene_of = {(f"{f.id}.mp4", k): sc for f in test for k, sc in enumerate(f.scenes)}
    total = len(scene_of)
    qs = {lang: queries(lang) for lang in LANGS}
    counts: dict[str, int] = {}
    for sc in scene_of.values():
        counts[sc] = counts.get(sc, 0) + 1
    chance = {
        lang: chance_scores([counts.get(sc, 0) for sc, _ in qs[lang]], total) for lang in LANGS
    }
    scores: dict[str, Any] = {}
    t0 = time.perf_counter()
    for v in s.variants:
        model = load_align(models[v])
        for f in test:
            build_index(
                set_dir / f"{f.id}.mp4", set_dir / f"{f.id}.en.srt", encoder=encoder,
                workdir=ws, align=model,
            )  # fmt: skip
        indexes = IndexSet.load([ws / f"{f.id}.mp4.vloc" for f in test])
        scores[v] = {}
        for by in BY if v == MAIN_VARIANT else ("seen", "both"):
            searcher = Searcher(indexes, by=by, encoder=encoder, align=model)
            scores[v][by] = {}
            for lang in LANGS:
                ranked = []
                for _, text in qs[lang]:
                    hits = searcher.ranked(text, total)
                    ranked.append([scene_of.get((h.video, h.position), "") for h in hits])
                scores[v][by][lang] = score_rankings(ranked, [sc for sc, _ in qs[lang]], total)
        log(f"[search] {v}: " + ", ".join(
            f"{by} {lang} R@5 {scores[v][by][lang]['R@5']:.3f}"
            for by in scores[v] for lang in LANGS))  # fmt: skip
    timings["index_search"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all

    main = scores[MAIN_VARIANT]
    checks = []
    for lang in LANGS:
        for by in ("seen", "both"):
            checks.append(
                (f"{by} {lang} R@5 >= {SEEN_TARGET}", main[by][lang]["R@5"] >= SEEN_TARGET)
            )
        limit = chance[lang]["R@5"] + SAID_MARGIN
        checks.append((f"said {lang} R@5 <= chance + {SAID_MARGIN} ({limit:.3f})",
                       main["said"][lang]["R@5"] <= limit))  # fmt: skip
    results = {
        "settings": asdict(s),
        "held_out": {"films": len(test), "cues": total, "queries_per_language": len(qs["en"])},
        "chance": chance,
        "scores": scores,
        "training": train_info,
        "checks": [{"check": c, "passed": ok} for c, ok in checks],
        "passed": all(ok for _, ok in checks),
        "timings": {k: round(x, 1) for k, x in timings.items()},
        "load": {"before": load_before, "after": _load()},
    }
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", results_markdown(results))
    return results


def results_markdown(r: dict[str, Any]) -> str:
    """The results table (one row per variant and --by), checks and timings."""
    h = r["held_out"]
    lines = [
        f"Held-out: {h['films']} films, {h['cues']} cues; {h['queries_per_language']} queries "
        "per language (phrasings never seen in training).",
        "",
        "| model | --by | EN R@1 | EN R@5 | EN mean rank | ZH R@1 | ZH R@5 | ZH mean rank |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cells(d: dict[str, dict[str, float]]) -> str:
        return " | ".join(
            f"{d[lang]['R@1']:.3f} | {d[lang]['R@5']:.3f} | {d[lang]['mean_rank']:.1f}"
            for lang in LANGS
        )

    lines.append(f"| (random ranking) | chance | {cells(r['chance'])} |")
    for v, per in r["scores"].items():
        for by, d in per.items():
            lines.append(f"| {v} | {by} | {cells(d)} |")
    lines += ["", "Checks:"]
    lines += [f"- {'PASS' if c['passed'] else 'FAIL'}: {c['check']}" for c in r["checks"]]
    t = r["timings"]
    lines += ["", "Seconds: " + ", ".join(f"{k} {x}" for k, x in t.items()), ""]
    return "\n".join(lines)


__all__ = [
    "MAIN_VARIANT",
    "VARIANTS",
    "SeenBenchSettings",
    "chance_scores",
    "results_markdown",
    "run_benchmark",
    "score_rankings",
]
