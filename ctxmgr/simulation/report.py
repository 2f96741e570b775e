"""The demo's output: one row per policy, the table, who wins, and the picture."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .stand_in import RunResult
from .support_call import SupportCall

from ctxmgr.cost import CostModel, ModelPrices, PromptBill

__all__ = ["Row", "plot", "render_table", "tally", "verdict"]


@dataclass(frozen=True)
class Row:
    """What one policy cost over the call, and what it kept."""

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
    facts: int
    facts_total: int
    recall: tuple[tuple[int, int, int], ...]
    """Per compaction: (facts found by the archive search's top 3, retrievable, said)."""

    @property
    def retrievable_share(self) -> float | None:
        """The lowest share of the facts said so far that were retrievable after a compaction."""
        shares = [r / n for _, r, n in self.recall if n]
        return min(shares) if shares else None
    tokens_by_turn: tuple[int, ...]
    """Largest context sent in each turn."""
    cost_by_turn: tuple[float, ...]
    """Cumulative prompt + summarizer dollars at the end of each turn."""

    @property
    def cost_usd(self) -> float:
        """What context management decides: the prompts plus the summaries."""
        return self.prompt_usd + self.summarizer_usd


def tally(result: RunResult, model: CostModel, summarizer: ModelPrices, call: SupportCall) -> Row:
    """Bill a run and count what it kept."""
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
        facts=sum(fact.present_in(result.final_text) for fact in call.facts),
        facts_total=len(call.facts),
        recall=tuple(result.recall_probes),
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
    ("facts", 5, ">"),
    ("recall@3", 8, ">"),
    ("retrievable", 11, ">"),
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
            f"{row.facts}/{row.facts_total}",
            f"{row.recall[-1][0]}/{row.recall[-1][2]}" if row.recall else "-",
            f"{row.retrievable_share:.0%}" if row.retrievable_share is not None else "-",
        )
        lines.append(
            "  ".join(f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, _COLUMNS))
        )
    return "\n".join(lines)


def verdict(rows: Sequence[Row], *, budget: int, presets: Sequence[str]) -> list[str]:
    """Who wins on cost and on facts kept among the policies that held the budget, by how much."""
    held = sorted((r for r in rows if r.peak <= budget and r.run != "DP"), key=lambda r: r.cost_usd)
    if not held:
        return ["no policy kept every response within the budget"]
    lines = []
    best, runner_up = held[0], held[1] if len(held) > 1 else None
    line = f"cheapest within the budget: {best.name} at ${best.cost_usd:.3f}"
    if runner_up is not None:
        extra = runner_up.cost_usd / best.cost_usd - 1
        line += f"; next {runner_up.name} at ${runner_up.cost_usd:.3f} (+{extra:.0%})"
    lines.append(line)
    most = max(r.facts for r in held)
    keepers = [r for r in held if r.facts == most]
    lines.append(
        f"most facts kept within the budget: {most}/{held[0].facts_total}, by "
        + ", ".join(f"{r.name} (${r.cost_usd:.3f})" for r in keepers)
    )
    ours = [r for r in held if r.name in presets]
    theirs = [r for r in held if r.name not in presets and r.run != "session"]
    if ours and theirs:
        a, b = ours[0], theirs[0]
        lines.append(
            f"best ctxmgr preset: {a.name} at ${a.cost_usd:.3f} ({a.facts} facts kept),"
            f" {_compare(a.cost_usd, b.cost_usd)} the best baseline, {b.name}"
            f" (${b.cost_usd:.3f}, {b.facts} facts kept)"
        )
    over = [r.name for r in rows if r.peak > budget]
    if over:
        lines.append("over the budget at some response: " + ", ".join(over))
    return lines


def _compare(a: float, b: float) -> str:
    if a <= b:
        return f"{1 - a / b:.0%} cheaper than"
    return f"{a / b:.2f}x the cost of" if a >= 2 * b else f"{a / b - 1:.0%} dearer than"


def plot(rows: Sequence[Row], *, budget: int, path: Path, title: str) -> None:
    """Context tokens per turn (the budget as a line) above cumulative cost; writes a PNG.

    Raises:
        ImportError: matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 9), sharex=True)
    styles = {"session": "-", "sim": "--", "DP": ":"}
    colors = plt.get_cmap("tab10").colors + plt.get_cmap("Dark2").colors  # type: ignore[attr-defined]
    for row, color in zip(rows, colors):
        turns = range(1, len(row.tokens_by_turn) + 1)
        style = {"linestyle": styles.get(row.run, "-"), "color": color, "linewidth": 1.6}
        top.plot(turns, row.tokens_by_turn, label=f"{row.name} ({row.run})", **style)
        bottom.plot(turns, row.cost_by_turn, **style)
    top.axhline(budget, color="black", linewidth=1.2, label=f"budget {budget:,} tokens")
    top.set_ylabel("context tokens sent (largest per turn)")
    top.set_title(title, fontsize=11)
    top.legend(fontsize=8, ncol=2, loc="upper left")
    top.grid(alpha=0.3)
    bottom.set_yscale("log")
    bottom.set_ylabel("cumulative cost, prompts + summaries ($, log)")
    bottom.set_xlabel("turn")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
