import pytest

from ctxmgr import Settings, Trigger

pytestmark = pytest.mark.unit


def test_token_trigger_fires_at_high_water_mark() -> None:
    t = Trigger.from_settings(Settings(policy="summarize", max_tokens=10000))
    assert not t.check(tokens=7999, items=10).fire
    assert t.check(tokens=8000, items=10).held == ("tokens",)


def test_any_mode_fires_on_one_condition() -> None:
    t = Trigger(tokens=1000, items=50, mode="any")
    assert t.check(tokens=10, items=50).fire
    assert not t.check(tokens=10, items=49).fire


def test_all_mode_needs_every_condition() -> None:
    t = Trigger(tokens=1000, items=50, mode="all")
    assert not t.check(tokens=2000, items=10).fire
    assert t.check(tokens=2000, items=60).fire


def test_window_fraction_trigger() -> None:
    s = Settings(
        max_tokens=30000,
        trigger={"budget_fraction": None, "window_fraction": 0.5, "context_window": 32000},
    )
    t = Trigger.from_settings(s)
    assert t.tokens is None and t.window_tokens == 16000
    assert t.check(tokens=16000, items=1).held == ("window_fraction",)


def test_no_condition_never_fires() -> None:
    assert not Trigger().check(tokens=10**9, items=10**9).fire
