"""Backbone weights: resolve, verify, download and load, separately from the architecture.

A ``--weights`` value is one of

* a local file (``.pyth``/``.pt``/``.pth``/``.ckpt`` loaded with
  ``torch.load(..., weights_only=True)``, or ``.safetensors``); pytorchvideo checkpoints
  nest the state dict under ``"model_state"``, others under ``"state_dict"``/``"model"``;
* a registry name (a key of :data:`vloc.backbones.REGISTRY`, the default being the
  backbone's own name): its published checkpoint, looked for in the weights cache
  ``$VLOC_WEIGHTS_DIR`` or ``vloc_home()/weights`` (``--weights-dir`` overrides both) and
  downloaded there on first use when a URL is known;
* ``random`` with a seed: random initialisation, never chosen silently.

Integrity: the checkpoints' publishers give no checksums, so vloc trusts the file on first
use: the sha256 of the file as first downloaded (or first found in the cache) is recorded
beside it as ``<file>.sha256`` and every later use verifies it.

The weights identity (``sha256:<hex>`` of the file, or ``random:<seed>``) is part of every
feature cache key. Hashing a large file once is cached in ``vloc_home()/weights-hashes.json``
keyed by (absolute path, size, mtime_ns), so repeated runs do not re-hash.
Everything up to :func:`load_state_dict` works without importing torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.backbones.registry import REGISTRY, get_spec
from vloc.checkpoints import safe_torch_load
from vloc.errors import InputError, VlocError, WeightsError
from vloc.fileio import (
    HASH_CHUNK,
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    read_json,
    sha256_file,
)
from vloc.guard import note_read
from vloc.workspace import vloc_home

if TYPE_CHECKING:
    import torch

RANDOM = "random"
WEIGHTS_DIR_ENV = "VLOC_WEIGHTS_DIR"
OFFLINE_ENVS = ("VLOC_OFFLINE", "HF_HUB_OFFLINE")  # any set to 1/true: never download
DOWNLOAD_TIMEOUT_S = 10.0  # per socket operation: no network fails in well under a second here
HASH_CACHE_NAME = "weights-hashes.json"
NESTED_KEYS = ("model_state", "state_dict", "model")  # pytorchvideo, Lightning/Hara, others
MAX_LISTED_KEYS = 5  # keys named in a mismatch error


@dataclass(frozen=True)
class WeightsSource:
    """Where a backbone's weights come from."""

    backbone: str  # registry name of the architecture
    kind: str  # "file" (local path), "registry" (cached published checkpoint) or "random"
    identity: str  # "sha256:<hex>" or "random:<seed>": part of feature cache keys
    path: Path | None = None  # the checkpoint file (kind file/registry)
    seed: int | None = None  # kind random: the torch seed used to initialise
    label: str = ""  # what the user asked for, for messages and metadata

    @property
    def is_random(self) -> bool:
        return self.kind == RANDOM

    def to_meta(self) -> dict[str, Any]:
        """The metadata recorded with features."""
        if self.is_random:
            return {"weights": RANDOM, "seed": self.seed, "weights_id": self.identity}
        # the file name only: where the cache lives must not change recorded metadata
        name = self.path.name if self.path is not None else None
        return {"weights": self.label, "weights_id": self.identity, "weights_file": name}


def weights_dir(override: str | Path | None = None) -> Path:
    """The weights cache: ``override``, else ``$VLOC_WEIGHTS_DIR``, else ``vloc_home()/weights``."""
    if override is not None:
        return Path(override).expanduser()
    if env := os.environ.get(WEIGHTS_DIR_ENV):
        return Path(env).expanduser()
    return vloc_home() / "weights"


def cached_sha256(path: str | Path) -> str:
    """sha256 of ``path``, memoised in vloc_home by (absolute path, size, mtime_ns)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as e:
        raise InputError(f"cannot read weights: {e.strerror or e}", path=path) from e
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = vloc_home() / HASH_CACHE_NAME
    table: dict[str, str] = read_json(
        cache_file, what="weights hash memo", require_object=True, default={}
    )
    if isinstance(table.get(key), str):
        return table[key]
    digest = sha256_file(path, what="weights")
    table[key] = digest
    # the memo is an optimisation: an unwritable home only costs a re-hash next time
    with contextlib.suppress(OSError, VlocError):
        atomic_write_json(cache_file, table)
    return digest


def _offline() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes") for k in OFFLINE_ENVS)


def _missing(name: str, target: Path, why: str) -> WeightsError:
    return WeightsError(
        f"no weights for {name!r}: {why}. Provide them with "
        f"--weights PATH (a local .pyth/.pt/.pth/.safetensors file), or copy the checkpoint "
        f"to {target}; --weights random --seed N runs with random weights (for testing only)",
        path=target,
    )


def download(url: str, target: Path, *, name: str, timeout_s: float = DOWNLOAD_TIMEOUT_S) -> str:
    """Download ``url`` to ``target`` atomically; return its sha256. WeightsError on failure."""
    h = hashlib.sha256()
    with atomic_path(target) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp, open(tmp, "wb") as out:
                while chunk := resp.read(HASH_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            # no network, DNS failure, HTTP error, timeout: the temporary file is removed
            reason = getattr(e, "reason", None) or e
            raise _missing(name, target, f"download of {url} failed ({reason})") from e
    return h.hexdigest()


def _verify(name: str, path: Path, digest: str) -> None:
    """Check ``digest`` against the one recorded on first use (recording it the first time)."""
    record = path.with_name(path.name + ".sha256")
    if not record.is_file():
        # trust on first use: remember what we saw
        atomic_write_text(record, f"{digest}  {path.name}\n")
        return
    expected = record.read_text(encoding="utf-8").split()[0].strip().lower()
    if digest != expected:
        raise WeightsError(
            f"sha256 mismatch for {name!r} weights: expected {expected}, file has {digest}; "
            f"the file is corrupt or not the published checkpoint: delete it and retry, "
            f"or pass the right file with --weights PATH",
            path=path,
        )


def resolve_weights(
    backbone: str,
    weights: str | Path | None = None,
    *,
    seed: int | None = None,
    weights_dir_override: str | Path | None = None,
    allow_download: bool = True,
) -> WeightsSource:
    """Turn a ``--weights`` value into a verified :class:`WeightsSource` (no torch import).

    Args:
        backbone: the architecture (registry name).
        weights: ``None`` (the backbone's published checkpoint), a registry name, a path,
            or ``"random"``.
        seed: required with ``"random"`` (:class:`InputError` otherwise).
        weights_dir_override: the cache folder for registry checkpoints.
        allow_download: try the published URL when the checkpoint is not cached
            (also disabled by ``VLOC_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``).

    Raises:
        WeightsError: the checkpoint is not cached and cannot be downloaded, or fails
            verification; the message names the model and the exact cache path.
        InputError: unknown name, a path that does not exist, random without a seed.
    """
    get_spec(backbone)
    label = str(weights) if weights is not None else backbone
    if label == RANDOM:
        if seed is None:
            raise InputError("--weights random needs --seed N (random weights are never implicit)")
        return WeightsSource(backbone, RANDOM, f"random:{int(seed)}", seed=int(seed), label=RANDOM)
    if label in REGISTRY:
        if label != backbone:
            raise InputError(
                f"--weights {label} names the published checkpoint of backbone {label}, "
                f"not of {backbone}; use --backbone {label}, or pass a checkpoint file"
            )
        spec = REGISTRY[label]
        folder = weights_dir(weights_dir_override)
        if spec.weights_url is None:
            target = folder / f"{label}.pth"
            if not target.is_file():
                raise _missing(label, target, "its checkpoint has no download URL")
        else:
            target = folder / Path(spec.weights_url).name
            if not target.is_file():
                if not allow_download or _offline():
                    raise _missing(label, target, "not in the cache and downloads are disabled")
                digest = download(spec.weights_url, target, name=label)
                _verify(label, target, digest)
                return WeightsSource(backbone, "registry", f"sha256:{digest}", target, label=label)
        digest = cached_sha256(target)
        _verify(label, target, digest)
        return WeightsSource(backbone, "registry", f"sha256:{digest}", target, label=label)
    path = Path(label).expanduser()
    if not path.exists():
        valid = ", ".join(sorted(REGISTRY))
        raise InputError(
            f"weights not found: not a file and not a registry name (valid names: {valid}, "
            f"or {RANDOM} with --seed)",
            path=path,
        )
    if not path.is_file():
        raise InputError("weights must be a checkpoint file, not a folder", path=path)
    return WeightsSource(backbone, "file", f"sha256:{cached_sha256(path)}", path, label=str(path))


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint's tensors without unpickling arbitrary objects.

    ``.safetensors`` via safetensors; anything else with ``torch.load(weights_only=True)``,
    unwrapping ``model_state`` / ``state_dict`` / ``model`` and a ``module.`` prefix.
    """
    import torch

    path = Path(path)
    note_read(path, "model weights")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(path), device="cpu")
        else:
            obj = safe_torch_load(path)
    except WeightsError:
        raise
    except Exception as e:  # corrupt files raise many types (pickle, zip, safetensors errors)
        raise WeightsError(f"cannot read checkpoint: {type(e).__name__}: {e}", path=path) from e
    for key in NESTED_KEYS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(
            "not a state dict: expected a mapping of parameter names to tensors "
            f"(optionally under one of {', '.join(NESTED_KEYS)})",
            path=path,
        )
    if obj and all(k.startswith("module.") for k in obj):  # saved from DataParallel
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return obj


_HARA_LAYER = re.compile(r"^layer(\d)\.(\d+)\.(conv[123]|bn[123]|downsample\.[01])\.(.+)$")
_HARA_NAMES = {
    "conv1": "branch2.conv_a",
    "bn1": "branch2.norm_a",
    "conv2": "branch2.conv_b",
    "bn2": "branch2.norm_b",
    "conv3": "branch2.conv_c",
    "bn3": "branch2.norm_c",
    "downsample.0": "branch1_conv",
    "downsample.1": "branch1_norm",
}


def convert_hara_resnext(state: dict[str, Any]) -> dict[str, Any]:
    """Rename a 3D-ResNets-PyTorch (Hara et al.) ResNeXt checkpoint to vloc's layout.

    ``conv1/bn1`` → the stem, ``layerL.i.{conv,bn}{1,2,3}`` → ``blocks.L.res_blocks.i.branch2``,
    ``downsample.{0,1}`` → ``branch1_{conv,norm}``, ``fc`` → the head's projection.
    """
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith(("conv1.", "bn1.")):
            mod, rest = key.split(".", 1)
            out[f"blocks.0.{'conv' if mod == 'conv1' else 'norm'}.{rest}"] = value
        elif key.startswith("fc."):
            out["blocks.5.proj." + key[3:]] = value
        elif m := _HARA_LAYER.match(key):
            layer, block, name, rest = m.groups()
            out[f"blocks.{layer}.res_blocks.{block}.{_HARA_NAMES[name]}.{rest}"] = value
        else:
            out[key] = value
    return out


def load_state_dict(
    module: torch.nn.Module, state: dict[str, Any], *, name: str, path: Path
) -> None:
    """Strictly load ``state`` into ``module``; WeightsError listing a few bad keys otherwise.

    BatchNorm ``num_batches_tracked`` counters (absent from old checkpoints, unused at
    inference) are the one tolerated difference.
    """
    import torch

    own = module.state_dict()
    state = dict(state)
    for k in own:
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = torch.zeros((), dtype=torch.long)
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:MAX_LISTED_KEYS])})")
        if unexpected:
            parts.append(
                f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:MAX_LISTED_KEYS])})"
            )
        if wrong:
            shapes = ", ".join(
                f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
                for k in wrong[:MAX_LISTED_KEYS]
            )
            parts.append(f"{len(wrong)} with other shapes (e.g. {shapes})")
        raise WeightsError(
            f"checkpoint does not match backbone {name!r}: " + "; ".join(parts), path=path
        )
    module.load_state_dict(state, strict=True)


def instantiate(source: WeightsSource, *, width: float = 1.0) -> Any:
    """Build ``source.backbone`` and give it its weights; returns a ``Backbone`` in eval mode.

    Random weights are drawn under ``torch.manual_seed(seed)`` without disturbing the
    caller's global RNG state.
    """
    import torch

    from vloc.backbones import build_backbone

    if source.is_random:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(source.seed or 0))
            return build_backbone(source.backbone, width=width)
    backbone = build_backbone(source.backbone, width=width)
    assert source.path is not None, "a file or registry weights source always has a path"
    state = read_state_dict(source.path)
    if source.backbone == "resnext101_3d" and any(k.startswith("layer1.") for k in state):
        state = convert_hara_resnext(state)
    load_state_dict(backbone.net, state, name=source.backbone, path=source.path)
    return backbone.eval()
