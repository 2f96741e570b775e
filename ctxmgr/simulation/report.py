"""The demo's output: one row per policy, the table, who wins, and the picture."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .stand_in import RunResult

from ctxmgr.cost import CostModel, ModelPrices, PromptBill

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Row", "figure", "plot", "render_table", "tally", "verdict", "winner"]


@dataclass(frozen=True)
class Row:
    """What one policy cost over the call."""

    name: str
    run: str
    kind: str
    cached: int
    uncached: int
    prompt_usd: float
    """Input tokens, cached and uncached, at the realtime model's prices."""
    output_usd: float
    peak: int
    summarizer_tokens: int
    summarizer_usd: float
    compactions: int
    lost: int
    tokens_by_turn: tuple[int, ...]
    """Largest context sent in each turn."""
    cost_by_turn: tuple[float, ...]
    """Cumulative prompt + summarizer dollars at the end of each turn."""

    @property
    def cost_usd(self) -> float:
        """What context management decides: the prompts plus the summaries."""
        return self.prompt_usd + self.summarizer_usd


def tally(result: RunResult, model: CostModel, summarizer: ModelPrices) -> Row:
    """Bill a run."""
    bills = model.bill(
        [r.context for r in result.responses],
        [(r.output_text, r.output_audio) for r in result.responses],
    )
    turns = len(result.summarizer_by_turn)
    tokens, prompt_by_turn = [0] * turns, [0.0] * turns
    for response, bill in zip(result.responses, bills):
        tokens[response.turn] = max(tokens[response.turn], sum(i.tokens for i in response.context))
        prompt_by_turn[response.turn] += model.usd(_input_only(bill))
    summ_by_turn = [
        summarizer.usd(PromptBill(text_input=i, text_output=o))
        for i, o in result.summarizer_by_turn
    ]
    total = sum(bills, PromptBill())
    return Row(
        name=result.name,
        run=result.run,
        kind=result.kind,
        cached=total.cached_tokens,
        uncached=total.uncached_tokens,
        prompt_usd=model.usd(_input_only(total)),
        output_usd=model.usd(total) - model.usd(_input_only(total)),
        peak=max(tokens),
        summarizer_tokens=sum(i + o for i, o in result.summarizer_by_turn),
        summarizer_usd=sum(summ_by_turn),
        compactions=result.compactions,
        lost=result.lost,
        tokens_by_turn=tuple(tokens),
        cost_by_turn=tuple(
            itertools.accumulate(p + s for p, s in zip(prompt_by_turn, summ_by_turn))
        ),
    )


def _input_only(bill: PromptBill) -> PromptBill:
    return PromptBill(
        bill.text_input, bill.text_cached_input, bill.audio_input, bill.audio_cached_input
    )


_COLUMNS = (
    ("policy", 34, "<"),
    ("run", 7, "<"),
    ("cached tok", 10, ">"),
    ("uncached", 9, ">"),
    ("prompt $", 9, ">"),
    ("peak tok", 9, ">"),
    ("summ tok", 9, ">"),
    ("summ $", 7, ">"),
    ("cost $", 8, ">"),
    ("x floor", 7, ">"),
    ("compact", 7, ">"),
    ("lost", 4, ">"),
)


def render_table(rows: Sequence[Row], *, floor_usd: float, budget: int) -> str:
    """The table: one line per policy; ``!`` marks a peak over the budget."""
    head = "  ".join(f"{title:{align}{width}}" for title, width, align in _COLUMNS)
    lines = [head, "-" * len(head)]
    for row in rows:
        peak = f"{row.peak:,}" + ("!" if row.peak > budget else "")
        cells = (
            row.name,
            row.run,
            f"{row.cached:,}",
            f"{row.uncached:,}",
            f"{row.prompt_usd:.3f}",
            peak,
            f"{row.summarizer_tokens:,}",
            f"{row.summarizer_usd:.4f}",
            f"{row.cost_usd:.3f}",
            f"{row.cost_usd / floor_usd:.2f}",
            str(row.compactions),
            str(row.lost),
        )
        lines.append(
            "  ".join(f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, _COLUMNS))
        )
    return "\n".join(lines)


def _held(rows: Sequence[Row], budget: int) -> list[Row]:
    """The runnable policies (not the offline floors) that kept every response in the budget,
    cheapest first."""
    return sorted((r for r in rows if r.peak <= budget and r.run != "DP"), key=lambda r: r.cost_usd)


def winner(rows: Sequence[Row], *, budget: int) -> Row | None:
    """The cheapest policy within the budget: the verdict's first line, and the picture's title."""
    held = _held(rows, budget)
    return held[0] if held else None


def verdict(rows: Sequence[Row], *, budget: int, presets: Sequence[str]) -> list[str]:
    """Who wins on cost among the policies that held the budget, and by how much."""
    held = _held(rows, budget)
    if not held:
        return ["no policy kept every response within the budget"]
    lines = []
    best, runner_up = held[0], held[1] if len(held) > 1 else None
    line = f"cheapest within the budget: {best.name} at ${best.cost_usd:.3f}"
    if runner_up is not None:
        extra = runner_up.cost_usd / best.cost_usd - 1
        line += f"; next {runner_up.name} at ${runner_up.cost_usd:.3f} (+{extra:.0%})"
    lines.append(line)
    ours = [r for r in held if r.name in presets]
    theirs = [r for r in held if r.name not in presets and r.run != "session"]
    if ours and theirs:
        a, b = ours[0], theirs[0]
        lines.append(
            f"best ctxmgr preset: {a.name} at ${a.cost_usd:.3f},"
            f" {_compare(a.cost_usd, b.cost_usd)} the best baseline, {b.name}"
            f" (${b.cost_usd:.3f})"
        )
    over = [r.name for r in rows if r.peak > budget]
    if over:
        lines.append("over the budget at some response: " + ", ".join(over))
    return lines


def _compare(a: float, b: float) -> str:
    if a <= b:
        return f"{1 - a / b:.0%} cheaper than"
    return f"{a / b:.2f}x the cost of" if a >= 2 * b else f"{a / b - 1:.0%} dearer than"


_OFF_SCALE = 2.0
"""Cost ratios above this run off the top of the linear panel: the label still has the number."""
_TWIN_MARKERS = ("o", "s", "^", "D")


def figure(rows: Sequence[Row], *, budget: int, title: str) -> Figure:
    """Context tokens per turn (the budget as a line) above cumulative cost relative to no manager.

    The cost panel is linear: the argument is in 10-25% differences. Every label carries
    the policy's final cost and ratio; a line identical to an earlier one is drawn thin
    with markers over the earlier one, drawn wide, and says "same as". The title names
    :func:`winner`.

    Raises:
        ImportError: matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(14, 9), sharex=True, layout="constrained", height_ratios=(1, 1.2)
    )
    reference = next((r for r in rows if r.name == "no manager"), rows[0])
    ratios = [
        tuple(c / b if b else 1.0 for c, b in zip(r.cost_by_turn, reference.cost_by_turn))
        for r in rows
    ]
    shown = [v for ratio in ratios for v in ratio if v <= _OFF_SCALE]
    low, high = min(shown) - 0.05, max(shown) + 0.05
    token_twins, cost_twins = _twins([r.tokens_by_turn for r in rows]), _twins(ratios)
    styles = {"session": "-", "sim": "--", "DP": ":"}
    colors = plt.get_cmap("tab10").colors + plt.get_cmap("Dark2").colors  # type: ignore[attr-defined]
    for i, (row, ratio, color) in enumerate(zip(rows, ratios, colors)):
        turns = range(1, len(row.tokens_by_turn) + 1)
        base = {"linestyle": styles.get(row.run, "-"), "color": color}
        top.plot(turns, row.tokens_by_turn, **base, **_twin_style(token_twins, i))
        label = f"{row.name} ({row.run})  ${row.cost_usd:.3f} ({ratio[-1]:.2f}x)"
        if (twin := cost_twins[i]) is not None:
            label += f", same as {rows[twin].name}"
        if max(ratio) > high:  # say where it went, at the turn it leaves the panel
            label += ", off scale"
            bottom.annotate(
                f"{row.name} -> {ratio[-1]:.2f}x",
                (next(t for t, v in enumerate(ratio, 1) if v > high), high),
                xytext=(4, -12), textcoords="offset points", fontsize=8, color=color,
            )
        bottom.plot(turns, ratio, label=label, **base, **_twin_style(cost_twins, i))
    budget_line = top.axhline(
        budget, color="black", linewidth=1.2, label=f"budget {budget:,} tokens"
    )
    best = winner(rows, budget=budget)
    if best is None:
        verdict_line = "no policy kept every response within the budget"
    else:
        end = best.cost_usd / reference.cost_usd
        verdict_line = (
            f"winner: {best.name}, the cheapest within the budget"
            f" (${best.cost_usd:.3f}, {end:.2f}x {reference.name})"
        )
        bottom.annotate(
            f"winner: {best.name} {end:.2f}x", (len(best.cost_by_turn), end), xytext=(-40, -16),
            textcoords="offset points", fontsize=9, fontweight="bold",
            arrowprops={"arrowstyle": "-", "linewidth": 0.8},
        )
    top.set_title(f"{title}\n{verdict_line}", fontsize=11)
    top.set_ylabel("context tokens sent (largest per turn)")
    bottom.set_ylabel(f"cumulative cost / {reference.name}'s (prompts + summaries, linear)")
    bottom.set_xlabel("turn")
    bottom.set_ylim(low, high)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.legend(handles=[*bottom.get_lines(), budget_line], loc="outside right upper", fontsize=8)
    return fig


def plot(rows: Sequence[Row], *, budget: int, path: Path, title: str) -> None:
    """Draw :func:`figure` and write it to ``path`` as a PNG.

    Raises:
        ImportError: matplotlib is not installed.
    """
    import matplotlib.pyplot as plt  # after figure(): it picks the Agg backend

    fig = figure(rows, budget=budget, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _twins(series: Sequence[Sequence[float]]) -> list[int | None]:
    """For each series, the index of the first earlier one it equals, if any."""
    first: dict[tuple[float, ...], int] = {}
    twins: list[int | None] = []
    for i, s in enumerate(series):
        twins.append(first.get(tuple(s)))
        first.setdefault(tuple(s), i)
    return twins


def _twin_style(twins: Sequence[int | None], i: int) -> dict[str, object]:
    """Wide for a line others repeat; thin, marked and on top for a repeat, so both show."""
    if twins[i] is None:
        return {"linewidth": 4.5 if i in twins else 1.6, "zorder": 2}
    k = sum(1 for t in twins[:i] if t == twins[i])  # earlier repeats of the same line
    return {
        "linewidth": 1.4,
        "marker": _TWIN_MARKERS[k % len(_TWIN_MARKERS)],
        "markevery": (3 * k, 12),
        "markersize": 5,
        "zorder": 3,
    }
