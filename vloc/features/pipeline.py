"""The decode/compute pipeline: clips decoded in a producer thread, batched through a backbone.

A producer thread runs a :mod:`vloc.media` clip iterator (ffmpeg decode → uint8 clips) and
fills a bounded queue; the consumer takes clips off it in batches, normalises them
(uint8 → float, mean/std, ``(B, 3, T, H, W)``) and runs the backbone trunk under
``torch.inference_mode()``. Memory is bounded by the queue, not by the film's length.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from vloc.errors import InputError

STOP_POLL_S = 0.1  # how often a blocked producer checks whether the consumer gave up
JOIN_TIMEOUT_S = 10.0  # waiting for the producer (and its ffmpeg) to wind down


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


def _produce(make_iter: Callable[[], Iterator[Any]], q: queue.Queue, stop: threading.Event) -> None:
    """Producer thread: feed clips into ``q``; always close the iterator (ends ffmpeg)."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=STOP_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    it: Iterator[Any] | None = None
    try:
        it = make_iter()
        for clip in it:
            if not put(clip):
                return
        put(_END)
    except BaseException as e:  # handed to the consumer, which re-raises it
        put(_Failure(e))
    finally:
        if it is not None and hasattr(it, "close"):
            it.close()


class Overlapped:
    """Iterate ``make_iter()`` produced in a background thread through a bounded queue.

    The thread starts at construction, so decoding can begin while the model is still
    being built. Errors raised by the producer are re-raised by ``next``; :meth:`close`
    (also called on exhaustion and on errors) stops the producer and closes its iterator,
    which ends the decoder process.
    """

    def __init__(self, make_iter: Callable[[], Iterator[Any]], *, capacity: int) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=max(1, capacity))
        self._stop = threading.Event()
        self._done = False
        self._worker = threading.Thread(
            target=_produce, args=(make_iter, self._q, self._stop), daemon=True, name="vloc-decode"
        )
        self._worker.start()

    def __iter__(self) -> Overlapped:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        try:
            item = self._q.get()
        except BaseException:  # Ctrl-C while waiting: stop the producer first
            self.close()
            raise
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        self._done = True
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._q.get_nowait()
        self._worker.join(JOIN_TIMEOUT_S)


def iter_overlapped(make_iter: Callable[[], Iterator[Any]], *, capacity: int) -> Overlapped:
    """Start producing ``make_iter()``'s items in a background thread; see :class:`Overlapped`."""
    return Overlapped(make_iter, capacity=capacity)


def _batches(clips: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for clip in clips:
        batch.append(clip)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_backbone(
    backbone: Any,
    clips: Iterator[Any],
    *,
    n: int | None,
    grid: int | None,
    batch_size: int,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
    stats: dict[str, float] | None = None,
    done: dict[int, tuple[Any, Any, tuple[int, int]]] | None = None,
    on_row: Callable[[int, tuple[Any, Any, tuple[int, int]], bool], None] | None = None,
    capacity: int | None = None,
    dtype: str = "float32",
) -> tuple[Any, Any, Any]:
    """Run ``backbone`` over media clips; rows are placed by ``Clip.index``.

    Args:
        n: the number of clips expected (every index ``0..n-1`` must arrive or be in
            ``done``), or None to accept whatever contiguous run ``0..k-1`` there is (stride
            clips of a file that decodes shorter than its duration promises).
        grid: regions per side, or None for pooled features only.
        done: rows computed by an earlier run (clip index -> (pooled (D,), regions (R, D) or
            None, (start_ms, end_ms))); the iterator yields the others.
        on_row: called as ``on_row(index, row, padded)`` for every computed clip; the row's
            arrays are views of the result arrays (already in ``dtype``).
        stats: if given, ``stats["compute_s"]`` receives the seconds spent in the model
            (normalisation, trunk, pooling) as opposed to waiting for decoded clips.
        capacity: rows to allocate up front when ``n`` is None (the clips an intact file
            gives); the arrays grow if more arrive.
        dtype: of the pooled and region arrays: ``"float32"``, or the store's ``"float16"``
            (the same values as float32 cast at the end: the cast is elementwise).

    Returns:
        pooled (N, D), regions (N, grid², D) or None (in ``dtype``), spans (N, 2) int64
        (numpy arrays).

    Memory: the result arrays are allocated once, before the first batch, and every batch's
    outputs are copied into them, so nothing a batch allocates outlives it. Keeping each batch's
    small output tensors instead (a few KB per clip) left them scattered through the heap among
    the freed activations, and glibc could no longer reuse those holes for the next clip's
    multi-MB input and activations: the heap grew by about one clip of activations per clip
    (~9 MiB per cue for 16 × 224² clips), peak RSS linear in the film's length.
    """
    import numpy as np
    import torch

    from vloc.backbones import normalise_clips, pool_features

    mean, std = backbone.spec.mean, backbone.spec.std
    dim, regions_per = backbone.dim, (grid * grid if grid else 0)
    size = n if n is not None else max(capacity or 0, len(done or {}), 1)
    pooled = np.zeros((size, dim), dtype)  # (N, D)
    regions = np.zeros((size, regions_per, dim), dtype) if grid else None  # (N, g², D)
    spans = np.zeros((size, 2), np.int64)  # (N, 2) [start_ms, end_ms)
    have = np.zeros(size, bool)

    def grow(index: int) -> None:
        nonlocal pooled, regions, spans, have, size
        if n is not None:
            raise InputError(f"decoding gave clip {index} where {n} clips were expected")
        new = max(2 * size, index + 1)
        pooled = np.concatenate([pooled, np.zeros((new - size, dim), dtype)])
        if regions is not None:
            regions = np.concatenate([regions, np.zeros((new - size, regions_per, dim), dtype)])
        spans = np.concatenate([spans, np.zeros((new - size, 2), np.int64)])
        have = np.concatenate([have, np.zeros(new - size, bool)])
        size = new

    def put(index: int, p: Any, r: Any, span: tuple[int, int]) -> tuple[Any, Any, Any]:
        if index >= size:
            grow(index)
        pooled[index] = p  # float32 -> dtype, elementwise
        if regions is not None:
            regions[index] = r
        spans[index] = span
        have[index] = True
        return pooled[index], None if regions is None else regions[index], span

    for i, (p, r, span) in (done or {}).items():  # float16 rows of an earlier run (as stored)
        put(i, p, r, span)
    with torch.inference_mode():
        compute = 0.0
        for batch in _batches(clips, batch_size):
            t0 = time.perf_counter()
            frames = np.stack([c.frames for c in batch])  # (B, T, H, W, 3) uint8
            x = normalise_clips(frames, mean, std, device=device)  # (B, 3, T, H, W)
            fmap = backbone.trunk(x)  # (B, D, T', H', W')
            p, r = pool_features(fmap, grid or 1)  # (B, D), (B, g², D)
            p = p.float().cpu().numpy()
            r = r.float().cpu().numpy() if grid else None
            for b, c in enumerate(batch):
                row = put(c.index, p[b], None if r is None else r[b], (c.start_ms, c.end_ms))
                if on_row is not None:
                    on_row(c.index, row, c.padded)
            del frames, x, fmap, p, r
            compute += time.perf_counter() - t0
            if on_batch is not None:
                on_batch(len(batch))
    if stats is not None:
        stats["compute_s"] = compute
    count = n if n is not None else int(have.sum())
    missing = np.flatnonzero(~have[:count]).tolist()
    if missing or int(have.sum()) != count:
        got = np.flatnonzero(have).tolist()
        raise InputError(
            f"decoding gave clips {got[:5]}... where positions 0..{count - 1} were "
            f"expected (missing {missing[:10]})"
        )
    return pooled[:count], None if regions is None else regions[:count], spans[:count]
