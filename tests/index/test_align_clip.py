"""CLIP as a ready-made align model (vloc.align.clip): a tiny randomly initialised CLIPModel
and tokenizer built offline, frames of a real ffmpeg-rendered film, the offline error for
a hub name that is not in the model cache, and `vloc index --align clip:NAME` / `vloc search
--by seen|both` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_models import TINY_IMAGE, TINY_PROJECTION, build_tiny_clip

from vloc.align.clip import CLIP_FPS, CLIP_FRAMES, is_clip_spec, load_clip
from vloc.errors import InputError, WeightsError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    folder = build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")
    return load_clip(f"clip:{folder}")


def test_text_and_frames_land_in_one_unit_space(tiny):
    assert is_clip_spec(tiny.spec) and tiny.size == TINY_IMAGE and tiny.dim == TINY_PROJECTION
    text = tiny.encode_text(["a river at night", "sand dunes in the midday sun"])
    assert text.shape == (2, TINY_PROJECTION) and text.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1, atol=1e-5)
    assert not np.allclose(text[0], text[1])
    np.testing.assert_allclose(tiny.encode_text(["a river at night"])[0], text[0], atol=1e-6)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, TINY_IMAGE, TINY_IMAGE, 3), dtype=np.uint8)
    emb = tiny.embed_frames(frames)
    assert emb.shape == (3, TINY_PROJECTION)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    with pytest.raises(InputError, match="CLIP frames must be"):
        tiny.embed_frames(frames[:, :16])


def test_cue_embeddings_are_the_mean_of_their_frames(tiny, tmp_path):
    from vloc.media.clips import iter_cue_clips
    from vloc.synthetic.films import render_film
    from vloc.synthetic.retrieval import RetrievalSetOptions, plan_scene_film, render_scene

    options = RetrievalSetOptions(train_films=1, test_films=1, cues=(3, 4), seed=2)
    film, shots = plan_scene_film(1, options)
    video = tmp_path / "film.mp4"
    render_film(video, shots, options.render, frames=render_scene)  # real ffmpeg
    spans = [tuple(s) for s in film.spans]
    emb = tiny.embed_spans(video, spans)
    assert emb.shape == (len(spans), TINY_PROJECTION)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    for clip in iter_cue_clips(video, spans, fps=CLIP_FPS, clip_len=CLIP_FRAMES, size=tiny.size):
        want = tiny.embed_frames(clip.frames).mean(0)
        np.testing.assert_allclose(emb[clip.index], want / np.linalg.norm(want), atol=1e-5)
    # different scenes give different embeddings
    assert len({tuple(np.round(r, 4)) for r in emb}) == len(spans)


def test_models_that_are_not_here_are_one_line_errors(tmp_path):
    with pytest.raises(WeightsError, match="not a local folder and not in the model cache") as e:
        load_clip("clip:openai/clip-vit-base-patch32", cache_dir=tmp_path / "cache")
    assert "\n" not in str(e.value) and "hf download openai/clip-vit-base-patch32" in str(e.value)
    with pytest.raises(InputError, match="needs a CLIP model"):
        load_clip("clip:")
    with pytest.raises(WeightsError, match="CLIP model folder not found"):
        load_clip(f"clip:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match="expected config.json"):
        load_clip(f"clip:{tmp_path / 'empty'}")
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(WeightsError, match="has no weights"):
        load_clip(f"clip:{tmp_path / 'empty'}")


def _film(folder: Path) -> tuple[Path, Path]:
    """A real ffmpeg-rendered synthetic film of 4 scene cues and its English subtitles."""
    from vloc.subtitles import Cue, write_subtitles
    from vloc.synthetic.films import render_film
    from vloc.synthetic.retrieval import RetrievalSetOptions, plan_scene_film, render_scene

    options = RetrievalSetOptions(train_films=1, test_films=1, cues=(4, 4), seed=3)
    film, shots = plan_scene_film(0, options)
    folder.mkdir(parents=True, exist_ok=True)
    video, subs = folder / "film.mp4", folder / "film.en.srt"
    render_film(video, shots, options.render, frames=render_scene)
    cues = [
        Cue(index=k + 1, start_ms=s, end_ms=e, text=line)
        for k, ((s, e), line) in enumerate(zip(film.spans, film.lines, strict=True))
    ]
    write_subtitles(subs, cues)
    return video, subs


def test_index_and_search_by_seen_through_the_cli(tiny, tmp_path, monkeypatch):
    from tiny_models import build_tiny_sentence_model
    from typer.testing import CliRunner

    from vloc.cli.app import app

    runner = CliRunner()

    def vloc(*args: object) -> tuple[int, str, str]:
        r = runner.invoke(app, [str(a) for a in args])
        return r.exit_code, r.stdout, r.output

    monkeypatch.setenv("VLOC_HOME", str(tmp_path / "home"))  # an empty offline model cache
    enc = build_tiny_sentence_model(tmp_path / "encoder")
    video, subs = _film(tmp_path / "film")
    ws = tmp_path / "ws"
    spec = f"clip:{tiny.folder}"
    base = ("index", video, subs, "--encoder", enc, "--workdir", ws)
    code, out, _ = vloc(*base, "--align", spec, "--json")
    assert code == 0, out
    rec = json.loads(out)
    assert rec["clips"] == {"count": rec["cues"], "kind": "cues", "align": spec,
                            "align_sha256": tiny.sha256}  # fmt: skip
    code, out, _ = vloc(*base, "--align", spec, "--json")
    assert code == 0 and json.loads(out)["cached"] is True, out
    from vloc.index import load_index

    ix = load_index(rec["index"])
    assert ix.clips is not None and ix.clips.info["align"]["kind"] == "clip"
    np.testing.assert_allclose(  # the stored rows are the image tower's cue embeddings
        ix.clips.faiss_index.reconstruct_n(0, ix.clips.size),
        tiny.embed_spans(video, list(zip(ix.start_ms.tolist(), ix.end_ms.tolist(), strict=True))),
        atol=1e-5,
    )
    query = "a river at night"
    code, out, _ = vloc("search", query, "--index", ws, "--by", "seen", "--json", "-k", "3")
    assert code == 0, out
    res = json.loads(out)
    assert res["by"] == "seen" and res["align"] == spec and len(res["hits"]) == 3
    assert all(h["source"] == "seen" for h in res["hits"])
    want = ix.clips.search(tiny.encode_text([query]), 3)[0][0]  # CLIP's text tower, no encoder
    np.testing.assert_allclose([h["score"] for h in res["hits"]], want, atol=1e-4)
    code, out, _ = vloc("search", query, "--index", ws, "--by", "both", "--json")
    assert code == 0 and all(h["source"] == "both" for h in json.loads(out)["hits"]), out
    # a different CLIP model's clips cannot be searched with these
    other = build_tiny_clip(tmp_path / "other-clip", seed=1)
    code, out, _ = vloc(
        "index", video, subs, "--encoder", enc, "--workdir", tmp_path / "ws2",
        "--align", f"clip:{other}", "--json",
    )  # fmt: skip
    assert code == 0, out
    code, _, msg = vloc("search", query, "--index", ws, "--index", tmp_path / "ws2", "--by", "seen")
    assert code == 1 and msg.count("\n") == 1 and "different align models" in msg, msg
    code, _, msg = vloc("search", query, "--index", ws, "--by", "seen", "--align", f"clip:{other}")
    assert code == 1 and "query with the same model" in msg, msg
    # the real hub name with no download: one line, exit 1
    hub = "clip:openai/clip-vit-base-patch32"
    code, _, msg = vloc(*base, "--align", hub, "--force")
    assert code == 1 and msg.count("\n") == 1, msg
    assert "not in the model cache" in msg and "hf download openai/clip-vit-base-patch32" in msg
    code, _, msg = vloc(*base, "--align", spec, "--clips", "stride")
    assert code == 1 and msg.count("\n") == 1 and "needs a trained align model" in msg, msg
