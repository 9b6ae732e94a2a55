#!/usr/bin/env python
"""Compare vloc's embedded sentence encoders for subtitle search (CPU, no network).

    python benchmarks/bench_encoders.py [--data ../shared/data/topicvd-valid] [--json OUT]
        [--encoders all-MiniLM-L6-v2 use-multilingual-v3]

For every encoder it prints

* **load**: a fresh interpreter that imports vloc's encoder module, loads the encoder and
  embeds one sentence (what ``vloc search`` pays once);
* **speed**: sentences/s embedding every English and every Chinese TopicVD line (10,428 each,
  one call per language, the encoder's own batching and thread settings), and the median
  time of one short query;
* **English retrieval**
  - *paraphrases*: the hand-written paraphrase queries of the index and encoder tests
    (``tests/test_index.py``, ``tests/test_encoders.py``), English query → English cues of a
    small film; top-1 correct;
  - *film queries*: 36 hand-written English queries about what one of the 18 real TopicVD
    documentaries shows (two per film, written from the films' titles and subjects before any
    encoder was run), searched over all 10,428 English lines of the 18 films at once; top-1
    hit from the intended film, and the share of the top 10 from it;
  - *same-film neighbours*: for every English line, the share of its 10 nearest other lines
    that come from the same film (a proxy for topical coherence; all real data);
* **cross-lingual retrieval** (real data): for each film, each English line as the query
  against that film's Chinese lines (the aligned translation is the right answer): top-1 and
  MRR, per film and pooled; and the same from Chinese to English. A right answer tied with
  another line (duplicate Chinese lines) counts as rank 1 + the lines scoring strictly higher.

Skips (exit 0) when the TopicVD folder is absent. Nothing is written except ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "topicvd-valid"
ENCODERS = ("all-MiniLM-L6-v2", "use-multilingual-v3")
NEIGHBOURS = 10  # k of the same-film neighbour share and of the film-query precision
QUERY_REPEATS = 20  # single-query timings per encoder (median reported)
SIM_BLOCK = 1024  # query rows per similarity block (bounds memory at 1024 × 10,428 floats)

# English paraphrase queries of the tests: (cues, {query: acceptable 0-based positions})
PARAPHRASE_SETS = [
    (
        [  # tests/test_index.py TEXTS, tags removed as the index embeds them
            "The lions rest in the shade of the acacia.",
            "A dry waterhole cracks under the sun.",
            "Elephants walk for days to find water.",
            "The river floods the plain every spring.",
            "The lions rest in the shade of the acacia.",
            "Scientists measure the ice of the glacier.",
            "Birds migrate south when the winter comes.",
        ],
        {"a big cat sleeping under a tree": {0, 4}, "ice in the mountains": {5}},
    ),
    (
        [  # the English of tests/test_encoders.py's Chinese film
            "The lions rest in the shade of the acacia trees.",
            "The dry waterhole cracks under the burning sun.",
            "The elephants walked for days to look for water.",
            "Every spring the river floods the plain.",
            "Scientists measure the thickness of the glacier.",
            "When winter comes, the birds migrate south.",
            "The banks sold houses to families who could not pay.",
            "After the factory closed, the workers lost their jobs.",
        ],
        {
            "a big cat sleeping under a tree": {0},
            "the water hole has dried up in the heat": {1},
            "elephants search for water": {2},
            "the plain is under water every year": {3},
            "ice in the mountains": {4},
            "birds fly to warmer places for the winter": {5},
            "families lost their homes to the banks": {6},
            "workers lose their jobs when the plant shuts down": {7},
        },
    ),
]

# film queries: (query, substrings of the video path that make a hit right)
FILM_QUERIES = [
    ("a Chinese company opens a glass plant in Ohio", ["American.Factory"]),
    ("the workers try to form a union", ["American.Factory"]),
    ("a young jazz singer from London becomes famous", ["Amy.2015"]),
    ("she drinks too much and photographers follow her everywhere", ["Amy.2015"]),
    ("astronauts walk on the surface of the moon", ["Apollo.11"]),
    ("the rocket lifts off from the launch pad", ["Apollo.11"]),
    ("banks take away people's houses", ["Capitalism"]),
    ("wall street gambles with other people's money", ["Capitalism"]),
    ("a couple runs a gay bookstore that sells adult magazines", ["Circus.of.Books"]),
    ("the AIDS epidemic kills many of their friends", ["Circus.of.Books"]),
    ("chickens raised in crowded dark barns", ["Food_Inc"]),
    ("corn ends up in almost everything we eat", ["Food_Inc"]),
    ("racism in america", ["I.Am.Not.Your.Negro"]),
    ("the civil rights leaders who were murdered", ["I.Am.Not.Your.Negro"]),
    ("chimpanzees in the forest", ["Jane.2017"]),
    ("a young woman studies wild apes in Africa", ["Jane.2017"]),
    ("the chef makes sushi with fresh fish", ["Jiro.Dreams"]),
    ("an apprentice trains for years before he may cook", ["Jiro.Dreams"]),
    ("plants in the rainforest compete for light", ["Green.Planet.1of5"]),
    ("vines climb the tallest trees of the jungle", ["Green.Planet.1of5"]),
    ("plants that grow in rivers and lakes", ["Green.Planet.2of5"]),
    ("a giant water lily opens its flower at night", ["Green.Planet.2of5"]),
    ("trees lose their leaves in autumn", ["Green.Planet.3of5"]),
    ("flowers bloom when the snow melts in spring", ["Green.Planet.3of5"]),
    ("a cactus survives with almost no rain", ["Green.Planet.4of5"]),
    ("seeds wait in the dry sand for a storm", ["Green.Planet.4of5"]),
    ("people cut down forests for farmland", ["Green.Planet.5of5"]),
    ("plants growing in cities and gardens", ["Green.Planet.5of5"]),
    ("Germany and Japan conquer large territories", ["S01E02"]),
    ("Hitler's armies sweep across Europe", ["S01E02"]),
    ("the German army is beaten in Russia in the winter", ["S01E03"]),
    ("the tide of the war turns against the Axis", ["S01E03"]),
    ("soldiers land on the beach", ["S01E05"]),
    ("paratroopers drop behind enemy lines at night before the landings", ["S01E05"]),
    ("the Soviet army captures Berlin", ["S01E06"]),
    ("the atomic bomb ends the war with Japan", ["S01E06"]),
]


def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def cold_load(name: str) -> dict:
    """Fresh interpreter: import the encoder module, load ``name``, embed one sentence."""
    code = (
        "import json, time; t0 = time.perf_counter()\n"
        "from vloc.encoders import load_encoder\n"
        f"enc = load_encoder({name!r}); t1 = time.perf_counter()\n"
        "enc.encode(['warm up']); t2 = time.perf_counter()\n"
        "print(json.dumps({'load_s': t1 - t0, 'first_encode_s': t2 - t1}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def ranks(queries, docs, right) -> list[int]:
    """1-based rank of ``docs[right[i]]`` for each query row (unit rows; ties count against)."""
    import numpy as np

    out = []
    for s in range(0, len(queries), SIM_BLOCK):
        sim = queries[s : s + SIM_BLOCK] @ docs.T  # (B, N)
        want = right[s : s + SIM_BLOCK]
        target = sim[np.arange(len(want)), want]
        out.extend((1 + (sim > target[:, None]).sum(axis=1)).tolist())
    return out


def read_data(src: Path) -> list[dict]:
    """Films in path order: {video, en: [...], zh: [...]} (aligned lines, in cue order)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from topicvd_to_srt import read_films

    en, zh = read_films(src, "en"), read_films(src, "zh")
    films = []
    for video in sorted(en):
        films.append(
            {
                "video": video,
                "en": [" ".join(c[3].split()) for c in en[video]],
                "zh": [" ".join(c[3].split()) for c in zh[video]],
            }
        )
    return films


def bench(name: str, films: list[dict]) -> dict:
    import numpy as np

    from vloc.encoders import QUERY_THREADS, load_encoder
    from vloc.text import plain_text

    res: dict = {"encoder": name, "cold": cold_load(name)}
    enc = load_encoder(name)
    res["dim"], res["sha256"] = enc.dim, enc.sha256
    enc.encode(["warm up"])
    emb = {}
    for lang in ("en", "zh"):
        texts = [t for f in films for t in f[lang]]
        t0 = time.perf_counter()
        emb[lang] = enc.encode(texts)  # (N, D) unit rows, films concatenated
        res[f"{lang}_sentences_per_s"] = len(texts) / (time.perf_counter() - t0)
    times = []
    for i in range(QUERY_REPEATS):
        t0 = time.perf_counter()
        enc.encode([FILM_QUERIES[i % len(FILM_QUERIES)][0]], threads=QUERY_THREADS)
        times.append((time.perf_counter() - t0) * 1000)
    res["query_ms"] = statistics.median(times)

    # English: the tests' paraphrases
    right = total = 0
    for cues, queries in PARAPHRASE_SETS:
        c = enc.encode([plain_text(t) for t in cues])
        q = enc.encode(list(queries))
        for row, want in zip(q @ c.T, queries.values(), strict=True):
            right += int(np.argmax(row)) in want
            total += 1
    res["paraphrase_top1"] = [right, total]

    # English: film queries over all films
    owner = np.array([i for i, f in enumerate(films) for _ in f["en"]])  # (N,) film of each line
    q = enc.encode([t for t, _ in FILM_QUERIES])
    top1 = prec = 0.0
    per_query = []
    for (text, keys), row in zip(FILM_QUERIES, q @ emb["en"].T, strict=True):
        ok = {i for i, f in enumerate(films) if any(k in f["video"] for k in keys)}
        assert ok, f"no film matches {keys}"
        best = np.argsort(-row, kind="stable")[:NEIGHBOURS]
        hit = int(owner[best[0]]) in ok
        share = float(np.mean([int(owner[b]) in ok for b in best]))
        top1, prec = top1 + hit, prec + share
        per_query.append({"query": text, "top1": hit, "precision": share})
    res["film_query_top1"] = top1 / len(FILM_QUERIES)
    res["film_query_precision"] = prec / len(FILM_QUERIES)
    res["film_queries"] = per_query

    # English: same-film share of each line's nearest other lines
    e = emb["en"]
    same = 0
    for s in range(0, len(e), SIM_BLOCK):
        sim = e[s : s + SIM_BLOCK] @ e.T
        sim[np.arange(len(sim)), np.arange(s, s + len(sim))] = -np.inf  # not the line itself
        nn = np.argpartition(-sim, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
        same += int((owner[nn] == owner[s : s + len(sim), None]).sum())
    res["same_film_neighbours"] = same / (len(e) * NEIGHBOURS)

    # cross-lingual, per film
    per_film, all_en_zh, all_zh_en = [], [], []
    start = 0
    for f in films:
        n = len(f["en"])
        en, zh = emb["en"][start : start + n], emb["zh"][start : start + n]
        start += n
        right_ids = np.arange(n)
        r_ez, r_ze = ranks(en, zh, right_ids), ranks(zh, en, right_ids)
        all_en_zh += r_ez
        all_zh_en += r_ze
        per_film.append(
            {
                "video": f["video"],
                "cues": n,
                "en_zh_top1": float(np.mean(np.array(r_ez) == 1)),
                "en_zh_mrr": float(np.mean(1.0 / np.array(r_ez))),
                "zh_en_top1": float(np.mean(np.array(r_ze) == 1)),
                "zh_en_mrr": float(np.mean(1.0 / np.array(r_ze))),
            }
        )
    res["films"] = per_film
    for key, rs in (("en_zh", all_en_zh), ("zh_en", all_zh_en)):
        a = np.array(rs)
        res[f"{key}_top1"] = float(np.mean(a == 1))
        res[f"{key}_mrr"] = float(np.mean(1.0 / a))
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description="compare vloc's embedded sentence encoders")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--encoders", nargs="+", default=list(ENCODERS))
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    if not (args.data / "valid.info").is_file():
        print(f"SKIP: {args.data} not found (real data absent)")
        return 0
    films = read_data(args.data)
    lines = sum(len(f["en"]) for f in films)
    print(f"{len(films)} TopicVD films, {lines} aligned English/Chinese lines; {load_avg()}")
    results = []
    for name in args.encoders:
        r = bench(name, films)
        results.append(r)
        print(f"\n== {name} ({r['dim']}-d, sha256 {r['sha256'][:12]})  [{load_avg()}]")
        print(
            f"load (fresh process, import + load) {r['cold']['load_s']:.2f} s, first encode "
            f"{r['cold']['first_encode_s'] * 1000:.0f} ms; embedding {r['en_sentences_per_s']:.0f} "
            f"English / {r['zh_sentences_per_s']:.0f} Chinese sentences/s; one query "
            f"{r['query_ms']:.1f} ms"
        )
        p = r["paraphrase_top1"]
        print(
            f"English: tests' paraphrases {p[0]}/{p[1]} top-1; film queries top-1 "
            f"{r['film_query_top1']:.1%}, top-{NEIGHBOURS} from the right film "
            f"{r['film_query_precision']:.1%}; same-film share of {NEIGHBOURS} nearest lines "
            f"{r['same_film_neighbours']:.1%}"
        )
        print(
            f"cross-lingual (pooled over {lines} lines): EN->ZH top-1 {r['en_zh_top1']:.1%} "
            f"MRR {r['en_zh_mrr']:.3f}; ZH->EN top-1 {r['zh_en_top1']:.1%} MRR {r['zh_en_mrr']:.3f}"
        )
        print(f"  {'cues':>5}  {'EN->ZH top-1':>12}  {'MRR':>5}  {'ZH->EN top-1':>12}  film")
        for f in r["films"]:
            print(
                f"  {f['cues']:5d}  {f['en_zh_top1']:12.1%}  {f['en_zh_mrr']:5.3f}  "
                f"{f['zh_en_top1']:12.1%}  {Path(f['video']).name[:60]}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nafter: {load_avg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
