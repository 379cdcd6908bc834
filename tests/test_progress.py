"""Feedback on long work (issue 11.10): the heartbeat line of solves and expansions."""

from __future__ import annotations

import io
import time

from fieldtheory.progress import NullBar, heartbeat


def test_short_work_prints_nothing():
    stream = io.StringIO()
    with heartbeat("solve scs", stream=stream, after=5.0):
        pass
    assert stream.getvalue() == ""


def test_long_work_shows_its_running_time_and_total():
    stream = io.StringIO()
    with heartbeat("solve scs", stream=stream, after=0.05, interval=0.05):
        time.sleep(0.3)
    text = stream.getvalue()
    assert "\rsolve scs: running 0 s" in text
    assert text.endswith("s\n") and "solve scs: done in 0." in text


def test_disabled_is_silent():
    assert isinstance(heartbeat("x", enabled=False), NullBar)
