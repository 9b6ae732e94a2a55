"""The shipped demo summarizer (``models/synth-zh-en-summary``): it is installed, small and
self-contained, and ``vloc summarize`` runs it end to end on a held-out generated film."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from vloc.cli.summarize import summarize
from vloc.errors import WeightsError
from vloc.subtitles import Cue, write_subtitles
from vloc.summarizer.summarize import (
    SummarizeOptions,
    default_model,
    feature_options,
    load_model_folder,
)
from vloc.synthetic import RenderOptions, SummarizationSetOptions
from vloc.synthetic.films import render_film
from vloc.synthetic.lexicon import TOPICS
from vloc.synthetic.summarization import TOPIC_WORDS, plan_summary_film

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "synth-zh-en-summary"
MAX_MODEL_MB = 15  # the folder is committed: keep it small
FILES = (
    "config.json", "model.safetensors", "summarizer.json", "card.md", "backbone.safetensors",
    "src_tokenizer/tokenizer.json", "tgt_tokenizer/tokenizer.json",
)  # fmt: skip
HELD_OUT_FILM = 701  # generator film index (seed 0; the model saw films 0-79): topic desert

pytestmark = pytest.mark.skipif(not MODEL_DIR.is_dir(), reason="demo model not shipped")


def test_model_folder_is_complete_small_and_the_default_zh_en_summarizer():
    for name in FILES:
        assert (MODEL_DIR / name).is_file(), name
    size_mb = sum(f.stat().st_size for f in MODEL_DIR.rglob("*") if f.is_file()) / 2**20
    assert size_mb < MAX_MODEL_MB
    assert default_model("en") == MODEL_DIR  # the only installed summarizer into English
    with pytest.raises(WeightsError, match="no installed summarizer writes 'fr'"):
        default_model("fr")
    loaded = load_model_folder(MODEL_DIR)
    assert (loaded.src_lang, loaded.tgt_lang, loaded.model.config.variant) == ("zh", "en", "full")
    fo = feature_options(loaded, SummarizeOptions())
    assert (fo.backbone, fo.width, fo.size, fo.fps, fo.clip_len) == ("x3d_m", 0.25, 112, 10.0, 16)
    assert fo.weights == str(MODEL_DIR / "backbone.safetensors")
    other = feature_options(loaded, SummarizeOptions(backbone="i3d_r50"))  # the user's choice wins
    assert (other.backbone, other.weights, other.width) == ("i3d_r50", None, 1.0)


def test_backbone_file_holds_the_seeded_random_weights_of_the_training_features():
    from vloc.backbones.weights import instantiate, read_state_dict, resolve_weights

    info = json.loads((MODEL_DIR / "summarizer.json").read_text())["video"]
    saved = read_state_dict(MODEL_DIR / info["weights"])
    net = instantiate(resolve_weights(info["backbone"], "random", seed=0), width=info["width"]).net
    expected = net.state_dict()
    assert saved.keys() == expected.keys()
    for k, v in expected.items():
        assert torch.equal(saved[k], v), k


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("summarize")(summarize)
    app.command("other")(lambda: None)  # two commands: typer keeps the subcommand name
    return app


@pytest.mark.slow
def test_cli_summarizes_a_held_out_film_and_names_what_the_video_shows(tmp_path):
    film, shots = plan_summary_film(HELD_OUT_FILM, SummarizationSetOptions(seed=0))
    video = tmp_path / "talk.mp4"
    render_film(video, shots, RenderOptions())
    subs = tmp_path / "talk.zh.srt"
    write_subtitles(subs, [Cue(c["index"], c["start_ms"], c["end_ms"], c["zh"]) for c in film.cues])
    nouns = {t: TOPIC_WORDS[t][0] for t in TOPICS}
    assert not any(n in film.transcript["en"] for n in nouns.values())  # the text hides it

    r = CliRunner().invoke(_app(), ["summarize", str(video), str(subs), "--to", "en", "--json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    text = payload["summary"]
    words = re.findall(r"[A-Za-z]+", text)
    assert len(words) >= 10 and text.isascii(), text  # English, not Chinese
    assert [t for t, n in nouns.items() if n in text] == [film.topic], text
    assert payload["model"]["path"] == str(MODEL_DIR)
    feats = payload["source"]["features"]
    assert feats["used"] and feats["backbone"] == "x3d_m" and feats["steps"] > 0
    assert feats["weights"].endswith("backbone.safetensors")
    md = (tmp_path / "talk.en.summary.md").read_text()
    assert md.startswith(f"# Summary (en)\n\n{text}\n")
