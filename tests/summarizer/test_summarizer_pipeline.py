"""The summarizer pipeline: How2-MCLS import, plain and triple-stage training, resume,
`vloc summarize`, `vloc eval summarize` — on tiny hand-made data (and the real demo rows)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from vloc.cli.evaluate import summarize as eval_summarize
from vloc.cli.summarize import summarize
from vloc.cli.train import summarize as train_summarize
from vloc.errors import InputError
from vloc.summarizer.data import import_how2, load_video_features
from vloc.summarizer.settings import ModelSize, StageOptions
from vloc.summarizer.train import train_summarizer
from vloc.training import TrainConfig

DIM = 16  # video feature width of the tiny data (real How2 features: 2048)
TOPICS = {  # (portuguese words, english words, summary) per topic
    "guitar": (
        "a guitarra tem cordas e afinação e você toca acordes",
        "the guitar has strings and tuning and you play chords",
        "learn how to tune a guitar in this free music video .",
    ),
    "hair": (
        "corte as camadas do cabelo cacheado com a tesoura",
        "cut the layers of the curly hair with the scissors",
        "learn to cut layers in curly hair from a stylist .",
    ),
    "wine": (
        "o vinho espumante da espanha chama se cava e tem bolhas",
        "the sparkling wine of spain is called cava and has bubbles",
        "learn about spanish sparkling wines from a sommelier .",
    ),
}


def _write(path: Path, rows: list[str], final_newline: bool = False) -> None:
    path.write_text("\n".join(rows) + ("\n" if final_newline else ""), encoding="utf-8")


def make_how2(root: Path, *, seed: int = 0, steps: int = 12) -> Path:
    """A tiny How2-MCLS folder: pretrain (English only) 6, train 6, val 3, test 3 rows; each
    topic's video features cluster around its own random prototype."""
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    protos = {t: torch.randn(DIM, generator=g) for t in TOPICS}
    (root / "video_action_features").mkdir(parents=True)
    k = 0
    for split, n, langs in (
        ("pretrain", 6, ("en",)),
        ("train", 6, ("en", "pt")),
        ("val", 3, ("en", "pt")),
        ("test", 3, ("en", "pt")),
    ):
        ids, cols = [], {lang: [] for lang in langs}
        sums = []
        for i in range(n):
            topic = list(TOPICS)[i % len(TOPICS)]
            pt, en, summary = TOPICS[topic]
            vid = f"vid{k:03d}-{topic}"
            k += 1
            ids.append(vid)
            reps = rng.randint(1, 3)
            if "pt" in cols:
                cols["pt"].append(" ".join([pt] * reps))
            cols["en"].append(" ".join([en] * reps))
            sums.append(summary)
            feats = protos[topic] + 0.1 * torch.randn(steps + i, DIM, generator=g)
            np.save(root / "video_action_features" / f"{vid}.npy", feats.numpy())
        _write(root / f"{split}_action.txt", ids)  # no final newline, as in the real files
        for lang, col in cols.items():
            _write(root / f"{split}_art_{lang}.txt", col, final_newline=True)
        _write(root / f"{split}_sum.txt", sums)
    return root


def tiny_size(**kw) -> ModelSize:
    base = dict(
        d_model=16,
        n_heads=2,
        encoder_layers=2,
        decoder_layers=2,
        dropout=0.1,
        vocab_size=300,
        max_source_len=64,
        max_video_len=32,
        max_target_len=32,
    )
    return ModelSize(**{**base, **kw})


def tiny_train(**kw) -> TrainConfig:
    base = dict(
        optimizer="adam",
        lr=3e-3,
        schedule="constant",
        warmup_steps=0,
        max_steps=12,
        batch_size=3,
        val_every=6,
        patience=100,
        seed=0,
    )
    return TrainConfig(**{**base, **kw})


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def how2(tmp_path_factory) -> Path:
    return make_how2(tmp_path_factory.mktemp("how2") / "data")


@pytest.fixture(scope="module")
def stages(how2, tmp_path_factory) -> dict[str, Path]:
    """plain, stage 1, 2 and 3 trained once on the tiny data."""
    out = tmp_path_factory.mktemp("runs")
    torch.set_num_threads(1)  # module fixtures run before the per-test thread limit
    runs = {}
    for stage, extra in (
        ("plain", {}),
        ("1", {}),
        ("2", {"teacher": str(out / "1")}),
        ("3", {"student": str(out / "2")}),
    ):
        opts = StageOptions(stage=stage, size=tiny_size(), **extra)
        train_summarizer(how2, out / stage, opts, tiny_train())
        runs[stage] = out / stage
    return runs


# ------------------------------------------------------------------------------ importer


def test_import_reads_rows_languages_and_features(how2):
    data = import_how2(how2)
    assert list(data) == ["pretrain", "train", "val", "test"]
    assert [len(v) for v in data.values()] == [6, 6, 3, 3]  # the unterminated last row counts
    assert set(data["pretrain"][0].transcripts) == {"en"}
    row = data["train"][1]
    assert set(row.transcripts) == {"en", "pt"} and row.video_id == "vid007-hair"
    assert row.transcripts["pt"].startswith("corte as camadas")
    assert row.summary == TOPICS["hair"][2]
    assert row.features == how2 / "video_action_features" / "vid007-hair.npy"
    feats, steps = load_video_features(row.features, dim=DIM, max_steps=5)
    assert feats.shape == (5, DIM) and steps == 13  # pooled visibly: the caller gets T back


def test_import_errors_name_the_file(how2, tmp_path):
    bad = tmp_path / "bad"
    make_how2(bad)
    _write(bad / "val_sum.txt", ["only one"])
    with pytest.raises(InputError, match=r"val_sum\.txt: 1 rows but val_action\.txt lists 3"):
        import_how2(bad)
    (bad / "video_action_features" / "vid015-guitar.npy").unlink()
    with pytest.raises(InputError, match=r"vid015-guitar\.npy: feature file of row 1"):
        import_how2(bad, splits=["test"])
    with pytest.raises(InputError, match="split 'dev' not found"):
        import_how2(how2, splits=["dev"])
    with pytest.raises(InputError, match="no <split>_action.txt"):
        import_how2(tmp_path)


@pytest.mark.realdata
def test_import_the_real_how2_demo(shared_data):
    data = import_how2(shared_data / "how2-mcls-demo")
    # the files lack a final newline: `wc -l` says 9/3/1/1, there are 10/4/2/2 rows (18 files)
    assert {k: len(v) for k, v in data.items()} == {"pretrain": 10, "train": 4, "val": 2, "test": 2}
    assert all(set(r.transcripts) == {"en"} for r in data["pretrain"])
    assert all(set(r.transcripts) == {"en", "pt"} for r in data["test"])
    assert data["test"][0].video_id == "G33aqW3DLpc"
    assert data["test"][0].summary.startswith("wash off a facial scrub cream")
    feats, steps = load_video_features(data["test"][0].features, dim=2048)
    assert feats.shape == (173, 2048) and feats.dtype == np.float32 and steps == 173


# ------------------------------------------------------------------------------ training


def test_plain_training_learns_and_exports_a_model(stages):
    best = stages["plain"] / "best"
    for name in ("config.json", "model.safetensors", "card.md", "summarizer.json"):
        assert (best / name).is_file(), name
    assert (best / "src_tokenizer" / "tokenizer.json").is_file()
    info = json.loads((best / "summarizer.json").read_text())
    assert (info["stage"], info["src_lang"], info["tgt_lang"]) == ("plain", "pt", "en")
    assert info["video"]["dim"] == DIM
    card = (best / "card.md").read_text()
    assert "Plain training" in card and "6 pt → en examples" in card
    history = [h["loss"] for h in _history(stages["plain"])]
    vocab = json.loads((best / "config.json").read_text())["tgt_vocab_size"]
    # below a uniform guess over the summary vocabulary, and still falling
    assert history[-1] < history[0] and history[-1] < np.log(vocab) - 0.5, history


def _history(out: Path) -> list[dict]:
    latest = (out / "latest").read_text().strip()
    state = torch.load(out / latest / "trainer_state.pt", weights_only=True)
    return state["state"]["history"]


def test_truncation_is_reported_with_counts(how2, tmp_path):
    warnings: list[str] = []
    opts = StageOptions(stage="plain", size=tiny_size(max_source_len=12))
    result = train_summarizer(
        how2, tmp_path / "r", opts, tiny_train(max_steps=1), warn=warnings.append
    )
    assert any(
        w.startswith("training data: 6 of 6 transcripts were longer than 12 tokens")
        for w in warnings
    ), warnings
    assert result.warnings == warnings


def test_triple_stage(stages):
    from vloc.summarizer.summarize import load_model_folder

    s1 = load_model_folder(stages["1"] / "best")
    assert s1.src_lang == "en" and s1.model.config.share_embeddings
    s2_info = json.loads((stages["2"] / "best" / "summarizer.json").read_text())
    assert s2_info["stage"] == "2" and s2_info["layer"] == 1  # "middle" of 2 layers
    assert (stages["2"] / "best" / "student.safetensors").is_file()
    hist2 = [h["loss"] for h in _history(stages["2"])]
    assert hist2[-1] < hist2[0], hist2  # the student gets closer to the teacher
    s3 = load_model_folder(stages["3"] / "best")
    assert (s3.src_lang, s3.tgt_lang) == ("pt", "en")
    assert s3.src_tok.to_str() != s1.src_tok.to_str()  # the student's Portuguese vocabulary
    assert s3.model.config.src_vocab_size == s3.src_tok.vocab_size
    assert s3.tgt_tok.to_str() == s1.tgt_tok.to_str()  # the teacher's decoder side is kept
    # stage 3 starts from the teacher with the student's encoder: decoder and video weights
    # are the stage-1 teacher's, the source embeddings the student's
    from vloc.summarizer.train import _swapped_from_student

    start, *_ = _swapped_from_student(stages["2"])
    teacher = s1.model.state_dict()
    for key, value in start.state_dict().items():
        if key.startswith(("decoder.", "video.", "fusion")):
            assert torch.equal(value, teacher[key]), key
    assert start.encoder.embed.tokens.weight.shape[0] == s3.src_tok.vocab_size
    with pytest.raises(InputError, match="stage-2 distillation output"):
        load_model_folder(stages["2"] / "best")


def test_stage_inputs_are_required(how2, stages, tmp_path):
    with pytest.raises(InputError, match="--teacher"):
        train_summarizer(how2, tmp_path / "a", StageOptions(stage="2"), tiny_train())
    with pytest.raises(InputError, match="--student must be a stage-2"):
        train_summarizer(
            how2, tmp_path / "b", StageOptions(stage="3", student=str(stages["1"])), tiny_train()
        )
    with pytest.raises(InputError, match="teacher reads 'pt'"):
        train_summarizer(
            how2,
            tmp_path / "c",
            StageOptions(stage="2", teacher=str(stages["plain"])),
            tiny_train(),
        )


def test_resume_after_a_kill_is_exact(how2, tmp_path):
    opts = StageOptions(stage="plain", size=tiny_size())
    train_summarizer(how2, tmp_path / "full", opts, tiny_train(max_steps=10, val_every=4))
    train_summarizer(how2, tmp_path / "part", opts, tiny_train(max_steps=4, val_every=4))
    # a new process: tokenizers and shape come back from the checkpoint
    r = train_summarizer(
        how2, tmp_path / "part", opts, tiny_train(max_steps=10, val_every=4), resume=True
    )
    assert r.state.step == 10
    from safetensors.torch import load_file

    a = load_file(tmp_path / "full" / "checkpoints" / "step-00000010" / "model.safetensors")
    b = load_file(tmp_path / "part" / "checkpoints" / "step-00000010" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ------------------------------------------------------------------------------------- CLI


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("summarize")(summarize)
    app.command("train")(train_summarize)
    app.command("eval")(eval_summarize)
    return app


SRT = (
    "1\n00:00:01,000 --> 00:00:03,000\n<i>a guitarra tem cordas</i>\n\n"
    "2\n00:00:03,500 --> 00:00:05,000\n{\\an8}e você toca acordes\n"
)


def test_cli_summarize_writes_markdown_and_json(stages, how2, tmp_path):
    subs = tmp_path / "film.pt.srt"
    subs.write_text(SRT, encoding="utf-8")
    npy = how2 / "video_action_features" / "vid006-guitar.npy"
    argv = ["summarize", str(tmp_path / "film.mp4"), str(subs), "--to", "en"]
    argv += ["--model", str(stages["3"]), "--features", str(npy), "--beam", "3", "--json"]
    r = CliRunner().invoke(cli(), argv)
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    md = (tmp_path / "film.en.summary.md").read_text()
    assert payload["output"] == str(tmp_path / "film.en.summary.md")
    assert md.startswith("# Summary (en)\n\n" + payload["summary"] + "\n")
    assert payload["summary"].strip()
    assert payload["source"]["cues"] == 2 and payload["source"]["features"]["steps"] == 12
    assert payload["model"]["stage"] == "3" and payload["decoding"]["beam"] == 3
    assert "stage 3" in md and "12 feature steps" in md


def test_cli_summarize_bad_inputs_exit_1_with_one_line(stages, how2, tmp_path):
    subs = tmp_path / "film.pt.srt"
    subs.write_text(SRT, encoding="utf-8")
    npy = how2 / "video_action_features" / "vid006-guitar.npy"
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((4, DIM + 1), np.float32))
    video = str(tmp_path / "film.mp4")
    cases = {
        "not found": ["--model", "no-such-model", "--features", str(npy)],
        "summarizes into 'en' only": ["--model", str(stages["3"]), "--features", str(npy)],
        "17-d but the model expects 16": ["--model", str(stages["3"]), "--features", str(wrong)],
        "video not found": ["--model", str(stages["3"])],
        "distillation output": ["--model", str(stages["2"]), "--features", str(npy)],
    }
    for message, extra in cases.items():
        to = "zh" if "only" in message else "en"
        r = CliRunner().invoke(cli(), ["summarize", video, str(subs), "--to", to, *extra])
        assert r.exit_code == 1, (message, r.output)
        # the tiny model knows few of these words: the coverage warning may precede the error
        lines = [x for x in r.output.splitlines() if x.strip() and "does not know" not in x]
        assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.output
    r = CliRunner().invoke(
        cli(), ["summarize", video, str(tmp_path / "none.srt"), "--to", "en", "--features", str(npy),
                "--model", str(stages["3"])],
    )  # fmt: skip
    assert r.exit_code == 1 and "subtitle file not found" in r.output
    assert not (tmp_path / "film.en.summary.md").exists()


def test_cli_eval_table(stages, how2, tmp_path):
    table = tmp_path / "scores.md"
    argv = ["eval", "--model", str(stages["3"]), "--model", str(stages["plain"])]
    argv += ["--data", str(how2), "--split", "test", "--table", str(table), "--json"]
    argv += ["--beam", "2", "--max-len", "12"]
    r = CliRunner().invoke(cli(), argv)
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert list(payload["scores"]) == ["3", "plain"]
    keys = ["bleu1", "bleu2", "bleu3", "bleu4", "rouge1", "rouge2", "rougeL", "meteor", "cider"]
    assert list(payload["scores"]["3"]) == keys
    assert payload["n_examples"] == {"3": 3, "plain": 3}
    assert all(0.0 <= v <= 1000.0 for v in payload["scores"]["plain"].values())
    text = table.read_text()
    assert text.startswith("| variant | bleu1 |") and "| plain |" in text
    assert len(payload["outputs"]["plain"]) == 3


def test_cli_train_and_bad_inputs(how2, tmp_path, stages):
    argv = ["train", "--data", str(how2), "--out", str(tmp_path / "run"), "--max-steps", "2"]
    for setting in ("d_model=16", "layers=1", "n_heads=2", "vocab_size=300", "val_every=2"):
        argv += ["--config", setting]
    argv += ["--config", '{"warmup_steps": 0, "batch_size": 3}', "--json"]
    r = CliRunner().invoke(cli(), argv)
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert payload["steps"] == 2 and payload["stage"] == "plain" and payload["n_valid"] == 3
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()
    again = CliRunner().invoke(cli(), argv)  # the folder holds a run: needs --resume
    assert again.exit_code == 1 and "--resume" in again.output
    for extra, message in (
        (["--stage", "2"], "--teacher"),
        (["--stage", "3", "--student", str(tmp_path / "none")], "--student not found"),
        (["--stage", "4"], "unknown stage"),
        (["--stage", "2", "--teacher", str(stages["1"]), "--config", "layer=9"], "layer 9:"),
        (["--config", "heads=2"], "unknown setting 'heads'"),
    ):
        r = CliRunner().invoke(
            cli(), ["train", "--data", str(how2), "--out", str(tmp_path / "x"), *extra]
        )
        assert r.exit_code == 1, (extra, r.output)
        assert message in r.output and r.output.count("\n") == 1, r.output
    r = CliRunner().invoke(cli(), ["train", "--data", str(tmp_path), "--out", str(tmp_path / "y")])
    assert r.exit_code == 1 and "no <split>_action.txt" in r.output


def test_long_videos_are_pooled_visibly(stages, tmp_path):
    from vloc.summarizer.summarize import SummarizeOptions, load_model_folder, summarize_batch

    loaded = load_model_folder(stages["plain"] / "best")
    long = np.random.default_rng(0).normal(size=(40, DIM)).astype(np.float32)  # model keeps 32
    warnings: list[str] = []
    out = summarize_batch(
        loaded, ["a guitarra tem cordas"], [long], SummarizeOptions(beam_size=2, max_len=5),
        warn=warnings.append,
    )  # fmt: skip
    assert out.video_steps == [40] and len(out.texts) == 1
    assert warnings == [
        "1 of 1 videos had more than 32 feature steps and were average-pooled to 32 (longest 40)"
    ]


def test_cli_summarize_without_features_needs_backbone_weights(stages, tmp_path):
    from tiny_films import make_video

    video = make_video(tmp_path / "film.mp4", seconds=1.0, size="64x48")
    subs = tmp_path / "film.pt.srt"
    subs.write_text(SRT, encoding="utf-8")
    argv = ["summarize", str(video), str(subs), "--to", "en", "--model", str(stages["3"])]
    argv += ["--weights-dir", str(tmp_path / "weights")]
    r = CliRunner().invoke(cli(), argv)
    assert r.exit_code == 1, r.output
    assert "resnext101_3d" in r.output and str(tmp_path / "weights") in r.output, r.output
    errors = [x for x in r.output.splitlines() if "does not know" not in x]  # coverage warning
    assert len(errors) == 1, r.output
    assert not (tmp_path / "film.en.summary.md").exists()


def test_transcripts_join_chinese_cues_without_spaces(tmp_path):
    from vloc.summarizer.summarize import join_texts, transcript_from_subtitles

    assert join_texts(["很少有人听说过。", "", "没有人料到"]) == "很少有人听说过。没有人料到"
    assert join_texts(["in the", "river", "卡罗米", "Karomi"]) == "in the river 卡罗米 Karomi"
    srt = tmp_path / "talk.zh.srt"
    srt.write_text(
        "1\n00:00:01,000 --> 00:00:02,000\n很少有人\n听说过卡罗米。\n\n"
        "2\n00:00:02,500 --> 00:00:04,000\n<i>卡罗米</i>随着季节而变化。\n",
        encoding="utf-8",
    )
    got = transcript_from_subtitles(srt)
    assert got["text"] == "很少有人听说过卡罗米。卡罗米随着季节而变化。" and got["cues"] == 2
