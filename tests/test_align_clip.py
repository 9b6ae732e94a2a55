"""CLIP as a ready-made align model (vloc.align.clip): a tiny randomly initialised CLIPModel
and tokenizer built offline, frames of a real ffmpeg-rendered film, and the offline error for
a hub name that is not in the model cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vloc.align.clip import CLIP_FPS, CLIP_FRAMES, is_clip_spec, load_clip
from vloc.errors import InputError, WeightsError

TINY_IMAGE = 32  # px: the tiny vision tower's input
TINY_PROJECTION = 8  # D: the shared space


def build_tiny_clip(folder: Path) -> Path:
    """Save a random-init CLIPModel (1 layer per tower, width 16) with a character-level BPE
    tokenizer (every printable ASCII character, alone and word-final; no merges)."""
    import torch

    from vloc._compat import install_torchvision_compat

    install_torchvision_compat()
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = [chr(c) for c in range(33, 127)]
    vocab = {t: i for i, t in enumerate([*chars, *(c + "</w>" for c in chars)])}
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    tower = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
             "num_attention_heads": 2}  # fmt: skip
    config = CLIPConfig(
        text_config={**tower, "vocab_size": len(vocab), "max_position_embeddings": 77,
                     "bos_token_id": vocab["<|startoftext|>"],
                     "eos_token_id": vocab["<|endoftext|>"],
                     "pad_token_id": vocab["<|endoftext|>"]},
        vision_config={**tower, "image_size": TINY_IMAGE, "patch_size": 16},
        projection_dim=TINY_PROJECTION,
    )  # fmt: skip
    torch.manual_seed(0)
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": TINY_IMAGE}, crop_size={"height": TINY_IMAGE, "width": TINY_IMAGE}
    ).save_pretrained(folder)
    return folder


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
