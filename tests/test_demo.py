"""`make demo` runs offline: every policy in one table, nothing lost, the picture written."""

from __future__ import annotations

import re
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from ctxmgr import available_presets
from ctxmgr.simulation import main, run
from ctxmgr.simulation.report import Row, figure, winner

pytestmark = pytest.mark.session

DEMO = Path(__file__).resolve().parent.parent / "examples" / "token_budget.py"
BASELINES = (
    "no manager",
    "server truncation: auto",
    "server truncation: retention 0.8",
    "cookbook summarizer",
    "naive: _summarize every turn",
    "floor: summarize, tail >= 1",
    "floor: trim, tail >= 1",
)


def _table(out: str) -> dict[str, list[str]]:
    """Rows of the printed table by policy name (the name is everything before the run)."""
    body = out.split("\n-", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    rows: dict[str, list[str]] = {}
    for line in body:
        m = re.match(r"(.+?)\s{2,}(session|sim|DP)\s", line)
        assert m, line
        rows[m.group(1)] = line.split()
    return rows


def test_the_floor_prices_its_schedule_as_the_cost_model_bills_it() -> None:
    from ctxmgr import TokenCounter
    from ctxmgr.cost import CostModel, PromptBill, load_prices
    from ctxmgr.simulation.baselines import Replay, floor
    from ctxmgr.simulation.stand_in import SupportAgent, tools_tokens
    from ctxmgr.simulation.support_call import support_call

    prices = load_prices()
    realtime, mini = prices["gpt-realtime"], prices["gpt-4o-mini"]
    call, counter = support_call(40), TokenCounter()
    replay = Replay(call, counter, tools_tokens(SupportAgent(call, lambda *_: None).tools, counter))
    for mode, tail in (("summary", 1), ("drop", 1), ("summary", 4)):
        found = floor(
            replay, realtime, budget=6000, mode=mode, summarizer=mini, min_tail_turns=tail
        )
        responses = found.result.responses
        bills = CostModel(realtime).bill([r.context for r in responses])
        assert found.cuts and found.result.lost == 0
        assert realtime.usd(sum(bills, PromptBill())) == pytest.approx(found.prompt_usd, abs=1e-12)
        assert max(sum(i.tokens for i in r.context) for r in responses) <= 6000


def test_demo_prints_every_policy_loses_nothing_and_writes_the_picture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "token_budget.png"
    assert main(["--turns", "30", "--budget", "5000", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "offline stand-in" in out
    rows = _table(out)
    assert set(rows) == {*BASELINES, *available_presets()}
    for name, cells in rows.items():
        assert cells[-1] == "0", f"{name} lost {cells[-1]} items"
    for preset in available_presets():
        assert "!" not in rows[preset][-7], f"{preset} went over the budget"
        assert int(rows[preset][-2]) >= 1, f"{preset} never compacted"
    assert "bills the same as the session's" in out
    # what a summary keeps is the real-model benchmark's, not the stand-in's
    assert "see bench/quality.md (make quality)" in out
    assert not re.search(r"\bfacts\b|recall@3|retrievable", out)
    assert png.stat().st_size > 10_000


def test_demo_prints_the_table_without_matplotlib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    png = tmp_path / "token_budget.png"
    assert main(["--turns", "12", "--budget", "3000", "--png", str(png), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out
    assert set(_table(out)) == {*BASELINES, *available_presets()}
    assert not png.exists()


def test_examples_script_runs_the_simulation(tmp_path: Path) -> None:
    namespace = runpy.run_path(str(DEMO), run_name="not_main")
    assert namespace["main"] is main


def test_demo_picture_carries_the_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The picture drawn from the demo's own rows names the winner its table does."""
    import matplotlib.pyplot as plt

    from .test_report_figure import assert_carries_the_argument

    drawn: list[tuple[Sequence[Row], int]] = []
    plot = run.plot

    def keep(rows: Sequence[Row], *, budget: int, path: Path, title: str) -> None:
        drawn.append((rows, budget))
        plot(rows, budget=budget, path=path, title=title)

    monkeypatch.setattr(run, "plot", keep)
    png = tmp_path / "token_budget.png"
    assert run.main(["--turns", "30", "--budget", "5000", "--png", str(png), "--no-progress"]) == 0
    [(rows, budget)] = drawn
    fig = figure(rows, budget=budget, title="t")
    assert_carries_the_argument(fig, rows, budget)
    plt.close(fig)
    best = winner(rows, budget=budget)
    assert best is not None
    assert f"cheapest within the budget: {best.name} at" in capsys.readouterr().out
    assert png.stat().st_size > 10_000
