"""The helpers of tests/busy.py: a leak is growth that goes on, a wait grows with the load."""
from __future__ import annotations

import busy


def test_a_level_that_steps_once_is_no_leak_but_steady_growth_is():
    assert not busy.growing([12] * 15 + [14] * 15, per_cycle=0.5)  # an earlier test's threads, once
    assert not busy.growing([12, 14, 14, 14, 14], per_cycle=0.5)  # a plateau after warm-up
    assert not busy.growing([12, 12, 12, 12, 14, 14], per_cycle=0.5)  # one step late in the run
    assert busy.growing([12, 12, 15, 18, 21], per_cycle=0.5)  # a pipeline's 3 threads left each cycle
    assert busy.growing([20 + k // 2 for k in range(30)], per_cycle=0.4)  # one every other cycle


def test_waits_stretch_with_the_load(monkeypatch):
    monkeypatch.setattr(busy.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(busy.os, "getloadavg", lambda: (1.0, 0, 0))
    assert busy.scaled(10) == 10  # half the cores busy: as on a quiet machine
    monkeypatch.setattr(busy.os, "getloadavg", lambda: (10.0, 0, 0))
    assert busy.scaled(10) == 50 and busy.scaled_ms(2000) == 10_000
    monkeypatch.setattr(busy.os, "getloadavg", lambda: (100.0, 0, 0))
    assert busy.scaled(10) == 10 * busy.MAX_STRETCH
