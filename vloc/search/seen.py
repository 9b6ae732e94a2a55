"""The seen side of a query: the model whose clip embeddings the indexes hold, loaded and
checked by content hash, and the query's embedding in that model's space."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vloc.errors import InputError

if TYPE_CHECKING:
    from vloc.align.model import LoadedAlign
    from vloc.encoders import Encoder
    from vloc.search.indexes import IndexSet


def align_for(indexes: IndexSet, sha: str, align: str | Path | LoadedAlign | None) -> LoadedAlign:
    """The align model whose clips the indexes hold (checked by content hash)."""
    from vloc.align.model import LoadedAlign, load_align

    clips = indexes.indexes[0].clips
    assert clips is not None, "check_clips passed"
    if align is None:
        folder = Path(str(clips.info["align"].get("folder", "")))
        if not folder.is_dir():
            raise InputError(
                f"the align model {clips.align_name!r} the indexes were built with is no longer "
                f"at {folder}; pass its folder with --align",
                path=indexes.indexes[0].folder,
            )
        model = load_align(folder)
    else:
        model = align if isinstance(align, LoadedAlign) else load_align(align)
    if model.sha256 != sha:
        raise InputError(
            f"the indexes hold clips of align model {clips.align_name!r} (sha256 {sha[:12]}) "
            f"but {model.folder} has sha256 {model.sha256[:12]}; query with the same model or "
            "re-index"
        )
    return model


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


__all__ = ["align_for", "align_text_encoder"]
