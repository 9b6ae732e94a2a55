"""The ``vloc`` engine's decoding stage: vloc's own global-context video-guided translator.

1. **features** — per-cue clip features of the video (:func:`vloc.features.extract_features`,
   cached in the workspace), extracted with exactly the backbone, weights, fps, clip length,
   crop size and grid recorded in the model folder (``translator.json``). Skipped by the
   ``text-only`` variant.
2. **index** — the subtitle vector index (:func:`vloc.index.build_index`, cached), only for the
   variants that retrieve globally (``config.context == "global"``).
3. **context** — the segments each cue sees (:func:`vloc.index.film_context`, the same
   function training and ``vloc eval translate`` use): the top-P retrieved cues with window
   fusion (eq. 1–3, retrieved once for the film and gathered per batch), the P cues nearest in
   time with the same fusion (``no-gr*``), the cue's own raw segment (``segment-level``) or
   nothing (``text-only``).
4. **decode** — batched beam search with incremental decoding (:meth:`Translator.generate`).
   Every finished batch is appended to the journal (:mod:`vloc.decoding.journal`), keyed by
   a hash of the model, the decoding settings, the feature/index keys, the cue's source text
   and its context ids. Batches are a fixed partition of the cues, so a resumed run decodes the
   same batches as an uninterrupted one and gives byte-identical output.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from vloc.decoding.job import Decoded, FilmJob, ProgressFn, WarnFn
from vloc.decoding.journal import JOURNAL_FORMAT, Journal
from vloc.errors import InputError, VlocError, WeightsError
from vloc.fileio import stable_hash
from vloc.translator.loading import INFO_FILE, LoadedModel
from vloc.translator.options import DEFAULT_BEAM, OwnModel

if TYPE_CHECKING:
    import numpy as np

SOURCE_ADD_EOS = True  # source ids end with EOS (fairseq convention, as in training)


def decode_with_model(
    loaded: LoadedModel, job: FilmJob, options: OwnModel, *, progress: ProgressFn, warn: WarnFn
) -> Decoded:
    """Translate the film's cues with vloc's model ``loaded`` (opened for ``options.model``),
    but the cues ``job.skip`` (translated from a memory by the caller); see the module
    docstring for the stages."""
    config = loaded.model.config
    video, subtitles, texts = job.video, job.subtitles, job.texts
    n = len(texts)
    timings: dict[str, float] = {}
    _progress, _warn = progress, warn
    kind = config.context
    cache: dict[str, bool | None] = {"features": None, "index": None}
    regions = embeddings = None
    feature_key = index_key = None
    if kind != "none":
        c0 = time.perf_counter()
        regions, feature_key, cache["features"] = _cue_features(
            loaded, job, options, progress=_progress, warn=_warn
        )
        timings["features"] = time.perf_counter() - c0
    if kind == "global":
        c0 = time.perf_counter()
        embeddings, index_key, cache["index"] = _cue_embeddings(
            loaded, job, progress=_progress, warn=_warn
        )
        timings["index"] = time.perf_counter() - c0

    # every cue's context ids, and the segments they index: window-fused (eq. 2) for the
    # retrieved/temporal variants, the raw segment V_i for segment-level
    c0 = time.perf_counter()
    from vloc.features.store import release_pages
    from vloc.index import film_context

    # lazy: the film's float16 regions stay memory-mapped; each batch fuses only what it uses
    context = film_context(
        kind, texts, regions, embeddings=embeddings, lazy=True, **config.context_options
    )
    timings["context"] = time.perf_counter() - c0

    run_key = stable_hash(
        {
            "v": JOURNAL_FORMAT,
            "model": loaded.identity,
            "beam": options.beam_size,
            "features": feature_key,
            "index": index_key,
            "eos": SOURCE_ADD_EOS,
        }
    )
    skipped = set(job.skip)
    todo = [i for i in range(n) if texts[i] and i not in skipped]
    src_ids = encode_sources(loaded, [texts[i] for i in todo], warn=_warn)
    # a fixed partition of the cues: a resumed run decodes exactly the batches an
    # uninterrupted run would have
    batches = [
        [todo[k] for k in rows]
        for rows in length_batches(
            [len(ids) for ids in src_ids], options.batch_size, options.batch_tokens
        )
    ]
    ids_of = {i: src_ids[k] for k, i in enumerate(todo)}
    translations: dict[int, str] = {}
    reused = decoded = ran = 0
    decode_s = 0.0
    _progress("decode", 0, len(batches))
    # read under the lock: a run that waited for another reuses every batch it journaled
    with Journal.open(video, job.workdir, subtitles, job.to, run_key, notify=_warn) as journal:
        for b, rows in enumerate(batches):
            c0 = time.perf_counter()
            ids = None if context.ids is None else context.ids[rows]  # (B, P)
            vid, vmask = context.gather(rows)  # (B, P, R, D) float32, (B, P); None: text-only
            if regions is not None:
                release_pages(regions)  # the rows just read: RSS stays flat over a long film
            keys = [
                stable_hash(
                    {
                        "run": run_key,
                        "text": texts[i],
                        "ctx": None if ids is None else ids[r].tolist(),
                    }
                )
                for r, i in enumerate(rows)
            ]
            timings["context"] += time.perf_counter() - c0
            if all(k in journal.entries for k in keys):
                translations.update(
                    (i, journal.entries[k]) for i, k in zip(rows, keys, strict=True)
                )
                reused += len(rows)
            else:
                c0 = time.perf_counter()
                outs = decode_batch(
                    loaded,
                    [ids_of[i] for i in rows],
                    vid,
                    vmask,
                    beam_size=options.beam_size,
                    device=job.device,
                )
                journal.append(list(zip(keys, outs, strict=True)))
                translations.update(zip(rows, outs, strict=True))
                decoded += len(rows)
                ran += 1
                decode_s += time.perf_counter() - c0
            _progress("decode", b + 1, len(batches))
    timings["decode"] = decode_s

    return Decoded(
        translations=translations,
        translated=decoded,
        reused=reused,
        batches=ran,
        journal=journal.path,
        model=loaded.name,
        variant=config.variant,
        source_lang=loaded.source_lang,
        target_lang=loaded.target_lang,
        cache=cache,
        timings=timings,
    )


def _feature_options(loaded: LoadedModel, job: FilmJob, options: OwnModel, warn: WarnFn) -> Any:
    from vloc.features import FeatureOptions

    spec = dict(loaded.features or {})
    if loaded.features is None:
        warn(
            f"model {loaded.name!r} records no feature settings ({INFO_FILE}); "
            "using the default backbone and weights"
        )
    return FeatureOptions(
        **spec,
        device=job.device,
        encoding=job.encoding,
        allow_truncated=options.allow_truncated,
        backbone_path=options.backbone_path,
    )


def _cue_features(
    loaded: LoadedModel,
    job: FilmJob,
    options: OwnModel,
    *,
    progress: ProgressFn,
    warn: WarnFn,
) -> tuple[np.ndarray, str, bool]:
    """(per-cue segment features ``(N, R, D_v)`` float16, memory-mapped from the store, their
    store key, cache hit)."""
    from vloc.features import extract_features
    from vloc.features.store import map_tensor, read_meta

    if not job.video.is_file():
        raise InputError("video not found", path=job.video)
    config, n = loaded.model.config, len(job.texts)
    result = extract_features(
        job.video,
        subs=job.subtitles,
        options=_feature_options(loaded, job, options, warn),
        workdir=job.workdir,
        progress=lambda _kind, done, total: progress("features", done, total),
        warn=warn,
    )
    entry = result.outputs["cues"]
    meta = read_meta(entry)
    regions = map_tensor(entry, "regions", meta)  # (N, R, D_v) float16
    if regions.ndim != 3 or regions.shape[0] != n:
        rows = regions.shape[0] if regions.ndim else 0
        raise VlocError(
            f"cue features have {rows} rows for {n} cues; delete this entry and retry", path=entry
        )
    if regions.shape[1:] != (config.video_regions, config.video_dim):
        raise WeightsError(
            f"features are (R={regions.shape[1]}, D={regions.shape[2]}) per cue but the model "
            f"expects (R={config.video_regions}, D={config.video_dim}): record the backbone and "
            f"grid it was trained with in {INFO_FILE}",
            path=loaded.path,
        )
    return regions, str(meta.get("key") or entry.name), result.cache_hit


def _cue_embeddings(
    loaded: LoadedModel,
    job: FilmJob,
    *,
    progress: ProgressFn,
    warn: WarnFn | None = None,
) -> tuple[np.ndarray, str, bool]:
    """(subtitle embeddings ``(N, E)`` unit rows, the index key, cache hit)."""
    from vloc.index import build_index

    result = build_index(
        job.video,
        job.subtitles,
        encoder=loaded.index_encoder,
        encoding=job.encoding,
        workdir=job.workdir,
        progress=lambda done, total: progress("index", done, total),
        warn=warn,
        private=True,  # never replaces the index `vloc index` built with another encoder
    )
    return result.index.embeddings(), str(result.index.manifest.get("key")), result.cached


def encode_sources(
    loaded: LoadedModel, texts: list[str], *, warn: WarnFn | None = None
) -> list[list[int]]:
    """Source token ids per text (EOS last), truncated to the model's ``max_source_len``."""
    config = loaded.model.config
    out, truncated = [], 0
    for ids in loaded.src_tokenizer.encode_batch(texts, add_eos=SOURCE_ADD_EOS):
        if len(ids) > config.max_source_len:
            truncated += 1
            ids = ids[: config.max_source_len - 1] + [config.eos_id]
        out.append(ids)
    if truncated and warn is not None:
        warn(f"{truncated} cue(s) longer than {config.max_source_len} tokens were truncated")
    return out


def length_batches(lengths: list[int], batch_size: int, batch_tokens: int) -> list[list[int]]:
    """A fixed partition of ``range(len(lengths))`` into decoding batches: sorted by length
    (ties by position, so batches pad little and the partition depends on the lengths only),
    each at most ``batch_size`` rows and at most ``batch_tokens`` padded tokens (rows × the
    longest) — one row always fits. The token bound keeps a batch's beam-search memory the
    same whether the film's longest line has 40 tokens or 120."""
    order = sorted(range(len(lengths)), key=lambda k: (lengths[k], k))
    batches: list[list[int]] = []
    rows: list[int] = []
    for k in order:  # ascending, so the newest row is the batch's longest
        if rows and (len(rows) >= batch_size or (len(rows) + 1) * lengths[k] > batch_tokens):
            batches.append(rows)
            rows = []
        rows.append(k)
    if rows:
        batches.append(rows)
    return batches


def decode_batch(
    loaded: LoadedModel,
    src_ids: list[list[int]],
    video: np.ndarray | None,
    video_mask: np.ndarray | None,
    *,
    beam_size: int = DEFAULT_BEAM,
    device: str = "cpu",
) -> list[str]:
    """Translate one batch: source ids (B lists), video ``(B, P, R, D_v)`` float32 and its mask
    ``(B, P)`` bool (None for text-only) -> B target texts."""
    import torch

    config = loaded.model.config
    length = max(len(ids) for ids in src_ids)
    src = torch.full((len(src_ids), length), config.pad_id, dtype=torch.long)  # (B, L)
    for r, ids in enumerate(src_ids):
        src[r, : len(ids)] = torch.tensor(ids)
    src_mask = src != config.pad_id
    video_t = mask_t = None
    if video is not None and video_mask is not None:
        video_t = torch.from_numpy(video).to(device)  # (B, P, R, D_v)
        mask_t = torch.from_numpy(video_mask).to(device)  # (B, P)
    result = loaded.model.generate(
        src.to(device), src_mask.to(device), video_t, mask_t, beam_size=beam_size
    )
    return loaded.tgt_tokenizer.decode_batch(result.tokens)
