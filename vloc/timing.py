"""Seconds per stage of a run, for the ``timings`` that results report."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Stopwatch:
    """Wall-clock seconds per named stage, in the order the stages first finish.

    ``with clock("read"): ...`` adds the block's seconds to ``clock.seconds["read"]`` (a stage
    timed twice accumulates; a block that raises still counts), :meth:`add` adds seconds measured
    elsewhere, and :meth:`stop` records the seconds since the stopwatch was made.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}  # stage -> s
        self._start = time.perf_counter()

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - begin)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def stop(self, stage: str = "total") -> dict[str, float]:
        """Record ``stage`` as the seconds since the start; return :attr:`seconds`."""
        self.seconds[stage] = time.perf_counter() - self._start
        return self.seconds
