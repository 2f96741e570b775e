"""What each policy bills: the scripted support call, 120 turns and a 60-minute call.

Runs ``ctxmgr.simulation`` (the same code as ``make demo``) and reads its table:
every preset in a real AgentSession, beside the baselines and the offline floor.
"""

from __future__ import annotations

import contextlib
import io
import re

from _markdown import Section, Target

from ctxmgr.presets import available_presets
from ctxmgr.settings import Settings
from ctxmgr.simulation import main as simulate

CALLS = ((120, "120-turn script (~20 minutes)"), (370, "60-minute audio call (370 turns)"))
BUDGET = 16_000
BASELINES = (
    "no manager",
    "server truncation: auto",
    "server truncation: retention 0.8",
    "cookbook summarizer",
    "naive: _summarize every turn",
)
FLOOR = "floor: summarize, tail >= 1"
# columns of the simulation's table after the policy name
PEAK, COST, COMPACTIONS, LOST = 4, 7, 9, 10


def _rows(turns: int) -> dict[str, list[str]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = simulate(
            ["--turns", str(turns), "--budget", str(BUDGET), "--no-progress", "--no-png"]
        )
    assert code == 0, out.getvalue()
    body = out.getvalue().split("\n-", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    rows: dict[str, list[str]] = {}
    for line in body:
        m = re.match(r"(.+?)\s{2,}(session|sim|DP)\s+(.*)$", line)
        if m:
            rows[m.group(1)] = [m.group(2), *m.group(3).split()]
    return rows


def section() -> Section:
    """The cost table of both calls, and the cost targets checked on each."""
    s = Section(
        title="What each policy bills",
        intro=(
            f"The scripted support call at gpt-realtime prices (speech billed as audio,"
            f" summaries at gpt-4o-mini's), budget {BUDGET:,} tokens, all in one run: presets"
            " in a real AgentSession with the stand-in model, baselines simulated over the"
            " same contexts, the floor found offline (DP). *x floor* is the cost over the"
            f" floor that summarizes (`{FLOOR}`). What a summary keeps is measured with a"
            " real model: `bench/quality.md` (`make quality`)."
        ),
        header=("call", "policy", "cost $", "x floor", "compactions", "peak tokens", "lost"),
    )
    presets = available_presets()
    summarizing = [
        p for p in presets if Settings(policy=p, max_tokens=BUDGET).strategy != "trim"
    ]
    for turns, label in CALLS:
        rows = _rows(turns)
        floor_usd = float(rows[FLOOR][COST])
        for name in (*presets, *BASELINES, FLOOR):
            cells = rows[name]
            cost = float(cells[COST])
            s.rows.append(
                (label, name, f"{cost:.3f}", f"{cost / floor_usd:.2f}", cells[COMPACTIONS],
                 cells[PEAK], cells[LOST])
            )
        best = min(summarizing, key=lambda p: float(rows[p][COST]))
        best_usd = float(rows[best][COST])
        cheapest_baseline = min(BASELINES, key=lambda b: float(rows[b][COST]))
        baseline_usd = float(rows[cheapest_baseline][COST])
        s.targets.append(
            Target(
                f"best summarizing preset vs the floor, {label}",
                "<= 1.2x",
                f"{best} {best_usd / floor_usd:.2f}x",
                best_usd / floor_usd <= 1.2,
            )
        )
        s.targets.append(
            Target(
                f"best preset vs every baseline, {label}",
                "cheaper",
                f"{best} ${best_usd:.3f} vs {cheapest_baseline} ${baseline_usd:.3f}",
                best_usd < baseline_usd,
            )
        )
    s.notes.append(
        "Presets run with `max_tokens` set to the common budget (the realtime preset's own"
        " is 24,000). Items lost are counted from the contexts, not assumed."
    )
    return s
