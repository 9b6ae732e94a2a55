"""Text metrics: known values, Chinese handling, input checks."""

from __future__ import annotations

import pytest

from vloc.errors import InputError
from vloc.metrics import (
    bleu,
    cider_d,
    markdown_table,
    meteor,
    rouge,
    summary_scores,
    tokenize,
    translation_scores,
)

HYPS = [
    "a man is cutting the onion on a board",
    "the woman plays guitar",
    "how to fix a bike tire quickly",
    "dogs run in the park",
]
REFS = [
    ["a man cuts an onion on a cutting board", "someone slices an onion"],
    ["a woman is playing the guitar"],
    ["how to repair a flat bicycle tire"],
    ["two dogs running in a park"],
]


def test_cider_matches_coco_caption():
    # value computed with pycocoevalcap 1.2's Cider on the same tokenised corpus
    assert cider_d(HYPS, REFS) == pytest.approx(1.6098770338755157, rel=1e-12)


def test_perfect_and_disjoint_scores():
    refs = [r[0] for r in REFS]
    perfect = summary_scores(refs, refs)
    assert perfect["bleu4"] == pytest.approx(100.0)
    assert perfect["rougeL"] == pytest.approx(100.0)
    assert perfect["meteor"] > 99.0
    disjoint = ["zebra xylophone quartz"] * 4
    assert bleu(disjoint, refs) == pytest.approx(0.0)
    assert rouge(disjoint, refs)["rouge1"] == 0.0
    assert meteor(disjoint, refs) == 0.0


def test_chinese_is_scored_per_character():
    assert tokenize("水源已经干涸了。", "zh") == list("水源已经干涸了")
    assert tokenize("Hello, world!", "en") == ["hello", "world"]
    good = translation_scores(["水源干涸了"], ["水源干涸了"], "zh")
    wrong = translation_scores(["水源干燥了"], ["水源干涸了"], "zh")
    assert good["bleu"] == pytest.approx(100.0)
    assert wrong["bleu"] < good["bleu"] and wrong["chrf"] < good["chrf"]
    assert rouge(["空气干燥"], ["空气干燥"], "zh")["rouge2"] == pytest.approx(100.0)


def test_mismatched_lengths_are_an_error():
    with pytest.raises(InputError, match="pair up"):
        bleu(["a"], ["a", "b"])
    with pytest.raises(InputError, match="nothing to score"):
        bleu([], [])


def test_markdown_table():
    table = markdown_table(
        {"full": {"bleu": 30.47, "meteor": 38.96}, "text-only": {"bleu": 19.14, "meteor": 33.95}}
    )
    assert table.splitlines() == [
        "| variant | bleu | meteor |",
        "|---|---|---|",
        "| full | 30.47 | 38.96 |",
        "| text-only | 19.14 | 33.95 |",
    ]
