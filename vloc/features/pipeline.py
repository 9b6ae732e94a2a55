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
) -> tuple[Any, Any, Any]:
    """Run ``backbone`` over media clips; rows are placed by ``Clip.index``.

    Args:
        n: the number of clips expected (every index ``0..n-1`` must arrive or be in
            ``done``), or None to accept whatever contiguous run ``0..k-1`` there is (stride
            clips of a file that decodes shorter than its duration promises).
        grid: regions per side, or None for pooled features only.
        done: rows computed by an earlier run (clip index -> (pooled (D,), regions (R, D) or
            None, (start_ms, end_ms))); the iterator yields the others.
        on_row: called as ``on_row(index, row, padded)`` for every computed clip.
        stats: if given, ``stats["compute_s"]`` receives the seconds spent in the model
            (normalisation, trunk, pooling) as opposed to waiting for decoded clips.

    Returns:
        pooled (N, D) float32, regions (N, grid², D) float32 or None, spans (N, 2) int64
        (numpy arrays).
    """
    import numpy as np
    import torch

    from vloc.backbones import normalise_clips, pool_features

    mean, std = backbone.spec.mean, backbone.spec.std
    rows: dict[int, tuple[Any, Any, tuple[int, int]]] = dict(done or {})  # index -> row
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
                rows[c.index] = (p[b], None if r is None else r[b], (c.start_ms, c.end_ms))
                if on_row is not None:
                    on_row(c.index, rows[c.index], c.padded)
            compute += time.perf_counter() - t0
            if on_batch is not None:
                on_batch(len(batch))
    if stats is not None:
        stats["compute_s"] = compute
    count = n if n is not None else len(rows)
    missing = [i for i in range(count) if i not in rows]
    if missing or len(rows) != count:
        raise InputError(
            f"decoding gave clips {sorted(rows)[:5]}... where positions 0..{count - 1} were "
            f"expected (missing {missing[:10]})"
        )
    order = range(count)
    dim = backbone.dim
    # rows from ``done`` are float16 (as stored): stacking them with float32 rows gives float32,
    # exactly the values an uninterrupted run holds before the store casts them to float16
    f32 = np.float32
    pooled = np.stack([rows[i][0] for i in order]).astype(f32) if count else np.zeros((0, dim), f32)
    regions = None
    if grid:
        regions = (
            np.stack([rows[i][1] for i in order]).astype(f32)
            if count
            else np.zeros((0, grid * grid, dim), np.float32)
        )
    spans = np.array([rows[i][2] for i in order], dtype=np.int64).reshape(count, 2)
    return pooled, regions, spans
