"""The demo's picture carries the argument: linear relative cost, priced labels, no hidden line."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import pytest

pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ctxmgr.simulation.report import Row, figure, verdict, winner  # noqa: E402

pytestmark = pytest.mark.unit

BUDGET = 1000


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _row(name: str, costs: Sequence[float], *, run: str = "session", peak: int = 900) -> Row:
    return Row(
        name=name, run=run, kind="", cached=0, uncached=0, prompt_usd=costs[-1], output_usd=0.0,
        peak=peak, summarizer_tokens=0, summarizer_usd=0.0, compactions=1, lost=0,
        tokens_by_turn=tuple(int(c * 1000) for c in costs), cost_by_turn=tuple(costs),
    )


ROWS = [
    _row("no manager", [0.10, 0.30, 0.60, 1.00], peak=1200),
    _row("realtime", [0.10, 0.28, 0.50, 0.80]),
    _row("summarize", [0.10, 0.29, 0.55, 0.90]),
    _row("token-budget", [0.10, 0.29, 0.55, 0.90]),
    _row("server truncation: auto", [0.10, 0.30, 3.00, 9.00], run="sim"),
    _row("over the budget", [0.10, 0.20, 0.30, 0.40], run="sim", peak=1500),
    _row("floor", [0.05, 0.10, 0.20, 0.30], run="DP"),
]


def _panels(fig: Figure) -> tuple[Axes, Axes]:
    top, bottom = fig.axes
    return top, bottom


def _policy_lines(ax: Axes) -> list[Line2D]:
    """The policies' lines (not the budget's horizontal line)."""
    return [line for line in ax.get_lines() if not str(line.get_label()).startswith("budget ")]


def assert_carries_the_argument(fig: Figure, rows: Sequence[Row], budget: int) -> None:
    """Linear relative cost, every label priced, twins told apart, the winner in the title."""
    top, bottom = _panels(fig)
    assert bottom.get_yscale() == "linear"
    reference = next(r for r in rows if r.name == "no manager")
    lines = _policy_lines(bottom)
    assert len(lines) == len(_policy_lines(top)) == len(rows)
    for row, line in zip(rows, lines):
        label = line.get_label()
        assert label.startswith(row.name) and f"${row.cost_usd:.3f}" in label, label
        assert f"({row.cost_usd / reference.cost_usd:.2f}x)" in label, label
        assert np.asarray(line.get_ydata())[-1] == pytest.approx(row.cost_usd / reference.cost_usd)
    for ax in (top, bottom):
        for a, b in itertools.combinations(_policy_lines(ax), 2):
            if np.array_equal(a.get_xydata(), b.get_xydata()):
                style = (a.get_linewidth(), a.get_marker(), a.get_linestyle())
                assert style != (b.get_linewidth(), b.get_marker(), b.get_linestyle())
    best = winner(rows, budget=budget)
    assert best is not None
    assert f"winner: {best.name}," in top.get_title()
    assert verdict(rows, budget=budget, presets=[])[0].startswith(
        f"cheapest within the budget: {best.name} at"
    )


def test_cost_panel_is_linear_relative_to_no_manager_with_priced_labels() -> None:
    fig = figure(ROWS, budget=BUDGET, title="t")
    assert_carries_the_argument(fig, ROWS, BUDGET)
    _, bottom = _panels(fig)
    assert set(np.asarray(_policy_lines(bottom)[0].get_ydata()).tolist()) == {1.0}
    assert "linear" in bottom.get_ylabel()


def test_an_identical_run_is_drawn_over_its_twin_and_says_same_as() -> None:
    _, bottom = _panels(figure(ROWS, budget=BUDGET, title="t"))
    summarize, token_budget = _policy_lines(bottom)[2:4]
    assert token_budget.get_label().endswith("same as summarize")
    assert token_budget.get_marker() not in ("None", "", None)
    assert summarize.get_linewidth() > token_budget.get_linewidth()
    assert token_budget.get_zorder() > summarize.get_zorder()


def test_the_winner_holds_the_budget_and_is_not_the_offline_floor() -> None:
    top, _ = _panels(figure(ROWS, budget=BUDGET, title="t"))
    assert "winner: realtime, the cheapest within the budget ($0.800, 0.80x" in top.get_title()


def test_a_ratio_too_high_for_the_panel_says_so_and_does_not_stretch_it() -> None:
    _, bottom = _panels(figure(ROWS, budget=BUDGET, title="t"))
    assert bottom.get_ylim()[1] < 2
    assert _policy_lines(bottom)[4].get_label().endswith("(9.00x), off scale")
    assert any("9.00x" in text.get_text() for text in bottom.texts)
