"""vloc.timing.Stopwatch: seconds per stage, accumulated, in the order stages first finish."""

from __future__ import annotations

import time

import pytest

from vloc.timing import Stopwatch

NAP_S = 0.02  # s, long enough to measure on a busy machine


def test_stages_accumulate_in_order_and_total_covers_them():
    clock = Stopwatch()
    with clock("read"):
        time.sleep(NAP_S)
    clock.add("decode", 1.5)
    with clock("read"):  # a stage timed twice adds up
        time.sleep(NAP_S)
    with pytest.raises(RuntimeError), clock("write"):  # a failing block still counts
        time.sleep(NAP_S)
        raise RuntimeError("disk full")
    seconds = clock.stop()
    assert list(seconds) == ["read", "decode", "write", "total"]
    assert seconds["read"] >= 2 * NAP_S and seconds["write"] >= NAP_S
    assert seconds["decode"] == 1.5
    assert seconds["total"] >= seconds["read"] + seconds["write"]
    assert seconds["total"] < seconds["read"] + seconds["write"] + 1.0
