"""`vloc train translate` / `vloc eval translate` end to end on a tiny corpus (seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_checks import one_error_line
from tiny_subtitles import TINY_VIDEO_TRAINING, colour_corpus, with_random_features
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.errors import InputError, WeightsError

TINY = ["d_model=32", "ffn_dim=64", "n_heads=4", "encoder_layers=1", "decoder_layers=1",
        "dropout=0.0", "src_vocab=300", "tgt_vocab=300", "max_tokens=256", "warmup_steps=10",
        "val_every=10", "lr=0.003", "test_films=1"]  # fmt: skip


def _config_args(extra: list[str] | None = None) -> list[str]:
    out = []
    for item in TINY + (extra or []):
        out += ["--config", item]
    return out


def _run(argv: list[str]):
    r = CliRunner().invoke(app, argv)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r


def test_train_resume_and_eval_table(tmp_path):
    data = colour_corpus(tmp_path)
    out = tmp_path / "run"
    base = ["train", "translate", "--data", str(data), "--out", str(out), "--variant",
            "text-only", "--seed", "3", *_config_args(), "--json"]  # fmt: skip
    # a run stopped at step 30 (as if killed after its last checkpoint), then resumed to 60
    r1 = _run([*base, "--max-steps", "30"])
    assert r1.exit_code == 0, r1.stderr
    first = json.loads(r1.stdout)
    assert first["ok"] and first["steps"] == 30 and first["stopped"] == "max_steps"
    assert first["data"].startswith("train: 46 cues from 2 films; valid: 2 cues")  # 5 % of 24
    again = _run([*base, "--max-steps", "60"])
    assert again.exit_code == 1 and "--resume" in again.stderr
    r2 = _run([*base, "--max-steps", "60", "--resume"])
    assert r2.exit_code == 0, r2.stderr
    second = json.loads(r2.stdout)
    assert second["steps"] == 60 and [h["step"] for h in second["history"]][:3] == [10, 20, 30]
    assert second["history"][-1]["loss"] < first["history"][0]["loss"]
    best = out / "best"
    for name in ("config.json", "model.safetensors", "card.md", "translator.json",
                 "src_tokenizer/tokenizer.json", "tgt_tokenizer/vloc_tokenizer.json"):  # fmt: skip
        assert (best / name).is_file(), name
    card = (best / "card.md").read_text(encoding="utf-8")
    assert "held-out test films: film2" in card and "steps: 60" in card
    info = json.loads((best / "translator.json").read_text(encoding="utf-8"))
    assert info["splits"]["test"] == ["film2"] and info["variant"] == "text-only"

    # the uninterrupted run gives the same weights as the stopped-and-resumed one
    straight = tmp_path / "straight"
    argv = [*base[:5], str(straight), *base[6:], "--max-steps", "60"]
    assert _run(argv).exit_code == 0
    from safetensors.numpy import load_file

    a = load_file(str(out / "best" / "model.safetensors"))
    b = load_file(str(straight / "best" / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    # evaluation of two models (a training run and a model folder) into one table
    table = tmp_path / "scores.md"
    r3 = _run(["eval", "translate", "--model", str(out), "--model", str(straight / "best"),
               "--data", str(data), "--beam", "2", "--table", str(table), "--json"])  # fmt: skip
    assert r3.exit_code == 0, r3.stderr
    res = json.loads(r3.stdout)
    assert res["split"] == "test" and res["lang"] == "zh"
    models = res["models"]
    assert set(models) == {"run", "straight"}  # a best/ folder is named after its run
    assert models["run"]["films"] == ["film2"] and models["run"]["cues"] == 24
    for m in models.values():
        assert 0 <= m["bleu"] <= 100 and 0 <= m["chrf"] <= 100 and 0 <= m["meteor"] <= 100
    assert models["run"]["bleu"] == models["straight"]["bleu"]
    text = table.read_text(encoding="utf-8")
    assert text.startswith("| variant | bleu | chrf | meteor |") and "| run |" in text
    # a folder of checkpoints expands into its runs
    r4 = _run(["eval", "translate", "--model", str(tmp_path), "--data", str(data), "--beam",
               "1", "--split", "all"])  # fmt: skip
    assert r4.exit_code == 0, r4.stderr
    assert "| run |" in r4.stdout and "| straight |" in r4.stdout


def test_library_train_with_video_context(tmp_path):
    """A video variant trains from per-cue feature files written in the store's format."""
    from safetensors.numpy import save_file

    from vloc.translator.evaluate import evaluate_translators
    from vloc.translator.train import train_translator

    data = colour_corpus(tmp_path, films=2, cues=12)
    rng = np.random.default_rng(0)
    data, docs = with_random_features(data, rng)
    overrides = {**TINY_VIDEO_TRAINING, "val_every": 5, "test_films": 1}
    res = train_translator(data, tmp_path / "v", variant="no-gr", overrides=overrides, max_steps=5)
    assert res.state.step == 5 and res.variant == "no-gr"
    assert json.loads((res.best / "config.json").read_text())["variant"] == "no-gr"
    info = json.loads((res.best / "translator.json").read_text())
    assert info["features"] == {"backbone": "i3d_r50", "grid": 2}  # for `vloc translate`
    scores = evaluate_translators([res.out], data, beam=1)
    assert scores.details["v"]["cues"] == 12 and scores.details["v"]["variant"] == "no-gr"
    # a feature file whose rows do not match the cues is refused, naming it
    bad = docs[0].features
    regions = rng.normal(size=(3, 4, 16)).astype(np.float16)
    save_file({"pooled": regions.mean(axis=1), "regions": regions}, str(bad))
    bad.with_suffix(".json").write_text(json.dumps({"kind": "cues"}), encoding="utf-8")
    with pytest.raises(InputError, match="expected per-cue region features for 12 cues"):
        train_translator(data, tmp_path / "v2", variant="no-gr", overrides=overrides, max_steps=1)
    # text-only trains from the same manifest without touching the features
    t = train_translator(data, tmp_path / "t", variant="text-only",
                         overrides={**overrides, "val_every": 0}, max_steps=2)  # fmt: skip
    assert t.state.step == 2


def test_cli_bad_inputs(tmp_path):
    data = colour_corpus(tmp_path, films=2, cues=6)
    out = str(tmp_path / "o")
    train = ["train", "translate", "--data"]
    one_error_line(_run([*train, str(tmp_path / "nope.jsonl"), "--out", out]), "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"\n', encoding="utf-8")
    one_error_line(_run([*train, str(bad), "--out", out]), f"{bad}:1", "not valid JSON")
    one_error_line(
        _run([*train, str(data), "--out", out, "--variant", "huge"]), "unknown variant 'huge'"
    )
    one_error_line(
        _run([*train, str(data), "--out", out, "--config", "depth=3"]), "unknown setting 'depth'"
    )
    one_error_line(_run([*train, str(data), "--out", out, "--config", "nonsense"]), "KEY=VALUE")
    one_error_line(_run([*train, str(data), "--out", out, "--device", "tpu"]), "--device")
    one_error_line(_run([*train, str(data), "--out", out, "--resume"]), "no training run")
    one_error_line(
        _run([*train, str(data), "--out", out, "--variant", "full", "--config", "test_films=1"]),
        "no 'features' file",
    )
    ev = ["eval", "translate", "--data", str(data), "--model"]
    one_error_line(_run([*ev, "no-such-model"]), "model 'no-such-model' not found", "models in")
    one_error_line(_run([*ev, str(tmp_path)]), "neither a model folder")
    one_error_line(_run([*ev, str(tmp_path), "--split", "dev"]), "--split must be one of")


def test_load_model_lists_installed(tmp_path):
    from vloc.translator.evaluate import load_model

    with pytest.raises(WeightsError, match="not found; models in"):
        load_model("nothing-here")
