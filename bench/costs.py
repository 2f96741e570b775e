"""What each policy bills on the demo's call: a training call, shown, not judged.

Runs ``ctxmgr.simulation`` (the same code as ``make demo``) and reads its table:
every preset in a real AgentSession, beside the baselines and the offline floor.
The presets were tuned on this call (it is one of ``heldout.TRAINING_CALLS``), so it
carries no target: the cost targets are judged on the held-out calls (``heldout.py``).
"""

from __future__ import annotations

import contextlib
import io
import re

from _markdown import Section

from ctxmgr.presets import available_presets
from ctxmgr.simulation import main as simulate

CALLS = ((120, "120-turn script (~20 minutes)"),)
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
    """The cost table of the demo's call."""
    s = Section(
        title="What each policy bills on the demo's call (a training call)",
        intro=(
            "The presets were tuned on this call: the figures say how they do where they were"
            " tuned; the next section judges them on calls they never saw."
            f" The scripted support call at gpt-realtime prices (speech billed as audio,"
            f" summaries at gpt-4o-mini's), budget {BUDGET:,} tokens, all in one run: presets"
            " in a real AgentSession with the stand-in model, baselines simulated over the"
            " same contexts, the floor found offline (DP). *x floor* is the cost over the"
            f" floor that summarizes (`{FLOOR}`). What a summary keeps is measured with a"
            " real model: `bench/quality.md` (`make quality`)."
        ),
        header=("call", "policy", "cost $", "x floor", "compactions", "peak tokens", "lost"),
    )
    presets = available_presets()
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
    s.notes.append(
        "Presets run with `max_tokens` set to the common budget (the realtime preset's own"
        " is 24,000). Items lost are counted from the contexts, not assumed."
    )
    return s
