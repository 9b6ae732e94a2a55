"""The translator's training manifest, its splits, the TopicVD importer and the task's batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vloc.errors import InputError
from vloc.translator.data import (
    Cue,
    Documentary,
    SplitOptions,
    read_manifest,
    split_documentaries,
    write_manifest,
)
from vloc.translator.topicvd import import_topicvd, read_topicvd


def _record(doc_id: str = "film", **extra) -> dict:
    rec = {
        "id": doc_id,
        "source_lang": "en",
        "target_lang": "zh",
        "cues": [
            {"index": 1, "start": 0.0, "end": 1.5, "source": "The pond.", "target": "池塘。"},
            {"index": 2, "start": 1.5, "end": 3.0, "source": "It is dry.", "target": "干了。"},
        ],
    }
    rec.update(extra)
    return rec


def _write(path: Path, *records) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_manifest_round_trip_and_relative_paths(tmp_path):
    (tmp_path / "feats").mkdir()
    path = _write(
        tmp_path / "m.jsonl",
        "# a comment",
        _record("a", split="train", features="feats/a.safetensors"),
        "",
        _record("b", video="/abs/b.mkv"),
    )
    docs = read_manifest(path)
    assert [d.id for d in docs] == ["a", "b"]
    assert docs[0].features == (tmp_path / "feats" / "a.safetensors").resolve()
    assert docs[0].split == "train" and docs[1].split is None
    assert docs[1].video == Path("/abs/b.mkv")
    assert docs[0].cues[1] == Cue(2, 1.5, 3.0, "It is dry.", "干了。")
    again = write_manifest(tmp_path / "copy.jsonl", docs)
    assert read_manifest(again) == docs
    assert '"features": "feats/a.safetensors"' in again.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({k: v for k, v in _record().items() if k != "cues"}), "missing field 'cues'"),
        (json.dumps(_record(split="dev")), "split 'dev' is not one of"),
        (json.dumps(_record(extra=1)), "unknown fields ['extra']"),
        (json.dumps(_record(cues=[])), "has no cues"),
        (json.dumps(_record(id=3)), "field 'id' has the wrong type"),
        (
            json.dumps(
                _record(cues=[{"index": 1, "start": 2, "end": 1, "source": "a", "target": "b"}])
            ),
            "0 <= start <= end",
        ),  # fmt: skip
        (
            json.dumps(_record(cues=[{"index": 1, "start": 0, "end": 1, "source": "a"}])),
            "cue 1: missing field 'target'",
        ),  # fmt: skip
    ],
)
def test_manifest_errors_name_file_and_line(tmp_path, line, message):
    path = _write(tmp_path / "m.jsonl", _record("ok"), line)
    with pytest.raises(InputError) as e:
        read_manifest(path)
    assert f"{path}:2" in str(e.value) and message in str(e.value)


def test_manifest_duplicate_ids_languages_and_empty(tmp_path):
    with pytest.raises(InputError, match="already used on line 1"):
        read_manifest(_write(tmp_path / "d.jsonl", _record("a"), _record("a")))
    with pytest.raises(InputError, match="differ from the first record"):
        read_manifest(_write(tmp_path / "l.jsonl", _record("a"), _record("b", target_lang="de")))
    with pytest.raises(InputError, match="no documentaries"):
        read_manifest(_write(tmp_path / "e.jsonl", "# nothing"))
    with pytest.raises(InputError, match="manifest not found"):
        read_manifest(tmp_path / "missing.jsonl")


def _doc(doc_id: str, n: int, split: str | None = None) -> Documentary:
    cues = tuple(Cue(k, k, k + 1, f"s{k}", f"t{k}" if k != 3 else "") for k in range(n))
    return Documentary(doc_id, "en", "zh", cues, split=split)


def test_splits_hold_out_last_films_and_a_valid_slice():
    docs = [_doc("c", 10), _doc("a", 10), _doc("b", 10), _doc("x", 4, split="train")]
    s = split_documentaries(docs, SplitOptions(test_films=1, valid_fraction=0.2))
    assert s.films == {"train": ["a", "b", "x"], "valid": [], "test": ["c"]}
    # cue 3 has no target: never an example; 9 usable cues per 10-cue film, 20 % → 2 held out
    test = [(docs[e.doc].id, e.cue) for e in s.examples["test"]]
    assert test == [("c", k) for k in range(10) if k != 3]
    valid = [(docs[e.doc].id, e.cue) for e in s.examples["valid"]]
    assert valid == [("a", 8), ("a", 9), ("b", 8), ("b", 9), ("x", 2)]
    assert len(s.examples["train"]) == 7 + 7 + 2
    s2 = split_documentaries(docs, SplitOptions(test_films=1, valid_films=1))
    assert s2.films["valid"] == ["b"] and len(s2.examples["valid"]) == 9
    with pytest.raises(InputError, match="only 3 documentaries"):
        split_documentaries(docs, SplitOptions(test_films=3, valid_films=1))


def _topicvd(folder: Path, info: list[str], en: list[str], zh: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in (("valid.info", info), ("valid.en", en), ("valid.zh", zh)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_topicvd_import_groups_orders_and_writes_srt(tmp_path):
    folder = _topicvd(
        tmp_path / "tv",
        [
            "B/Film B.mkv\t00:00:05,000\t00:00:06,500\t2\tNature\t90.1",
            "A_dir/A.mp4\t00:00:01,000\t00:00:02,000\t1\tEconomy\t80",
            "B/Film B.mkv\t00:00:01,250\t00:00:02,000\t1\tNature\t90.1",
            "B/Film B.mkv\t00:00:09,000\t00:00:08,000\t3\tNature\t90.1",  # ends before it starts
        ],
        [" Second  line. ", "Alpha.", "First line.", "Third."],
        ["第二行。", "阿尔法。", "第一行。", "第三。"],
    )
    docs = read_topicvd(folder)
    assert [d.id for d in docs] == ["A", "Film_B"]  # sorted by video path, safe names
    b = docs[1]
    assert [c.index for c in b.cues] == [1, 2, 3]
    assert b.cues[0] == Cue(1, 1.25, 2.0, "First line.", "第一行。")
    assert b.cues[1].source == "Second line."  # whitespace normalised
    assert b.cues[2].start == b.cues[2].end == 9.0
    res = import_topicvd(folder, tmp_path / "out" / "m.jsonl", srt_dir=tmp_path / "srt")
    assert (res.documentaries, res.cues, len(res.srt_files)) == (2, 4, 4)
    assert read_manifest(res.manifest) == docs
    srt = (tmp_path / "srt" / f"{b.id}.zh.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:01,250 --> 00:00:02,000\n第一行。\n\n2\n")


def test_topicvd_import_errors(tmp_path):
    good = ["A/a.mp4\t00:00:01,000\t00:00:02,000\t1\tT\t1"]
    folder = _topicvd(tmp_path / "short", good, ["a", "b"], ["甲"])
    with pytest.raises(InputError, match="2 lines but valid.info has 1"):
        read_topicvd(folder)
    folder = _topicvd(tmp_path / "cols", ["A/a.mp4\t00:00:01,000"], ["a"], ["甲"])
    with pytest.raises(InputError, match=r"valid.info:1: expected 6 tab-separated columns"):
        read_topicvd(folder)
    folder = _topicvd(tmp_path / "time", ["A/a.mp4\t1.5\t00:00:02,000\t1\tT\t1"], ["a"], ["甲"])
    with pytest.raises(InputError, match="not an SRT time"):
        read_topicvd(folder)
    with pytest.raises(InputError, match="TopicVD file not found"):
        read_topicvd(tmp_path / "nowhere")


def test_task_batches_text_and_gathered_video():
    from vloc.index import FilmContext
    from vloc.tokenization import train_tokenizer
    from vloc.translator.config import TranslatorConfig
    from vloc.translator.data import TranslationTask
    from vloc.translator.model import Translator

    docs = [_doc("a", 6), _doc("b", 5)]
    splits = split_documentaries(docs, SplitOptions(valid_fraction=0.2))
    texts = [c for d in docs for c in d.cues]
    src = train_tokenizer([c.source for c in texts], vocab_size=300, lang="en")
    tgt = train_tokenizer([c.target for c in texts if c.target], vocab_size=300, lang="zh")
    cfg = TranslatorConfig(
        src.vocab_size, tgt.vocab_size, variant="no-gr-no-tvss", d_model=16, ffn_dim=32,
        n_heads=2, encoder_layers=1, decoder_layers=1, video_dim=8, video_regions=2,
        visual_dim=16, segments=3,
    )  # fmt: skip
    rng = np.random.default_rng(0)

    def loader(doc, config):
        n = len(doc.cues)
        segments = rng.normal(size=(n, 2, 8)).astype(np.float16)  # (N, R, D)
        ids = np.full((n, 3), -1, dtype=np.int64)
        ids[:, 0] = np.arange(n)
        ids[1:, 1] = np.arange(n - 1)
        return FilmContext("temporal", ids, segments)

    task = TranslationTask(splits, cfg, src, tgt, video_loader=loader)
    idx = [0, 1, len(task.lengths("train")) - 1]
    batch = task.collate("train", idx, "cpu")
    assert batch.src.shape[0] == 3 and batch.video.shape == (3, 3, 2, 8)
    ex = splits.examples["train"]
    film = task.films[ex[1].doc]
    np.testing.assert_allclose(
        batch.video[1, :2].numpy(), film.segments[[ex[1].cue, ex[1].cue - 1]].astype(np.float32)
    )
    assert batch.video_mask[1].tolist() == [True, True, False]
    assert float(batch.video[1, 2].abs().sum()) == 0.0
    assert (batch.tgt_in[:, 0] == tgt.bos_id).all()
    loss, n = task.loss(Translator(cfg), batch)
    assert n == int((batch.tgt_out != 0).sum()) and loss.item() > 0
    metrics = task.validate(Translator(cfg).eval())
    assert set(metrics) == {"loss", "ppl"} and metrics["loss"] > 0
