"""The synthetic search-by-what-is-seen benchmark (``benchmarks/bench_search_seen.py`` is its
command line; ``tests/test_search_seen.py`` runs it in miniature).

1. **generate** — :func:`vloc.synthetic.retrieval.make_retrieval_set`: films whose cues sit over
   shots of 16 scenes (4 topics × 4 lights) and whose subtitles never name them: training,
   held-out and validation films.
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
   ``both-rrf`` scores the equal-weight reciprocal-rank fusion of the same two rankings.
6. **queries about what is said** — every distinct subtitle line of the held-out films quoted
   (English) or translated (Chinese, :func:`~vloc.synthetic.retrieval.line_queries`), relevant:
   the cues that say it. Here ``said`` is the informative ranking and ``seen`` is not.
7. **validation** — the same two query sets on the validation films, with the fusion's said
   weight swept over :data:`SAID_WEIGHTS`: where :data:`vloc.search.FUSE_WEIGHTS` was chosen.

Targets (on :data:`MAIN_VARIANT`): ``seen`` and ``both`` Recall@5 >= 0.9 in both languages;
``said`` Recall@5 no more than :data:`SAID_MARGIN` above chance; on queries about what is
said, ``both`` Recall@5 at most :data:`LINE_MARGIN` below ``said``. :func:`run_benchmark` writes
``OUT/results.md`` and ``OUT/results.json``; ``results["passed"]`` is false when one is missed.
Finished stages in ``OUT`` are reused (films, features, models).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vloc.synthetic.stages import cue_features, load_averages

VARIANTS: dict[str, dict[str, Any]] = {
    "en": {"languages": "en"},
    "en+zh": {"languages": "en,zh"},
    "en+zh+soft": {"languages": "en,zh", "soft_weight": 1.0},
}  # align training settings per variant (on top of BenchSettings')
MAIN_VARIANT = "en+zh"  # the variant the targets are checked on
SEEN_TARGET = 0.9  # seen and both: Recall@5 at least this, in both languages
SAID_MARGIN = 0.15  # said: Recall@5 at most chance + this
LINE_MARGIN = 0.05  # queries about what is said: both Recall@5 at least said's minus this
LANGS = ("en", "zh")
BY = ("said", "seen", "both")
RRF = "both-rrf"  # the equal-weight reciprocal-rank fusion, scored for comparison
SAID_WEIGHTS = (1.0, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)  # validation: said weights of the fusion
KS = (1, 5)  # Recall@k reported


@dataclass(frozen=True)
class SeenBenchSettings:
    """Everything that decides the benchmark's numbers (recorded in results.json)."""

    train_films: int = 40  # films whose described cues train the align models
    test_films: int = 12  # held-out films: indexed and searched
    val_films: int = 12  # validation films: searched to choose the fusion, never reported as
    # held-out
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


def feature_options(s: SeenBenchSettings) -> Any:
    """The clip-feature settings of every film (and so of every align model)."""
    from vloc.features import FeatureOptions

    return FeatureOptions(
        backbone=s.backbone, weights="random", seed=s.backbone_seed, width=s.width, fps=s.fps,
        clip_len=s.clip_len, size=s.size, grid=1, threads=1,
    )  # fmt: skip


def score_rankings(ranked: list[list[Any]], wanted: list[Any], total: int) -> dict[str, float]:
    """Recall@k and mean rank of the first relevant item.

    Args:
        ranked: per query, its hits' labels (a scene, or a (video, cue position)), best first
            (every item ranked).
        wanted: per query, the relevant label, or a set of relevant labels.
        total: items ranked per query (all searched cues).
    """
    out: dict[str, float] = {}
    firsts = []
    for hits, want in zip(ranked, wanted, strict=True):
        good = want if isinstance(want, (set, frozenset)) else {want}
        firsts.append(next((i + 1 for i, x in enumerate(hits) if x in good), total + 1))
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


Query = tuple[frozenset[tuple[str, int]], str]  # (relevant (video, cue position)s, query text)


def _scene_queries(films: list[Any], scene_queries: list[tuple[str, str]]) -> list[Query]:
    """Descriptions of scenes; relevant: every cue of ``films`` that shows the scene."""
    return [
        (
            frozenset(
                (f"{f.id}.mp4", k) for f in films for k, sc in enumerate(f.scenes) if sc == scene
            ),
            text,
        )
        for scene, text in scene_queries
    ]


def _line_queries(films: list[Any], lang: str) -> list[Query]:
    """Quotes (en) and translations (zh) of the subtitle lines; relevant: the cues saying it."""
    from vloc.synthetic.retrieval import line_queries

    return [
        (frozenset((f"{fid}.mp4", k) for fid, k in rel), text)
        for rel, text in line_queries(films, lang)
    ]


def _chance(qs: list[Query], total: int) -> dict[str, float]:
    return chance_scores([len(rel) for rel, _ in qs], total)


def _search_all(
    indexes: Any,
    encoder: Any,
    model: Any,
    bys: tuple[str, ...],
    qsets: dict[str, list[Query]],
    said_weights: tuple[float, ...] = (),
) -> dict[str, dict[str, dict[str, float]]]:
    """Every query of ``qsets`` (per language) ranked over every cue of ``indexes`` ``--by``
    each of ``bys`` (:class:`vloc.search.Searcher`, as ``vloc search`` does), plus, with
    ``both``, the equal-weight RRF of the same two rankings (:data:`RRF`) and the fusion with
    each of ``said_weights``; returns {name: {language: scores}}."""
    from vloc.search import FUSE_WEIGHTS, Searcher, fuse, rrf_fuse

    total = indexes.size
    searchers = {by: Searcher(indexes, by=by, encoder=encoder, align=model) for by in bys}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for lang, qs in qsets.items():
        ranked: dict[str, list[list[tuple[str, int]]]] = {}
        for _, text in qs:
            for by, searcher in searchers.items():
                hits = searcher.ranked(text, total)
                ranked.setdefault(by, []).append([(h.video, h.position) for h in hits])
            if "both" not in searchers:
                continue
            lists = searchers["both"].rankings(text, total)
            where = {key: (h.video, h.position) for r in lists.values() for _, key, h in r.rows}
            keys = {name: [key for _, key, _ in r.rows] for name, r in lists.items()}
            fused = rrf_fuse(keys, total)
            ranked.setdefault(RRF, []).append([where[key] for _, key, _ in fused])
            for w in said_weights:
                fused = fuse(
                    {name: [(c, key) for c, key, _ in r.rows] for name, r in lists.items()},
                    {name: r.centre for name, r in lists.items()},
                    total,
                    {**FUSE_WEIGHTS, "said": w},
                )
                ranked.setdefault(f"both, said x{w:g}", []).append([where[k] for _, k, _ in fused])
        for name, rows in ranked.items():
            out.setdefault(name, {})[lang] = score_rankings(rows, [rel for rel, _ in qs], total)
    return out


def run_benchmark(out: Path, s: SeenBenchSettings, *, log: Any = print) -> dict[str, Any]:
    """Every stage into ``out``; returns the results dict (also written as results.json)."""
    import torch

    from vloc.align.data import write_manifest
    from vloc.align.model import load_align
    from vloc.align.train import AlignTrainOptions, train_align
    from vloc.encoders import load_encoder
    from vloc.fileio import atomic_write_json, atomic_write_text
    from vloc.index import build_index
    from vloc.search import IndexSet
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
    load_before = load_averages()
    t_all = time.perf_counter()
    set_dir, ws = out / "set", out / "workspaces"

    t0 = time.perf_counter()
    opts = RetrievalSetOptions(
        train_films=s.train_films, test_films=s.test_films, cues=s.cues, seed=s.seed,
        val_films=s.val_films,
    )  # fmt: skip
    films = load_scene_truth(set_dir) if (set_dir / "truth.json").is_file() else []
    want = {"train": s.train_films, "test": s.test_films, "val": s.val_films}
    have = {sp: sum(f.split == sp for f in films) for sp in want}
    if have != want or any(not f.lines_zh for f in films):  # absent, or another set's
        films = make_retrieval_set(set_dir, opts)
    timings["generate"] = time.perf_counter() - t0
    train = [f for f in films if f.split == "train"]
    test = [f for f in films if f.split == "test"]
    val = [f for f in films if f.split == "val"]
    log(f"[generate] {len(train)} training + {len(test)} held-out + {len(val)} validation "
        f"films ({timings['generate']:.1f} s)")  # fmt: skip

    t0 = time.perf_counter()
    feats = cue_features(set_dir, (f.id for f in films), feature_options(s), ws)
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

    qs = {lang: queries(lang) for lang in LANGS}
    scores: dict[str, Any] = {}
    lines: dict[str, Any] = {}
    validation: dict[str, Any] = {}
    chance: dict[str, Any] = {}
    t0 = time.perf_counter()
    for v in s.variants:
        model = load_align(models[v])
        for split, group in (("test", test), ("val", val if v == MAIN_VARIANT else [])):
            if not group:
                continue
            for f in group:
                build_index(
                    set_dir / f"{f.id}.mp4", set_dir / f"{f.id}.en.srt", encoder=encoder,
                    workdir=ws, align=model,
                )  # fmt: skip
            indexes = IndexSet.load([ws / f"{f.id}.mp4.vloc" for f in group])
            bys = BY if v == MAIN_VARIANT else ("seen", "both")
            weights = SAID_WEIGHTS if split == "val" else ()
            scene_q = {lang: _scene_queries(group, qs[lang]) for lang in LANGS}
            got = _search_all(indexes, encoder, model, bys, scene_q, weights)
            if split == "test":
                scores[v] = got
                if v == MAIN_VARIANT:
                    chance["scenes"] = {
                        lang: _chance(scene_q[lang], indexes.size) for lang in LANGS
                    }
            if v == MAIN_VARIANT:
                line_q = {lang: _line_queries(group, lang) for lang in LANGS}
                got_lines = _search_all(indexes, encoder, model, bys, line_q, weights)
                if split == "test":
                    lines = got_lines
                    chance["lines"] = {lang: _chance(line_q[lang], indexes.size) for lang in LANGS}
                else:
                    validation = {"scenes": got, "lines": got_lines, "cues": indexes.size}
        log(f"[search] {v}: " + ", ".join(
            f"{by} {lang} R@5 {scores[v][by][lang]['R@5']:.3f}"
            for by in scores[v] for lang in LANGS))  # fmt: skip
    timings["index_search"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    total = sum(len(f.scenes) for f in test)

    main = scores[MAIN_VARIANT]
    checks = []
    for lang in LANGS:
        for by in ("seen", "both"):
            checks.append(
                (f"{by} {lang} R@5 >= {SEEN_TARGET}", main[by][lang]["R@5"] >= SEEN_TARGET)
            )
        limit = chance["scenes"][lang]["R@5"] + SAID_MARGIN
        checks.append((f"said {lang} R@5 <= chance + {SAID_MARGIN} ({limit:.3f})",
                       main["said"][lang]["R@5"] <= limit))  # fmt: skip
        floor = lines["said"][lang]["R@5"] - LINE_MARGIN
        checks.append((f"lines: both {lang} R@5 >= said - {LINE_MARGIN} ({floor:.3f})",
                       lines["both"][lang]["R@5"] >= floor))  # fmt: skip
    results = {
        "settings": asdict(s),
        "held_out": {
            "films": len(test),
            "cues": total,
            "queries_per_language": len(qs["en"]),
            "line_queries_per_language": len(_line_queries(test, "en")),
        },
        "chance": chance,
        "scores": scores,
        "lines": lines,
        "validation": validation,
        "training": train_info,
        "checks": [{"check": c, "passed": ok} for c, ok in checks],
        "passed": all(ok for _, ok in checks),
        "timings": {k: round(x, 1) for k, x in timings.items()},
        "load": {"before": load_before, "after": load_averages()},
    }
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", results_markdown(results))
    return results


def results_markdown(r: dict[str, Any]) -> str:
    """The results tables (held-out scenes and lines, validation), checks and timings."""
    h = r["held_out"]
    head = [
        "| model | --by | EN R@1 | EN R@5 | EN mean rank | ZH R@1 | ZH R@5 | ZH mean rank |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cells(d: dict[str, dict[str, float]]) -> str:
        return " | ".join(
            f"{d[lang]['R@1']:.3f} | {d[lang]['R@5']:.3f} | {d[lang]['mean_rank']:.1f}"
            for lang in LANGS
        )

    def table(chance: dict[str, Any], per_model: dict[str, dict[str, Any]]) -> list[str]:
        rows = [*head, f"| (random ranking) | chance | {cells(chance)} |"]
        for v, per in per_model.items():
            rows += [f"| {v} | {by} | {cells(d)} |" for by, d in per.items()]
        return rows

    lines = [
        f"Held-out: {h['films']} films, {h['cues']} cues; {h['queries_per_language']} scene "
        "descriptions per language (phrasings never seen in training).",
        "",
        *table(r["chance"]["scenes"], r["scores"]),
        "",
        f"Held-out, queries about what is said: {h['line_queries_per_language']} per language "
        "(EN: a subtitle line quoted; ZH: its Chinese translation); relevant: the cues saying it.",
        "",
        *table(r["chance"]["lines"], {MAIN_VARIANT: r["lines"]}),
    ]
    val = r.get("validation") or {}
    if val:
        lines += [
            "",
            f"Validation films ({val['cues']} cues; the fusion's said weight was chosen here):",
            "",
            *[x.replace("| model |", "| queries |") for x in head],
        ]
        for what in ("scenes", "lines"):
            lines += [f"| {what} | {by} | {cells(d)} |" for by, d in val[what].items()]
    lines += ["", "Checks:"]
    lines += [f"- {'PASS' if c['passed'] else 'FAIL'}: {c['check']}" for c in r["checks"]]
    t = r["timings"]
    lines += ["", "Seconds: " + ", ".join(f"{k} {x}" for k, x in t.items()), ""]
    return "\n".join(lines)


__all__ = [
    "LINE_MARGIN",
    "MAIN_VARIANT",
    "VARIANTS",
    "SeenBenchSettings",
    "chance_scores",
    "results_markdown",
    "run_benchmark",
    "score_rankings",
]
