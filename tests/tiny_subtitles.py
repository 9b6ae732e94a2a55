"""Subtitle texts and files for tests: SRT/WebVTT documents, the tiny translator's language,
films for search, aligned episode pairs and training manifests, all written offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------- documents

# three cues with tags (italics, font colour, an ASS position override)
SRT = """1
00:00:01,000 --> 00:00:02,500
Hello there.

2
00:00:03,000 --> 00:00:04,000
<i>Two</i> lines,
<font color="#ff0000">red</font>

3
00:00:05,000 --> 00:00:06,250
{\\an8}On top.

"""

# two plain cues, 1 s each
TWO_CUES_SRT = (
    "1\n00:00:00,000 --> 00:00:01,000\nThe lions rest.\n\n"
    "2\n00:00:01,000 --> 00:00:02,000\nThe river floods.\n"
)

# Simplified and Traditional Chinese, two cues each
ZH_SRT = """1
00:00:01,000 --> 00:00:02,000
罗马是古代世界 最大最美的城市。

2
00:00:02,500 --> 00:00:04,000
我们强烈建议您和孩子离开观众席！

"""

TW_SRT = """1
00:00:01,000 --> 00:00:02,000
羅馬是古代世界，最大最美的城市。

2
00:00:02,500 --> 00:00:04,000
這是哪裡？我們來看看你帶了什麼。

"""

# a WebVTT file with every block kind: header, NOTE, STYLE, REGION, identifiers, settings
VTT = """WEBVTT - a film
Kind: captions
Language: en

NOTE This is a comment
that spans lines

STYLE
::cue { color: yellow }

REGION
id:fred width:40%

intro
00:01.000 --> 00:02.500 align:start position:10%
<v Roger>Hello</v>

00:00:03.000 --> 00:00:04.000
Two
lines

NOTE between cues

7
00:00:05.000 --> 00:00:06.000 line:0
Last
"""

# overlapping (2/3), zero-length (4), unsorted (5 before 4 in time), empty (6), tags (2, 3, 7)
TRICKY_SRT = """1
00:00:00,000 --> 00:00:01,000
The river begins high in the mountains.

2
00:00:00,800 --> 00:00:01,600
<i>Every spring
the snow melts.</i>

3
00:00:01,500 --> 00:00:02,000
{\\an8}Far below, the <b>delta</b> spreads.

4
00:00:02,500 --> 00:00:02,500
Birds gather.

5
00:00:02,000 --> 00:00:02,400
In summer the source runs dry.

6
00:00:02,600 --> 00:00:02,900


7
00:00:02,900 --> 00:00:03,000
<i>The water slows.</i>

"""


# ---------------------------------------------------------------- the tiny translator's language

# what the tokenizers of tiny_models.build_tiny_translator are trained on
EN = [
    "The river begins high in the mountains.",
    "Every spring the snow melts.",
    "Far below, the delta spreads across the plain.",
    "Birds gather where the water slows.",
    "In summer the source runs dry.",
]
ZH = [
    "河流发源于高山。",
    "每年春天积雪融化。",
    "在下游，三角洲铺满平原。",
    "候鸟在水流变缓的地方聚集。",
    "夏天，源头干涸了。",
]


# ---------------------------------------------------------------- files


def write_srt(path: Path, texts: list[str], step_ms: int = 2500) -> Path:
    """An SRT file of ``texts``, cue k from k·step to (k + 1)·step − 100 ms."""
    blocks = []
    for i, t in enumerate(texts):
        a, b = i * step_ms, i * step_ms + step_ms - 100
        ts = [
            f"{x // 3_600_000:02d}:{x // 60_000 % 60:02d}:{x // 1000 % 60:02d},{x % 1000:03d}"
            for x in (a, b)
        ]
        blocks.append(f"{i + 1}\n{ts[0]} --> {ts[1]}\n{t}\n")
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


# three films' subtitles on three topics, to be indexed into one archive and searched
FILMS = {
    "savanna.mp4": [
        "The lions rest in the shade of the acacia.",
        "A dry waterhole cracks under the sun.",
        "Elephants walk for days to find water.",
    ],
    "ice.mkv": [
        "Scientists measure the ice of the glacier.",
        "The glacier loses a metre every year.",
        "Birds migrate south when the winter comes.",
        "The sea ice melts earlier each spring.",
    ],
    "money.mp4": [
        "Bankers sold houses to families who could not pay.",
        "The market crashed and the factories closed.",
    ],
}

# one aligned English–Chinese episode of a war documentary series: names that recur
EPISODE = [
    ("General Rommel landed in Tripoli.", "隆美尔将军在的黎波里登陆。"),
    ("The desert was hot.", "沙漠很热。"),
    ("Over the hills the tanks rolled.", "坦克越过山丘。"),
    ("Rommel wanted Tobruk.", "隆美尔想要托布鲁克。"),
    ("The men were tired.", "士兵们很累。"),
    ("Water was scarce.", "水很稀缺。"),
    ("Then Rommel attacked Tobruk again.", "随后隆美尔再次进攻托布鲁克。"),
    ("It was over quickly.", "很快就结束了。"),
    ("Over and over they tried.", "他们一次又一次尝试。"),
    ("The siege of Tobruk went on.", "托布鲁克之围仍在继续。"),
    ("Nobody slept that night.", "那晚没人睡觉。"),
    ("Supplies came by sea.", "补给从海上运来。"),
    ("The British held the port.", "英国人守住了港口。"),
    ("Dust covered everything.", "尘土覆盖了一切。"),
    ("They called Rommel the Desert Fox.", "他们称隆美尔为沙漠之狐。"),
    ("The war went on.", "战争仍在继续。"),
]


def _ts(ms: int) -> str:
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_pair(folder: Path, name: str, rows, *, shift_ms: int = 0) -> tuple[Path, Path]:
    """``NAME.en.srt`` + ``NAME.zh.srt`` with one cue per row, 2 s each (the target shifted)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang, side, shift in (("en", 0, 0), ("zh", 1, shift_ms)):
        blocks = [
            f"{i}\n{_ts(i * 2000 + shift)} --> {_ts(i * 2000 + 1900 + shift)}\n{row[side]}\n"
            for i, row in enumerate(rows, start=1)
        ]
        path = folder / f"{name}.{lang}.srt"
        path.write_text("\n".join(blocks), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


# ---------------------------------------------------------------- manifests


def write_test_manifest(path: Path, sources: list[str], *, films: int = 2) -> Path:
    """A JSONL manifest of ``films`` test films, each of the non-empty ``sources`` as its cues
    (cue k from k s to k + 0.9 s) with the references 参考0, 参考1, ..."""
    cues = [
        {"index": i + 1, "start": i, "end": i + 0.9, "source": s, "target": f"参考{i}"}
        for i, s in enumerate(c for c in sources if c)
    ]
    docs = [{"id": f"film{k}", "source_lang": "en", "target_lang": "zh", "split": "test",
             "cues": cues} for k in range(films)]  # fmt: skip
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


COLOURS = [("red", "红"), ("green", "绿"), ("blue", "蓝"), ("black", "黑"), ("white", "白")]
THINGS = [("fish", "鱼"), ("bird", "鸟"), ("tree", "树"), ("river", "河")]
# the sizes that train a video variant of the translator in seconds (`train_translator` overrides)
TINY_VIDEO_TRAINING = {
    "d_model": 16, "ffn_dim": 32, "n_heads": 2, "encoder_layers": 1, "decoder_layers": 1,
    "video_dim": 16, "video_regions": 4, "visual_dim": 16, "segments": 3, "select_k": 2,
    "src_vocab": 300, "tgt_vocab": 300,
}  # fmt: skip


def colour_corpus(tmp_path: Path, films: int = 3, cues: int = 24) -> Path:
    """A colour-and-thing language: "the red fish." → "红色的鱼。", one cue per pair; the
    manifest is ``tmp_path/data/manifest.jsonl``."""
    from vloc.translator.data import Cue, Documentary, write_manifest

    docs = []
    for f in range(films):
        items = []
        for k in range(cues):
            (c_en, c_zh), (t_en, t_zh) = (
                COLOURS[(k + f) % len(COLOURS)],
                THINGS[(k // len(COLOURS) + f) % len(THINGS)],
            )
            items.append(Cue(k + 1, 2.0 * k, 2.0 * k + 1.5, f"The {c_en} {t_en}.",
                             f"{c_zh}色的{t_zh}。"))  # fmt: skip
        docs.append(Documentary(f"film{f}", "en", "zh", tuple(items)))
    return write_manifest(tmp_path / "data" / "manifest.jsonl", docs)


def with_random_features(manifest: Path, rng: np.random.Generator) -> tuple[Path, list]:
    """Give every film of ``manifest`` a per-cue feature file in the store's format (random
    region features: (N, R = 4, D = 16) float16, grid 2 × 2, backbone i3d_r50) beside it;
    rewrites the manifest and returns it with its films."""
    from safetensors.numpy import save_file

    from vloc.translator.data import Documentary, read_manifest, write_manifest

    docs = []
    for d in read_manifest(manifest):
        feats = manifest.parent / f"{d.id}.safetensors"
        regions = rng.normal(size=(len(d.cues), 4, 16)).astype(np.float16)  # (N, R, D)
        save_file({"pooled": regions.mean(axis=1), "regions": regions}, str(feats))
        shapes = {"pooled": [len(d.cues), 16], "regions": [len(d.cues), 4, 16]}
        meta = {"kind": "cues", "backbone": "i3d_r50", "grid": 2, "shapes": shapes}
        feats.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
        docs.append(Documentary(d.id, "en", "zh", d.cues, features=feats))
    return write_manifest(manifest, docs), docs
