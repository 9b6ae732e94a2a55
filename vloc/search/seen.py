"""The seen side of a query: the model whose clip embeddings the indexes hold, found, checked
by content hash and loaded, and the query's embedding in that model's space.

That model is a trained align model (:mod:`vloc.align.model`: the query goes through its
text encoder and text head, any language the encoder knows) or a CLIP model
(:mod:`vloc.align.clip`: the query goes through CLIP's text tower, English only).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vloc.align.clip import CLIP_KIND, CLIP_PREFIX, is_clip_model, is_clip_spec
from vloc.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from vloc.align.clip import ClipRef, LoadedClip
    from vloc.align.model import LoadedAlign
    from vloc.encoders import Encoder
    from vloc.search.indexes import IndexSet

SeenModel = Any  # LoadedAlign | LoadedClip: what embeds a query into the clips' space


def align_for(
    indexes: IndexSet, sha: str, align: str | Path | LoadedAlign | LoadedClip | ClipRef | None
) -> LoadedAlign | LoadedClip:
    """The align or CLIP model whose clips the indexes hold (checked by content hash)."""
    from vloc.align.clip import ClipRef, find_clip
    from vloc.align.model import LoadedAlign, load_align

    clips = indexes.indexes[0].clips
    assert clips is not None, "check_clips passed"
    recorded = clips.info["align"]
    folder = Path(str(recorded.get("folder", "")))
    model: Any
    if align is None and recorded.get("kind") == CLIP_KIND:
        hub = clips.align_name[len(CLIP_PREFIX) :]
        if folder.is_dir():
            model = replace(find_clip(str(folder)), spec=clips.align_name)
        elif is_clip_spec(clips.align_name) and not Path(hub).is_absolute():
            model = find_clip(clips.align_name)  # a hub name: the offline model cache
        else:
            raise InputError(
                f"the CLIP model {clips.align_name!r} the indexes were built with is no longer "
                f"at {folder}; pass it with --align clip:PATH",
                path=indexes.indexes[0].folder,
            )
    elif align is None:
        if not folder.is_dir():
            raise InputError(
                f"the align model {clips.align_name!r} the indexes were built with is no longer "
                f"at {folder}; pass its folder with --align",
                path=indexes.indexes[0].folder,
            )
        model = load_align(folder)
    elif isinstance(align, LoadedAlign) or is_clip_model(align):
        model = align
    elif is_clip_spec(align):
        model = find_clip(str(align))
    else:
        model = load_align(align)
    if model.sha256 != sha:
        raise InputError(
            f"the indexes hold clips of align model {clips.align_name!r} (sha256 {sha[:12]}) "
            f"but {model.folder} has sha256 {model.sha256[:12]}; query with the same model or "
            "re-index"
        )
    return model.load() if isinstance(model, ClipRef) else model


def encode_seen(model: SeenModel, text_encoder: Encoder | None, texts: list[str]) -> np.ndarray:
    """Queries → unit rows ``(Q, D')`` in the clips' space: CLIP's text tower, or the align
    model's ``text_encoder`` then its text head."""
    from vloc.encoders import QUERY_THREADS

    if is_clip_model(model):
        return model.encode_text(texts)
    assert text_encoder is not None, "an align model needs its text encoder"
    emb = text_encoder.encode(texts, threads=QUERY_THREADS)  # (Q, D_t)
    return model.project_text(emb)


def align_text_encoder(model: LoadedAlign) -> Encoder:
    """The align model's text encoder (by its recorded name, checked by content hash)."""
    from vloc.encoders import load_encoder, resolve_encoder

    want = model.encoder
    ref = resolve_encoder(str(want["name"]))
    if ref.sha256 != want["sha256"]:
        raise InputError(
            f"the align model was trained on text encoder {want['name']!r} (sha256 "
            f"{str(want['sha256'])[:12]}) but that name now resolves to sha256 {ref.sha256[:12]}",
            path=model.folder,
        )
    return load_encoder(ref)


__all__ = ["align_for", "align_text_encoder", "encode_seen"]
