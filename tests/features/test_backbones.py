"""Backbone registry (tiny real architectures), pooling, BatchNorm folding, and weights loading."""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import vloc  # noqa: E402,F401  (installs the torchvision compatibility step)
from vloc.backbones import (  # noqa: E402
    REGISTRY,
    build_backbone,
    fold_batchnorm,
    get_spec,
    normalise_clips,
    pool_features,
)
from vloc.backbones.weights import (  # noqa: E402
    cached_sha256,
    convert_hara_resnext,
    download,
    instantiate,
    resolve_weights,
)
from vloc.errors import InputError, WeightsError  # noqa: E402

TINY = 1 / 16  # width multiplier for fast tests: the real depth, 1/16 of the channels


def _clips(b: int = 2, t: int = 8, s: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (b, t, s, s, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_backbone_shapes(name):
    torch.manual_seed(0)
    bb = build_backbone(name, width=TINY)
    x = normalise_clips(_clips(2, 4, 64), bb.spec.mean, bb.spec.std)  # (2, 3, 4, 64, 64)
    assert x.shape == (2, 3, 4, 64, 64) and x.dtype == torch.float32
    with torch.inference_mode():
        fmap = bb.trunk(x)  # (B, D, T', H', W')
        assert fmap.dim() == 5 and fmap.shape[:2] == (2, bb.dim)
        assert fmap.shape[3:] == (2, 2)  # 64 px / 32 (total spatial stride of every backbone)
        for grid in (1, 2, 3):
            pooled, regions = bb(x, grid)
            assert pooled.shape == (2, bb.dim)
            assert regions.shape == (2, grid * grid, bb.dim)
            assert torch.allclose(pooled, fmap.mean(dim=(2, 3, 4)))
    if name != "x3d_m":  # ResNet families: D scales exactly with the width
        assert bb.dim == int(get_spec(name).dim * TINY)


def test_pool_features_values():
    fmap = torch.arange(2 * 4 * 2 * 6 * 6, dtype=torch.float32).reshape(2, 4, 2, 6, 6)
    pooled, regions = pool_features(fmap, 3)
    assert torch.allclose(pooled, fmap.mean(dim=(2, 3, 4)))
    spatial = fmap.mean(dim=2)  # (B, D, 6, 6)
    # region 0 = top-left 2×2 block, region 5 = middle row, right column; (B, R, D) layout
    assert torch.allclose(regions[:, 0, :], spatial[:, :, 0:2, 0:2].mean(dim=(2, 3)))
    assert torch.allclose(regions[:, 5, :], spatial[:, :, 2:4, 4:6].mean(dim=(2, 3)))
    _, full = pool_features(fmap, 6)
    assert torch.allclose(full[1, 7], spatial[1, :, 1, 1])


def test_normalise_clips_values():
    frames = np.zeros((1, 2, 4, 4, 3), dtype=np.uint8)
    frames[..., 0] = 255
    x = normalise_clips(frames, (0.5, 0.5, 0.5), (0.25, 0.5, 1.0))
    assert x.shape == (1, 3, 2, 4, 4)
    assert torch.allclose(x[0, 0], torch.full((2, 4, 4), 2.0))  # (1 - 0.5) / 0.25
    assert torch.allclose(x[0, 1], torch.full((2, 4, 4), -1.0))  # (0 - 0.5) / 0.5
    assert torch.allclose(x[0, 2], torch.full((2, 4, 4), -0.5))


def test_unknown_backbone_names_valid_ones():
    with pytest.raises(InputError, match="i3d_r50.*x3d_m|valid backbones"):
        get_spec("resnet9000")


def test_resnext101_architecture():
    """3D-ResNeXt-101 32×4d: stage depths, grouped widths and strides as in Hara et al."""
    with torch.device("meta"):  # structure only: no memory, no init cost
        bb = build_backbone("resnext101_3d")
    stages = list(bb.net.blocks)[1:5]
    assert [len(s.res_blocks) for s in stages] == [3, 4, 23, 3]
    inner = [s.res_blocks[0].branch2.conv_a.out_channels for s in stages]
    out = [s.res_blocks[0].branch2.conv_c.out_channels for s in stages]
    assert inner == [128, 256, 512, 1024] and out == [256, 512, 1024, 2048]
    assert all(s.res_blocks[0].branch2.conv_b.groups == 32 for s in stages)
    assert [tuple(s.res_blocks[0].branch2.conv_b.stride) for s in stages] == [
        (1, 1, 1),
        (2, 2, 2),
        (2, 2, 2),
        (2, 2, 2),
    ]
    assert bb.dim == 2048


def test_fold_batchnorm_is_equivalent():
    torch.manual_seed(1)
    for name in ("i3d_r50", "x3d_m"):
        bb = build_backbone(name, width=TINY)
        for m in bb.modules():  # give BatchNorm non-trivial statistics
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
        x = normalise_clips(_clips(1, 8, 32), bb.spec.mean, bb.spec.std)
        with torch.inference_mode():
            ref = bb.trunk(x).clone()
        bb.optimize(fuse_bn=True, channels_last=True)
        assert fold_batchnorm(bb) == 0  # nothing left to fold
        with torch.inference_mode():
            got = bb.trunk(x)
        assert bb.optimized == ("fuse_bn", "channels_last")
        assert torch.allclose(ref, got, rtol=1e-4, atol=1e-4 * ref.abs().max().item()), name


@pytest.mark.slow
def test_full_i3d_r50_forward():
    bb = build_backbone("i3d_r50")
    x = torch.randn(1, 3, 8, 224, 224)
    with torch.inference_mode():
        fmap = bb.trunk(x)
    assert tuple(fmap.shape) == (1, 2048, 4, 7, 7)


# ---------------------------------------------------------------------------------- weights


def _tiny_source(tmp_path, fmt: str):
    torch.manual_seed(3)
    ref = build_backbone("i3d_r50", width=TINY)
    state = ref.net.state_dict()
    if fmt == "pt":
        path = tmp_path / "w.pt"
        torch.save(state, path)
    elif fmt == "pyth":
        path = tmp_path / "w.pyth"
        torch.save({"model_state": state, "epoch": 3}, path)
    else:
        from safetensors.torch import save_file

        path = tmp_path / "w.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return ref, path


@pytest.mark.parametrize("fmt", ["pt", "pyth", "safetensors"])
def test_local_weights_round_trip(tmp_path, fmt):
    ref, path = _tiny_source(tmp_path, fmt)
    src = resolve_weights("i3d_r50", str(path))
    assert src.kind == "file"
    assert src.identity == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    bb = instantiate(src, width=TINY)
    x = normalise_clips(_clips(1, 8, 32), bb.spec.mean, bb.spec.std)
    with torch.inference_mode():
        assert torch.equal(bb.trunk(x), ref.trunk(x))


def test_strict_mismatch_lists_keys(tmp_path):
    _, path = _tiny_source(tmp_path, "pt")
    src = resolve_weights("slow_r50", str(path))  # same family, other kernels: shapes differ
    with pytest.raises(WeightsError, match=r"does not match backbone 'slow_r50'.*other shapes"):
        instantiate(src, width=TINY)
    bad = tmp_path / "bad.pt"
    torch.save({"blocks.0.conv.weight": torch.zeros(1), "extra.weight": torch.zeros(1)}, bad)
    with pytest.raises(WeightsError, match=r"missing \(e\.g\. .*unexpected \(e\.g\. extra\.weight"):
        instantiate(resolve_weights("i3d_r50", str(bad)), width=TINY)


def test_not_a_state_dict(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read checkpoint") as e:
        instantiate(resolve_weights("i3d_r50", str(junk)), width=TINY)
    assert str(junk) in str(e.value)


def test_missing_registry_weights_fail_fast(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(WeightsError) as e:
        resolve_weights("i3d_r50", None, weights_dir_override=tmp_path / "cache")
    assert time.perf_counter() - t0 < 2
    msg = str(e.value)
    expected = str(tmp_path / "cache" / "I3D_8x8_R50.pyth")
    assert "'i3d_r50'" in msg and expected in msg and "--weights PATH" in msg
    with pytest.raises(WeightsError, match="no download URL"):
        resolve_weights("resnext101_3d", None, weights_dir_override=tmp_path / "cache")


def test_failed_download_leaves_nothing(tmp_path):
    target = tmp_path / "cache" / "X.pyth"
    t0 = time.perf_counter()
    with pytest.raises(WeightsError, match="download of http://127.0.0.1:9/X.pyth failed") as e:
        download("http://127.0.0.1:9/X.pyth", target, name="x3d_m", timeout_s=1)
    assert time.perf_counter() - t0 < 2
    assert str(target) in str(e.value)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_trust_on_first_use_and_mismatch(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    ckpt = cache / "I3D_8x8_R50.pyth"
    ckpt.write_bytes(b"first version")
    src = resolve_weights("i3d_r50", None, weights_dir_override=cache)
    record = cache / "I3D_8x8_R50.pyth.sha256"
    digest = hashlib.sha256(b"first version").hexdigest()
    assert src.kind == "registry" and src.identity == f"sha256:{digest}"
    assert record.read_text().split()[0] == digest
    ckpt.write_bytes(b"tampered version!")
    with pytest.raises(WeightsError, match="sha256 mismatch") as e:
        resolve_weights("i3d_r50", None, weights_dir_override=cache)
    assert digest in str(e.value) and str(ckpt) in str(e.value)


def test_random_weights_need_a_seed_and_are_deterministic():
    with pytest.raises(InputError, match="--seed"):
        resolve_weights("i3d_r50", "random")
    src = resolve_weights("i3d_r50", "random", seed=7)
    assert src.identity == "random:7" and src.to_meta()["weights"] == "random"
    a, b = instantiate(src, width=TINY), instantiate(src, width=TINY)
    c = instantiate(resolve_weights("i3d_r50", "random", seed=8), width=TINY)
    wa, wb, wc = (m.net.blocks[0].conv.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_unknown_weights_value(tmp_path):
    with pytest.raises(InputError, match="not a file and not a registry name"):
        resolve_weights("i3d_r50", str(tmp_path / "nothing.pt"))


def test_hash_memo_is_keyed_by_size_and_mtime(tmp_path):
    f = tmp_path / "big.pt"
    f.write_bytes(b"a" * 1000)
    st = f.stat()
    first = cached_sha256(f)
    f.write_bytes(b"b" * 1000)  # same size; restore the old mtime: the memo answers
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cached_sha256(f) == first
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cached_sha256(f) == hashlib.sha256(b"b" * 1000).hexdigest()


def test_hara_checkpoint_conversion():
    """A 3D-ResNets-PyTorch style state dict maps onto vloc's ResNeXt-101 layout exactly."""
    with torch.device("meta"):
        bb = build_backbone("resnext101_3d")
    own = set(bb.net.state_dict())
    hara = {"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"}
    hara |= {"fc.weight", "fc.bias"}
    for layer, depth in zip(range(1, 5), (3, 4, 23, 3), strict=True):
        for i in range(depth):
            for j in (1, 2, 3):
                hara.add(f"layer{layer}.{i}.conv{j}.weight")
                hara |= {
                    f"layer{layer}.{i}.bn{j}.{p}"
                    for p in ("weight", "bias", "running_mean", "running_var")
                }
        hara.add(f"layer{layer}.0.downsample.0.weight")
        hara |= {
            f"layer{layer}.0.downsample.1.{p}"
            for p in ("weight", "bias", "running_mean", "running_var")
        }
    converted = set(convert_hara_resnext(dict.fromkeys(hara, 0)))
    assert converted == {k for k in own if not k.endswith("num_batches_tracked")}


def test_registry_weights_must_match_the_backbone():
    with pytest.raises(InputError, match="--backbone x3d_m"):
        resolve_weights("i3d_r50", "x3d_m")
