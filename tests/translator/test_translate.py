"""`vloc translate` end to end: tiny random-weight translators, a tiny random backbone and a
tiny sentence encoder, all built offline; synthetic video from ffmpeg lavfi."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tiny_films import make_video
from tiny_models import build_tiny_sentence_model, build_tiny_translator
from tiny_subtitles import TRICKY_SRT
from typer.testing import CliRunner

from vloc.cli.app import app
from vloc.decoding.journal import Journal
from vloc.errors import InputError, SubtitleError, WeightsError
from vloc.index import context_ids, gather_context
from vloc.pipeline import OwnModel, TranslateOptions, translate_subtitles
from vloc.style.cues import default_output, split_style
from vloc.subtitles import read_subtitles
from vloc.translator.decode import length_batches


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("enc"))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, encoder: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        v: build_tiny_translator(root / v, variant=v, encoder=encoder)
        for v in ("full", "text-only", "segment-level", "no-gr")
    }


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("media")
    make_video(d / "film.mp4", seconds=3.0, fps=25, size="96x64")
    (d / "film.en.srt").write_text(TRICKY_SRT, encoding="utf-8")
    return d


@pytest.fixture
def film(media: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The shared video and a private copy of the subtitles (outputs land beside it)."""
    shutil.copy(media / "film.en.srt", tmp_path / "film.en.srt")
    return media / "film.mp4", tmp_path / "film.en.srt"


def _json(result) -> dict:
    lines = [x for x in result.stdout.splitlines() if x.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


# ---------------------------------------------------------------- pure helpers


def test_default_output_names():
    assert default_output("/a/film.en.srt", "zh", "srt") == Path("/a/film.zh.srt")
    assert default_output("/a/film.srt", "zh", "srt") == Path("/a/film.zh.srt")
    assert default_output("/a/film.en-US.srt", "zh", "vtt") == Path("/a/film.zh.vtt")
    assert default_output("/a/my.film.srt", "zh", "srt") == Path("/a/my.film.zh.srt")


def test_split_style_separates_whole_cue_tags():
    s = split_style("<i>Every spring\nthe snow melts.</i>")
    assert s.italic and s.prefix == "" and s.plain == "Every spring the snow melts."
    s = split_style("<i>one</i>\n<i>two</i>")
    assert s.italic and s.plain == "one two"
    s = split_style("{\\an8}Far below, the <b>delta</b> spreads.")
    assert s.prefix == "{\\an8}" and not s.italic and s.plain == "Far below, the delta spreads."
    s = split_style("<i>half</i> plain")
    assert not s.italic and s.plain == "half plain"
    assert split_style("").plain == "" and split_style("<i></i>").plain == ""


def test_length_batches_bound_rows_and_padded_tokens():
    lengths = [5, 40, 3, 40, 7, 3, 120, 9, 41, 2]
    batches = length_batches(lengths, batch_size=4, batch_tokens=100)
    assert sorted(k for rows in batches for k in rows) == list(range(len(lengths)))
    assert [lengths[k] for rows in batches for k in rows] == sorted(lengths)  # short first
    for rows in batches:
        assert len(rows) <= 4
        assert len(rows) == 1 or len(rows) * max(lengths[k] for k in rows) <= 100
    assert batches[-1] == [6]  # longer than the budget: a batch of its own
    assert [lengths[k] for k in batches[-2]] == [41]  # 2 × 41 > 100
    assert [lengths[k] for k in batches[-3]] == [40, 40]
    # ties keep their order; the row bound alone is the old fixed partition
    assert length_batches([3, 3, 3], 2, 10**6) == [[0, 1], [2]]
    assert length_batches([], 4, 100) == []


def test_journal_ignores_a_line_cut_short_by_a_kill(tmp_path: Path):
    j = Journal(tmp_path / "j.jsonl")
    j.append([("a", "甲"), ("b", "乙")])
    with open(j.path, "ab") as f:
        f.write(b'{"k": "c", "t": "\xe4')  # killed mid-write
    again = Journal(j.path)
    assert again.entries == {"a": "甲", "b": "乙"}
    again.append([("d", "丁")])
    assert Journal(j.path).entries == {"a": "甲", "b": "乙", "d": "丁"}


def test_context_matches_the_index_reference_and_the_temporal_order():
    import numpy as np

    from vloc.index import enhance, global_context

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(7, 5)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    feats = rng.random((7, 3, 4)).astype(np.float32)  # (N, R, D)
    ref = global_context(emb, feats, p=10, w=2, gamma=0.1)
    ids = context_ids("global", 7, p=10, embeddings=emb)
    video, mask = gather_context(ids, enhance(feats, w=2, gamma=0.1))
    assert (ids == ref.ids).all() and (mask == ref.mask).all()
    assert np.array_equal(video, ref.fused) and video.shape == (7, 10, 3, 4)
    near = context_ids("temporal", 7, p=4)
    assert near[0].tolist() == [0, 1, 2, 3] and near[3].tolist() == [3, 2, 4, 1]
    own = context_ids("own", 7, p=10)
    assert (
        own.shape == (7, 1)
        and gather_context(own[2:4], feats)[0][:, 0].tolist() == feats[2:4].tolist()
    )
    assert context_ids("none", 7, p=10) is None


# ---------------------------------------------------------------- end to end


def test_cli_keeps_every_cue_and_its_timing_then_reuses_caches(film, models, tmp_path):
    video, subs = film
    argv = ["translate", str(video), str(subs), "--to", "zh", "--model", str(models["full"])]
    argv += ["--workdir", str(tmp_path / "ws"), "--batch-size", "2", "--beam", "2", "--json"]
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 0, r.output
    j = _json(r)
    out = subs.with_name("film.zh.srt")
    assert j["ok"] and j["output"] == str(out) and out.is_file()
    assert (j["cues"], j["translated"], j["reused"], j["empty"]) == (7, 6, 0, 1)
    assert j["cache"] == {"features": False, "index": False}
    assert j["variant"] == "full" and j["target_lang"] == "zh"
    assert {"model", "read", "features", "index", "context", "decode", "write"} <= set(j["timings"])
    assert {"line_length", "reading_speed", "max_cps"} <= set(j["violations"])

    src, dst = read_subtitles(subs), read_subtitles(out)
    assert [(c.start_ms, c.end_ms) for c in dst.cues] == [(c.start_ms, c.end_ms) for c in src.cues]
    assert dst.cues[5].text == ""  # the empty cue stays empty
    assert dst.cues[1].text.startswith("<i>") and dst.cues[1].text.endswith("</i>")
    assert dst.cues[6].text.startswith("<i>") and dst.cues[6].text.endswith("</i>")
    assert dst.cues[2].text.startswith("{\\an8}") and "<b>" not in dst.cues[2].text
    for cue in dst.cues:
        assert "\n\n" not in cue.text and cue.text.count("\n") <= 1

    # second run, another output: features and index come from the workspace, every cue
    # from the journal
    r2 = CliRunner().invoke(app, [*argv, "-o", str(tmp_path / "again.srt")])
    j2 = _json(r2)
    assert j2["cache"] == {"features": True, "index": True}
    assert (j2["translated"], j2["reused"]) == (0, 6)
    assert (tmp_path / "again.srt").read_bytes() == out.read_bytes()


def test_resume_after_a_kill_decodes_only_the_rest_with_identical_output(film, models, tmp_path):
    video, subs = film
    opts = TranslateOptions(
        to="zh", decoder=OwnModel(model=str(models["full"]), batch_size=2, beam_size=2)
    )
    whole = translate_subtitles(
        video, subs, TranslateOptions(**{**opts.__dict__, "workdir": tmp_path / "a"})
    )
    reference = whole.output.read_bytes()
    assert whole.batches == 3
    whole.output.unlink()

    class Killed(Exception):
        pass

    def kill_after_two(stage: str, done: int, total: int) -> None:
        if stage == "decode" and done == 2:
            raise Killed

    shutil.copytree(tmp_path / "a", tmp_path / "b", ignore=shutil.ignore_patterns("translations"))
    resumable = TranslateOptions(**{**opts.__dict__, "workdir": tmp_path / "b"})
    with pytest.raises(Killed):
        translate_subtitles(video, subs, resumable, progress=kill_after_two)
    assert not whole.output.exists()  # no partial output
    resumed = translate_subtitles(video, subs, resumable)
    assert (resumed.translated, resumed.reused, resumed.batches) == (2, 4, 1)
    assert resumed.cache == {"features": True, "index": True}
    assert resumed.output.read_bytes() == reference


def test_token_budget_splits_batches_not_translations(film, models, tmp_path):
    video, subs = film
    out = {}
    for tokens in (10**6, 1):  # one batch; one cue per batch
        res = translate_subtitles(
            video,
            subs,
            TranslateOptions(
                to="zh",
                decoder=OwnModel(model=str(models["full"]), beam_size=2, batch_tokens=tokens),
                workdir=tmp_path / str(tokens),
                output=tmp_path / f"{tokens}.zh.srt",
            ),
        )
        out[tokens] = (res.batches, res.output.read_text(encoding="utf-8"))
    assert out[10**6][0] == 1 and out[1][0] == 6
    assert out[1][1] == out[10**6][1]
    with pytest.raises(InputError, match="--batch-tokens must be at least 1"):
        translate_subtitles(
            video, subs, TranslateOptions(to="zh", decoder=OwnModel(batch_tokens=0))
        )


@pytest.mark.parametrize("variant", ["text-only", "segment-level", "no-gr"])
def test_every_context_kind_runs(film, models, tmp_path, variant):
    video, subs = film
    res = translate_subtitles(
        video,
        subs,
        TranslateOptions(
            to="zh", decoder=OwnModel(model=str(models[variant]), beam_size=1), workdir=tmp_path
        ),
    )
    assert res.cues == 7 and res.translated == 6 and res.variant == variant
    needs_video = variant != "text-only"
    assert (res.cache["features"] is not None) == needs_video
    assert res.cache["index"] is None  # only global retrieval needs the index
    assert len(read_subtitles(res.output).cues) == 7


def test_bilingual_and_vtt_output(film, models, tmp_path):
    video, subs = film
    out = tmp_path / "film.bi.vtt"
    res = translate_subtitles(
        video,
        subs,
        TranslateOptions(
            to="zh",
            decoder=OwnModel(model=str(models["text-only"]), beam_size=1),
            output=out,
            bilingual=True,
        ),
    )
    doc = read_subtitles(res.output)
    assert doc.format == "vtt" and len(doc.cues) == 7
    assert doc.cues[0].text.split("\n")[-1] == "The river begins high in the mountains."
    assert doc.cues[2].text.startswith("{\\an8}")  # the translation, then the source
    assert doc.cues[2].text.endswith("\nFar below, the <b>delta</b> spreads.")
    assert doc.cues[5].text == ""


def test_model_found_by_name_alone_or_as_a_training_output(film, models, tmp_path, monkeypatch):
    video, subs = film
    home = tmp_path / "home"
    monkeypatch.setenv("VLOC_HOME", str(home))
    monkeypatch.setattr("vloc.catalogue.model_dirs", lambda: [home / "models"])
    shutil.copytree(models["text-only"], home / "models" / "tiny-en-zh" / "best")
    for model in ("tiny-en-zh", None, str(home / "models" / "tiny-en-zh")):
        res = translate_subtitles(
            video,
            subs,
            TranslateOptions(
                to="zh", decoder=OwnModel(model=model, beam_size=1), output=tmp_path / "o.srt"
            ),
        )
        assert res.model == "tiny-en-zh" and res.cues == 7
    shutil.copytree(models["full"], home / "models" / "other-en-zh")
    with pytest.raises(WeightsError, match="several models"):
        translate_subtitles(video, subs, TranslateOptions(to="zh", output=tmp_path / "o.srt"))


# ---------------------------------------------------------------- errors


def _one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_missing_model_lists_the_installed_ones(film, models, tmp_path, monkeypatch):
    video, subs = film
    monkeypatch.setenv("VLOC_HOME", str(tmp_path / "home"))
    shutil.copytree(models["text-only"], tmp_path / "home" / "models" / "tiny-en-zh")
    r = CliRunner().invoke(
        app, ["translate", str(video), str(subs), "--to", "zh", "--model", "nope"]
    )
    _one_line_error(r, "'nope' not found", "tiny-en-zh", "--model PATH")
    assert not subs.with_name("film.zh.srt").exists()


def test_wrong_target_language_zero_cues_and_bad_encoding(film, models, tmp_path):
    video, subs = film
    model = str(models["text-only"])
    runner = CliRunner()
    r = runner.invoke(app, ["translate", str(video), str(subs), "--to", "fr", "--model", model])
    _one_line_error(r, "--to fr", "'zh'")
    empty = tmp_path / "empty.en.srt"
    empty.write_text("")
    r = runner.invoke(app, ["translate", str(video), str(empty), "--to", "zh", "--model", model])
    _one_line_error(r, "nothing to translate", str(empty))
    r = runner.invoke(
        app,
        ["translate", str(video), str(subs), "--to", "zh", "--model", model, "--encoding", "nope"],
    )
    _one_line_error(r, "encoding")
    assert not list(tmp_path.glob("*.zh.srt")) and not empty.with_name("empty.zh.srt").exists()


def test_missing_backbone_weights_fail_before_any_output(film, models, tmp_path):
    video, subs = film
    broken = shutil.copytree(models["full"], tmp_path / "needs-i3d")
    (broken / "translator.json").write_text(json.dumps({"features": {"backbon": "i3d_r50"}}))
    with pytest.raises(WeightsError, match="backbon"):
        translate_subtitles(
            video, subs, TranslateOptions(to="zh", decoder=OwnModel(model=str(broken)))
        )
    (broken / "translator.json").write_text(json.dumps({"features": {"backbone": "i3d_r50"}}))
    with pytest.raises(WeightsError, match="i3d_r50"):
        translate_subtitles(
            video,
            subs,
            TranslateOptions(to="zh", decoder=OwnModel(model=str(broken)), workdir=tmp_path),
        )
    assert not subs.with_name("film.zh.srt").exists()


def test_bad_backbone_path_is_one_line_before_any_output(film, models, tmp_path):
    video, subs = film
    argv = ["translate", str(video), str(subs), "--to", "zh", "--model", str(models["full"])]
    argv += ["--workdir", str(tmp_path / "ws")]
    r = CliRunner().invoke(app, [*argv, "--backbone-path", "bogus"])
    # the same line as `vloc features --backbone-path bogus`
    _one_line_error(r, "unknown backbone path 'bogus'; valid paths: auto, eager, jit, compile")
    r = CliRunner().invoke(app, [*argv, "--backbone-path", "jit", "--device", "cuda"])
    _one_line_error(r, "--backbone-path jit runs on the CPU only")
    assert not subs.with_name("film.zh.srt").exists() and not (tmp_path / "ws").exists()


def _feature_entry_paths(workdir: Path) -> list[str]:
    """The ``backbone_path`` recorded by every feature entry under ``workdir``."""
    found = []
    for meta in sorted(workdir.rglob("*.json")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("source") == "extracted":
            found.append(data["backbone_path"])
    return found


def test_backbone_path_reaches_the_features_and_eager_keeps_the_output(film, models, tmp_path):
    video, subs = film
    argv = ["translate", str(video), str(subs), "--to", "zh", "--model", str(models["full"])]
    outputs = {}
    for path in ("default", "eager", "jit"):
        extra = [] if path == "default" else ["--backbone-path", path]
        out = tmp_path / f"{path}.zh.srt"
        r = CliRunner().invoke(
            app, [*argv, "--workdir", str(tmp_path / path), "-o", str(out), *extra, "--json"]
        )
        assert r.exit_code == 0, r.output
        assert _json(r)["cache"]["features"] is False
        outputs[path] = out.read_bytes()
    # a 3 s film is far too short for auto to trace: it runs eager, byte for byte the same
    assert _feature_entry_paths(tmp_path / "default") == ["eager"]
    assert _feature_entry_paths(tmp_path / "eager") == ["eager"]
    assert outputs["eager"] == outputs["default"]
    assert _feature_entry_paths(tmp_path / "jit") == ["jit"]  # another entry, traced


def test_output_never_overwrites_the_input(film, models, tmp_path):
    video, subs = film
    plain = subs.with_name("film.zh.srt")
    shutil.copy(subs, plain)
    with pytest.raises(InputError, match="overwrite the input"):
        translate_subtitles(
            video,
            plain,
            TranslateOptions(to="zh", decoder=OwnModel(model=str(models["text-only"]))),
        )
    with pytest.raises(SubtitleError, match="not found"):
        translate_subtitles(
            video,
            tmp_path / "missing.srt",
            TranslateOptions(to="zh", decoder=OwnModel(model=str(models["full"]))),
        )


def test_summarizer_folders_are_not_offered_as_translators():
    from vloc.catalogue import installed, resolve
    from vloc.errors import WeightsError

    repo_models = Path(__file__).resolve().parents[2] / "models"
    names = {p.name for p in installed("translator")}
    assert "synth-zh-en-summary" not in names
    if (repo_models / "synth-zh-en-summary").is_dir():
        with pytest.raises(WeightsError, match="not a translator folder"):
            resolve("translator", repo_models / "synth-zh-en-summary", to="en")
