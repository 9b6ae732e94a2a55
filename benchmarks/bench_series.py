#!/usr/bin/env python
"""Series memory on real documentaries: an episode translated with the series' earlier work.

    python benchmarks/bench_series.py OUT_DIR [--model qwen|gemma|PATH.gguf | --base-url URL]
        [--memory-from series|rest] [--variants none,none+m,none+g,none+g+m]
        [--context none] [--limit N] [--threads 2] [--batch-cues 20]

The episodes are the 3 held-out films of ``benchmarks/bench_engines.py`` (the last 3 TopicVD
validation films by id: World War II From the Frontlines, episodes 3, 5 and 6). Each is
translated as its own split with ``vloc eval translate --engine gguf`` (or ``openai`` at
``--base-url``), its memory being

* ``series`` — the earlier episodes of its series (episode 3: episode 2; episode 6: 2, 3, 5),
  as a subtitling house has them when the next episode comes;
* ``rest`` — every other film of the set, related or not.

Variants: ``none`` (no memory, no glossary), ``+m`` the memory (``--memory``: exact and fuzzy
matches reused verbatim, the most similar pairs as examples in the system prompt), ``+g`` the
glossary mined from the memory's films (``vloc glossary mine``, unreviewed), ``+g+m`` both.
Reported over all episodes: BLEU and chrF (sacrebleu ``zh``), term consistency (names
rendered as the reference renders them), memory matches, a paired bootstrap of each variant
against ``none``. Journals go to ``OUT_DIR/journals``, so an interrupted run resumes.

This is heavy (Qwen2.5-Coder-1.5B over 821 cues × 4 variants: hours on 2 CPU cores); use
``--limit`` for a quick look. Skips (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import topicvd_missing
from bench_engines import DEFAULT_DATA, TEST_FILMS, gemma_model, paired_bootstrap, qwen_model
from glossary_precision import titles

VARIANTS = "none,none+m,none+g,none+g+m"


def _write_manifest(path: Path, docs: list[dict], test_id: str | None = None) -> Path:
    rows = [{**d, "split": "test" if d["id"] == test_id else "train"} for d in docs]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def prepare(out: Path, data: Path, memory_from: str) -> list[dict]:
    """Per episode: its manifest, its memory manifest and the glossary mined from it."""
    from vloc.glossary.mine import mine_glossary
    from vloc.translator.topicvd import import_topicvd

    manifest = out / "topicvd.jsonl"
    if not manifest.is_file():
        import_topicvd(data, manifest)
    docs = [json.loads(x) for x in manifest.read_text("utf-8").splitlines() if x.strip()]
    docs.sort(key=lambda d: d["id"])
    title = titles(data)
    episodes = []
    for ep in docs[-TEST_FILMS:]:
        if memory_from == "series":
            memory = [d for d in docs if title.get(d["id"]) == title.get(ep["id"])]
            memory = [d for d in memory if d["id"] < ep["id"]]  # the earlier episodes
        else:
            memory = [d for d in docs if d["id"] != ep["id"]]
        folder = out / memory_from / ep["id"]
        folder.mkdir(parents=True, exist_ok=True)
        mem = _write_manifest(folder / "memory.jsonl", memory)
        glossary = folder / "glossary.tsv"
        if not glossary.is_file():  # mined once: a resumed run keeps the glossary it began with
            mine_glossary([mem], glossary, source_lang="en", target_lang="zh")
        episodes.append(
            {
                "id": ep["id"],
                "manifest": _write_manifest(folder / "episode.jsonl", docs, ep["id"]),
                "memory": mem,
                "memory_films": [d["id"] for d in memory],
                "glossary": glossary,
            }
        )
    return episodes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", default="qwen", help="qwen | gemma | a .gguf path | server id")
    ap.add_argument("--base-url", default=None, help="an OpenAI-compatible endpoint instead")
    ap.add_argument("--memory-from", choices=("series", "rest"), default="series")
    ap.add_argument("--variants", default=VARIANTS)
    ap.add_argument("--context", default="none", help="--context of every variant")
    ap.add_argument("--limit", type=int, default=None, help="first N cues of each episode")
    ap.add_argument("--batch-cues", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if topicvd_missing(args.data):
        return 0
    from vloc.engines import EngineOptions, GGUFSettings, OpenAISettings
    from vloc.engines.evaluate import evaluate_engine, term_consistency
    from vloc.metrics import translation_scores
    from vloc.translator.data import read_manifest
    from vloc.translator.evaluate import select_examples

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    episodes = prepare(out, args.data, args.memory_from)
    if args.base_url:
        engine: OpenAISettings | GGUFSettings = OpenAISettings(
            base_url=args.base_url, model=args.model
        )
    else:
        cache = out / "cache"
        cache.mkdir(exist_ok=True)
        pick = {"gemma": gemma_model, "qwen": qwen_model}.get(args.model)
        engine = GGUFSettings(str(pick(cache) if pick else Path(args.model)),
                              threads=args.threads)  # fmt: skip
    rows: dict[str, dict] = {}
    for variant in args.variants.split(","):
        extras = set(variant.split("+")[1:])
        got: dict[str, list] = defaultdict(list)
        memory_counts = {"exact": 0, "fuzzy": 0}
        t0 = time.perf_counter()
        for ep in episodes:
            opts = EngineOptions(
                engine, context=args.context, batch_cues=args.batch_cues,
                glossary=str(ep["glossary"]) if "g" in extras else None,
            )  # fmt: skip
            _, _, details = evaluate_engine(
                opts, ep["manifest"], split="test", journal_dir=out / "journals",
                limit=args.limit, memory=[str(ep["memory"])] if "m" in extras else (),
            )  # fmt: skip
            docs = read_manifest(ep["manifest"])  # the scored cues, in evaluate_engine's order
            scored = select_examples(docs, "test", {}, 0)[: len(details["hyps"])]
            got["hyps"] += details["hyps"]
            got["refs"] += details["refs"]
            got["srcs"] += [docs[e.doc].cues[e.cue].source for e in scored]
            got["films"] += [ep["id"]] * len(scored)
            for k, v in (details.get("memory") or {}).items():
                memory_counts[k] += v
        scores = translation_scores(got["hyps"], got["refs"], "zh")
        terms = term_consistency(got["srcs"], got["hyps"], got["refs"], got["films"])
        rows[variant] = {**scores, "terms": terms, "memory": memory_counts, **got,
                         "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
        r = rows[variant]
        print(f"{variant}: BLEU {r['bleu']:.2f} chrF {r['chrf']:.2f} names {terms['reference']:.2f} "
              f"memory {memory_counts} ({r['seconds']} s)", flush=True)  # fmt: skip
    summary = {v: {k: x for k, x in r.items() if k not in ("hyps", "refs", "srcs", "films")}
               for v, r in rows.items()}  # fmt: skip
    base = rows.get("none")
    print(f"\nmemory from: {args.memory_from}; episodes: {', '.join(e['id'] for e in episodes)}")
    print(
        "| variant | BLEU | chrF | names as reference | memory exact / fuzzy | BLEU vs none (95 %) |"
    )
    print("|---|---|---|---|---|---|")
    for v, r in rows.items():
        vs = ""
        if base is not None and v != "none" and len(base["hyps"]) == len(r["hyps"]):
            b = paired_bootstrap(base["hyps"], r["hyps"], r["refs"])
            summary[v]["vs_none"] = b
            vs = f"{b['delta']:+.2f} ({b['ci95'][0]:+.2f} … {b['ci95'][1]:+.2f})"
        m = r["memory"]
        print(f"| {v} | {r['bleu']:.2f} | {r['chrf']:.2f} | {r['terms']['reference']:.2f} "
              f"| {m['exact']} / {m['fuzzy']} | {vs} |")  # fmt: skip
    (out / f"series-{args.memory_from}.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), "utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
