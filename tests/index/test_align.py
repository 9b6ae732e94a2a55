"""The align model: its losses against hand-computed values, its model folder, its manifest,
and the fusion of the said and seen rankings (evidence fusion and reciprocal-rank fusion)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vloc.align.data import moment_feature, read_manifest
from vloc.align.model import (
    AlignConfig,
    build_model,
    info_nce,
    load_align,
    save_model,
    soft_matching,
)
from vloc.align.train import AlignTrainOptions
from vloc.catalogue import installed, model_folder
from vloc.errors import InputError, WeightsError
from vloc.index.clips import overlap_cue
from vloc.search import FUSE_WEIGHTS, RRF_K, fuse, rrf_fuse


def test_info_nce_matches_a_hand_computed_value():
    sim = torch.tensor([[1.0, 0.0], [0.5, 1.0]])  # texts × clips, positives on the diagonal
    # logits = sim / 0.5 = [[2, 0], [1, 2]]; rows: -log(e²/(e²+1)), -log(e²/(e+e²));
    # columns (logitsᵀ = [[2, 1], [0, 2]]): the same two terms, so the loss is their mean
    a, b = math.log1p(math.exp(-2)), math.log1p(math.exp(-1))
    assert info_nce(sim, 0.5).item() == pytest.approx((a + b) / 2, abs=1e-6)


def test_info_nce_is_symmetric_in_texts_and_clips():
    sim = torch.randn(5, 5, generator=torch.Generator().manual_seed(0))
    assert info_nce(sim, 0.1).item() == pytest.approx(info_nce(sim.t(), 0.1).item(), abs=1e-6)


def test_soft_matching_is_zero_on_agreement_and_guides_only_the_other_language():
    guide = torch.tensor([[0.9, 0.1], [0.2, 0.8]], requires_grad=True)
    assert soft_matching(guide, guide.detach().clone(), 0.1).item() == pytest.approx(0, abs=1e-7)
    other = torch.tensor([[0.1, 0.9], [0.8, 0.2]], requires_grad=True)
    loss = soft_matching(guide, other, 0.1)
    # KL(softmax(guide/τ) ‖ softmax(other/τ)), batch mean, by hand
    p = torch.softmax(guide.detach() / 0.1, 1)
    q = torch.softmax(other.detach() / 0.1, 1)
    assert loss.item() == pytest.approx((p * (p / q).log()).sum(1).mean().item(), rel=1e-5)
    loss.backward()
    assert guide.grad is None and other.grad is not None and other.grad.abs().sum() > 0


def _info(dim: int = 8) -> dict:
    return {
        "encoder": {"name": "test-encoder", "sha256": "0" * 64, "dim": dim},
        "features": {"backbone": "x3d_m", "weights": "random", "seed": 0, "kind": "cues"},
        "languages": ["en", "zh"],
    }


def test_model_folder_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    torch.manual_seed(0)
    model = build_model(AlignConfig(video_dim=6, text_dim=8, dim=4, hidden=5))
    model.set_video_stats(np.arange(6, dtype=np.float32), np.full(6, 2.0, np.float32))
    model.eval()
    folder = save_model(tmp_path / "models" / "scenes", model, _info(), "# card\n")
    assert {p.name for p in folder.iterdir()} >= {
        "config.json", "model.safetensors", "align.json", "card.md",
    }  # fmt: skip
    loaded = load_align(folder)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    e = np.random.default_rng(1).normal(size=(2, 8)).astype(np.float32)
    with torch.no_grad():
        want_v = model.encode_video(torch.from_numpy(x)).numpy()
        want_t = model.encode_text(torch.from_numpy(e)).numpy()
    np.testing.assert_allclose(loaded.project_video(x), want_v, atol=1e-6)
    np.testing.assert_allclose(loaded.project_text(e), want_t, atol=1e-6)
    assert np.allclose(np.linalg.norm(loaded.project_video(x), axis=1), 1, atol=1e-5)
    assert loaded.sha256 == load_align(folder).sha256 and loaded.features["kind"] == "cues"
    # found by name among installed models (registry kind "align"), and only as that kind
    monkeypatch.setenv("VLOC_HOME", str(tmp_path))
    assert load_align("scenes").folder == folder
    assert folder in installed("align") and model_folder("summarizer", folder) is None
    with pytest.raises(WeightsError, match="wrong width|expects clip features of width 6"):
        loaded.project_video(np.zeros((1, 7), np.float32))


def test_loading_errors_are_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VLOC_HOME", str(tmp_path / "home"))
    with pytest.raises(WeightsError, match="align model 'nope' not found") as e:
        load_align("nope")
    assert "\n" not in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WeightsError, match="not an align model folder"):
        load_align(empty)
    model = build_model(AlignConfig(video_dim=6, text_dim=8, dim=4, hidden=0))
    folder = save_model(tmp_path / "m", model, _info(), "card")
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(WeightsError, match="model.safetensors: unreadable"):
        load_align(folder)
    folder = save_model(tmp_path / "m2", model, _info(dim=9), "card")
    with pytest.raises(WeightsError, match="text_dim 8 .* 9-d encoder"):
        load_align(folder)
    info = json.loads((folder / "align.json").read_text())
    info["format_version"] = 99
    (folder / "align.json").write_text(json.dumps(info))
    with pytest.raises(WeightsError, match="newer than this vloc reads"):
        load_align(folder)


def test_train_options_refuse_what_cannot_work():
    with pytest.raises(InputError, match="soft_weight needs a second language"):
        AlignTrainOptions.from_overrides({"languages": "en", "soft_weight": 1.0})
    with pytest.raises(InputError, match="unknown align setting.*bogus"):
        AlignTrainOptions.from_overrides({"bogus": 1})
    with pytest.raises(InputError, match="must start with 'en'"):
        AlignTrainOptions.from_overrides({"languages": "zh"})
    assert AlignTrainOptions.from_overrides({"languages": "en,zh"}).languages == ("en", "zh")


def test_manifest_errors_name_the_line(tmp_path: Path):
    m = tmp_path / "moments.jsonl"
    m.write_text('{"features": "missing.safetensors", "start_ms": 0, "end_ms": 10, '
                 '"description_en": "a river"}\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(InputError, match="line 1: features file not found"):
        read_manifest(m)
    m.write_text('{"start_ms": 5, "end_ms": 1, "description_en": "x", "features": "f"}\n')
    with pytest.raises(InputError, match="line 1: need 0 <= start_ms < end_ms"):
        read_manifest(m)
    m.write_text('\n{"start_ms": 0, "end_ms": 1, "description_en": "", "features": "f"}\n')
    with pytest.raises(InputError, match="line 2: description_en must be"):
        read_manifest(m)
    with pytest.raises(InputError, match="align manifest not found"):
        read_manifest(tmp_path / "nope.jsonl")


def test_moment_feature_is_the_overlap_weighted_mean():
    pooled = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]], np.float32)
    spans = np.array([[0, 1000], [1000, 2000], [5000, 6000]])
    got = moment_feature(pooled, spans, 500, 2000)  # 500 ms of row 0, 1000 ms of row 1
    np.testing.assert_allclose(got, [1 / 3, 2 / 3], atol=1e-6)
    assert moment_feature(pooled, spans, 3000, 4000) is None


def test_overlap_cue_picks_the_cue_a_clip_overlaps_most():
    clips = np.array([[0, 1000], [900, 2100], [5000, 6000]])
    starts, ends = np.array([0, 1200]), np.array([1100, 2000])
    assert overlap_cue(clips, starts, ends).tolist() == [0, 1, -1]


def test_rrf_fusion_order():
    said = [("a",), ("b",), ("c",)]
    seen = [("c",), ("a",), ("d",)]
    fused = rrf_fuse({"said": said, "seen": seen}, k=10)
    order = [key for _, key, _ in fused]
    # a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62, d: 1/63
    assert order == [("a",), ("c",), ("b",), ("d",)]
    assert fused[0][0] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert fused[1][2] == {"said": 3, "seen": 1}
    # equal scores: the better single rank first, then the key
    tie = rrf_fuse({"said": [("x",), ("y",)], "seen": [("y",), ("x",)]}, k=2)
    assert [key for _, key, _ in tie] == [("x",), ("y",)]
    assert len(rrf_fuse({"said": said}, k=2)) == 2


def _ranking(scores: dict[str, float]) -> list[tuple[float, tuple[str]]]:
    """(cosine, key) best first."""
    return sorted(((c, (k,)) for k, c in scores.items()), key=lambda x: -x[0])


def test_a_flat_ranking_does_not_displace_a_confident_one():
    rng = np.random.default_rng(0)
    keys = [f"m{i}" for i in range(40)]
    # flat: every cosine within ±0.02 of the query's mean cosine 0.20
    flat = {k: 0.20 + float(rng.uniform(-0.02, 0.02)) for k in keys}
    # confident: two moments far above an arbitrary moment (mean cosine 0.10)
    sure = {k: 0.10 + float(rng.uniform(-0.05, 0.05)) for k in keys}
    sure.update({"m7": 0.85, "m31": 0.80})
    for flat_name, sure_name in (("said", "seen"), ("seen", "said")):
        fused = fuse(
            {flat_name: _ranking(flat), sure_name: _ranking(sure)},
            {flat_name: 0.20, sure_name: 0.10},
            k=5,
        )
        assert [key for _, key, _ in fused[:2]] == [("m7",), ("m31",)], flat_name
        w = FUSE_WEIGHTS[sure_name]
        assert fused[0][0] == pytest.approx(w * (0.85 - 0.10))
        assert fused[0][2][sure_name] == 1 and flat_name in fused[0][2]
        # and RRF, for contrast, lets the flat ranking's first moment into the top 2
        rrf = rrf_fuse({flat_name: [k for _, k in _ranking(flat)],
                        sure_name: [k for _, k in _ranking(sure)]}, k=5)  # fmt: skip
        assert [key for _, key, _ in rrf[:2]] != [("m7",), ("m31",)]


def test_fusion_agrees_with_both_rankings_when_both_are_informative():
    said = {"a": 0.90, "b": 0.70, "c": 0.50, "d": 0.15, "e": 0.12, "f": 0.10}
    seen = {"a": 0.80, "b": 0.60, "c": 0.45, "d": 0.05, "e": 0.00, "f": -0.05}
    fused = fuse({"said": _ranking(said), "seen": _ranking(seen)}, {"said": 0.2, "seen": 0.1}, 6)
    order = [key[0] for _, key, _ in fused]
    assert order == ["a", "b", "c", "d", "e", "f"]  # both lists' own order
    assert fused[0][2] == {"said": 1, "seen": 1}
    # a moment's score is its strongest weighted evidence
    assert fused[0][0] == pytest.approx(max(2.0 * (0.90 - 0.2), 1.0 * (0.80 - 0.1)))


def test_fusion_weights_centres_and_ties():
    rankings = {"said": [(0.6, ("x",))], "seen": [(0.9, ("y",))]}
    centres = {"said": 0.1, "seen": 0.1}
    # said evidence 2 × 0.5 = 1.0 beats seen 0.8; with equal weights seen leads
    assert [k for _, k, _ in fuse(rankings, centres, 2)] == [("x",), ("y",)]
    equal = fuse(rankings, centres, 2, {"said": 1.0, "seen": 1.0})
    assert [k for _, k, _ in equal] == [("y",), ("x",)]
    # the centre is what counts, not the raw cosine
    assert [k for _, k, _ in fuse(rankings, {"said": 0.3, "seen": 0.1}, 2)][0] == ("y",)
    # equal evidence (exact in binary): the better single rank first, then the key
    tie = fuse(
        {"said": [(0.5, ("q",)), (0.25, ("p",))], "seen": [(0.625, ("p",))]},
        {"said": 0.25, "seen": 0.125},
        3,
        {"said": 1.0, "seen": 0.5},
    )  # q: 0.25 (said rank 1); p: max(0, 0.5 × 0.5) = 0.25 (seen rank 1): the key decides
    assert [s for s, _, _ in tie] == [0.25, 0.25]
    assert [k for _, k, _ in tie] == [("p",), ("q",)]
    assert tie[0][2] == {"said": 2, "seen": 1}
    assert len(fuse(rankings, centres, 1)) == 1


def test_training_converts_no_grad_tensor_to_a_scalar():
    """float() of a tensor that requires grad warns in torch; training logs τ and the loss."""
    import warnings

    from vloc.align.data import AlignData
    from vloc.align.train import train_on_data

    rng = np.random.default_rng(0)

    def unit(n: int, d: int) -> np.ndarray:
        x = rng.normal(size=(n, d)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    n = 12
    data = AlignData(
        video=rng.normal(size=(n, 6)).astype(np.float32),
        texts={},
        text_emb={"en": [unit(2, 8) for _ in range(n)], "zh": [unit(1, 8) for _ in range(n)]},
    )
    logged: list[dict] = []
    options = AlignTrainOptions(
        dim=4, hidden=4, steps=3, batch_size=6, languages=("en", "zh"), soft_weight=1.0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the torch warning becomes an exception
        model, loss = train_on_data(data, options, on_log=logged.append)
    assert logged and logged[-1]["step"] == 3 and math.isfinite(loss)
    assert isinstance(logged[-1]["temperature"], float)
