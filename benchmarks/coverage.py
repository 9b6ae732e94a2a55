#!/usr/bin/env python
"""Measure the coverage check (:mod:`vloc.coverage`) on the demo films and on real films.

    python benchmarks/coverage.py [--data ../shared/data] [--films 40] [--json]

For each shipped model, the share of unknown words (words its source tokenizer cannot spell as
one learned symbol) in:

* ``synth-en-zh``: the example film's subtitles (``examples/film.en.srt``), ``--films`` further
  held-out synthetic translation films (generator seed 0, films 500 on; the model was trained on
  films 0–199), and the 18 TopicVD validation films' English subtitles;
* ``synth-zh-en-summary``: the example transcript (``examples/talk.zh.srt``), ``--films``
  held-out synthetic summarization films (films 500 on; trained on 0–79), the TopicVD films'
  Chinese subtitles and the How2-MCLS demo's Portuguese transcripts;
* for reference, a model trained on real subtitles: a BPE tokenizer trained (as
  ``benchmarks/topicvd_text_only.py`` does: 4,000 English ids, 3,000 Chinese) on 15 TopicVD
  films and measured on the other 3.

Prints one row per group (min–max over its films) and PASS/FAIL: every demo film must pass the
check and every real film must fail it with the demo models. Real data is skipped, with a
message, when ``--data`` is absent. Text only: no video, no torch; about 10 s.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
HELD_OUT_FIRST = 500  # first generator index of the held-out synthetic films
TRANSLATION_BLOCKS = 3  # the shipped translator's training films cross-cut places in 3 runs
TEST_FILMS = 3  # TopicVD films held out from the reference tokenizer (the last 3 by name)
REFERENCE_VOCAB = {"en": 4000, "zh": 3000}  # benchmarks/topicvd_text_only.py's BPE sizes


def topicvd_films(folder: Path, lang: str) -> dict[str, list[str]]:
    """Video name → its cue texts in ``lang`` (``scripts/topicvd_to_srt.py``'s grouping)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from topicvd_to_srt import read_films

    films = read_films(folder, lang)
    return {Path(video).name: [c[3] for c in cues] for video, cues in sorted(films.items())}


def synthetic_translation(n: int) -> list[list[str]]:
    from vloc.synthetic import TranslationSetOptions
    from vloc.synthetic.translation import plan_film

    options = TranslationSetOptions(seed=0, blocks=TRANSLATION_BLOCKS, video=False)
    out = []
    for i in range(HELD_OUT_FIRST, HELD_OUT_FIRST + n):
        film, _ = plan_film(i, options)
        out.append([c.en for c in film.cues])
    return out


def synthetic_summarization(n: int) -> list[list[str]]:
    from vloc.synthetic import SummarizationSetOptions
    from vloc.synthetic.summarization import plan_summary_film

    options = SummarizationSetOptions(seed=0, video=False)
    return [
        [c["zh"] for c in plan_summary_film(i, options)[0].cues]
        for i in range(HELD_OUT_FIRST, HELD_OUT_FIRST + n)
    ]


def subtitle_texts(path: Path) -> list[str]:
    from vloc.subtitles import read_subtitles

    return [c.text for c in read_subtitles(path).cues]


def how2_transcripts(folder: Path, lang: str) -> list[list[str]]:
    rows = []
    for f in sorted(folder.glob(f"*_art_{lang}.txt")):
        rows += [[line] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--films", type=int, default=100, help="held-out synthetic films per model")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args()

    from vloc.coverage import UNKNOWN_SHARE_LIMIT, measure
    from vloc.tokenization import Tokenizer, train_tokenizer

    translator = Tokenizer.load(ROOT / "models" / "synth-en-zh" / "src_tokenizer")
    summarizer = Tokenizer.load(ROOT / "models" / "synth-zh-en-summary" / "src_tokenizer")
    rows: list[dict] = []

    def group(name: str, model: str, tok: Tokenizer, films: list[list[str]], demo: bool) -> None:
        shares = [measure(tok, texts).share for texts in films]
        words = [measure(tok, texts).words for texts in films]
        ok = all(s <= UNKNOWN_SHARE_LIMIT for s in shares) == demo and (
            demo or all(s > UNKNOWN_SHARE_LIMIT for s in shares)
        )
        rows.append(
            {
                "input": name,
                "model": model,
                "films": len(films),
                "words": sum(words),
                "min": round(min(shares), 4),
                "max": round(max(shares), 4),
                "expect": "pass" if demo else "fail",
                "ok": ok,
            }
        )

    # each shipped model on its example film and on held-out synthetic films: all must pass
    for model, tok, example, synthetic in (
        ("synth-en-zh", translator, "film.en.srt", ("translation", synthetic_translation)),
        ("synth-zh-en-summary", summarizer, "talk.zh.srt",
         ("summarization", synthetic_summarization)),
    ):  # fmt: skip
        group(f"examples/{example}", model, tok, [subtitle_texts(ROOT / "examples" / example)],
              True)  # fmt: skip
        group(f"synthetic {synthetic[0]} films", model, tok, synthetic[1](args.films), True)

    topicvd, how2 = args.data / "topicvd-valid", args.data / "how2-mcls-demo"
    notes: list[str] = []
    if topicvd.is_dir():
        en, zh = topicvd_films(topicvd, "en"), topicvd_films(topicvd, "zh")
        group("TopicVD films, English", "synth-en-zh", translator, list(en.values()), False)
        group("TopicVD films, Chinese", "synth-zh-en-summary", summarizer, list(zh.values()),
              False)  # fmt: skip
        for lang, films in (("en", en), ("zh", zh)):
            names = sorted(films)
            train = [t for n in names[:-TEST_FILMS] for t in films[n]]
            ref = train_tokenizer(train, vocab_size=REFERENCE_VOCAB[lang], lang=lang)
            held = [films[n] for n in names[-TEST_FILMS:]]
            shares = [measure(ref, texts).share for texts in held]
            rows.append(
                {
                    "input": f"TopicVD, {TEST_FILMS} held-out films, {lang}",
                    "model": f"BPE, other 15 ({REFERENCE_VOCAB[lang]} ids)",
                    "films": len(held),
                    "words": sum(measure(ref, t).words for t in held),
                    "min": round(min(shares), 4),
                    "max": round(max(shares), 4),
                    "expect": "reference",
                    "ok": True,
                }
            )
    else:
        notes.append(f"skipped TopicVD: {topicvd} is absent")
    if how2.is_dir():
        group("How2 transcripts, Portuguese", "synth-zh-en-summary", summarizer,
              how2_transcripts(how2, "pt"), False)  # fmt: skip
    else:
        notes.append(f"skipped How2: {how2} is absent")

    passed = all(r["ok"] for r in rows)
    if args.json:
        print(json.dumps({"limit": UNKNOWN_SHARE_LIMIT, "rows": rows, "pass": passed}))
        return 0 if passed else 1
    pct: Callable[[float], str] = lambda x: f"{100 * x:.1f} %"  # noqa: E731
    print(f"unknown-word share per film; the check passes at <= {pct(UNKNOWN_SHARE_LIMIT)}")
    for r in rows:
        verdict = {True: "PASS", False: "FAIL"}[r["ok"]] if r["expect"] != "reference" else "    "
        print(
            f"{verdict}  {r['input']:<36} {r['model']:<26} {r['films']:>3} films "
            f"{r['words']:>7,} words  {pct(r['min'])} – {pct(r['max'])}"
            + ("" if r["expect"] == "reference" else f"  (should {r['expect']})")
        )
    for note in notes:
        print(note)
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
