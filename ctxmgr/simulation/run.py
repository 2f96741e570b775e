"""Token-budget demo: one scripted support call under every ctxmgr preset and its baselines.

``make demo`` runs it offline and deterministic. A ~120-turn call (speech billed as
audio, tool calls, the caller's details given early) is played through a real ``AgentSession``
once without a manager and once per preset, with an offline stand-in model:
replies come from the script and summaries are extractive (every sentence with a
name or a number). Beside them, simulated over the same context sequence: OpenAI's
server-side truncation (``auto`` and ``retention_ratio`` 0.8), the OpenAI
cookbook's realtime summarizer, and livekit's ``_summarize`` after every turn; and
the floor, the cheapest schedule under the budget found offline. Every run is billed
by ``ctxmgr.cost`` at gpt-realtime prices (summaries at gpt-4o-mini's).

``--llm openai`` (with ``OPENAI_API_KEY``) plays the same user turns to a real model
(replies and summaries from OpenAI); the baselines and the floor still replay the
scripted replies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..cost import CostModel, load_prices
from ..presets import available_presets
from ..settings import Settings
from ..tokens import TokenCounter
from .baselines import (
    CookbookSummarizer,
    Floor,
    NaiveEveryTurn,
    NoCompaction,
    Replay,
    ServerTruncation,
    floor,
    simulate,
)
from .report import Row, plot, render_table, tally, verdict
from .session import LLMPair, run_session, stand_in_llms
from .stand_in import RunResult, SupportAgent, tools_tokens
from .support_call import SupportCall, support_call

DEFAULT_PNG = Path("token_budget.png")
"""Where the picture goes by default: the current directory."""


class Progress:
    """A one-line progress bar on stderr, when stderr is a terminal (not in a piped log)."""

    def __init__(self, total: int, *, enabled: bool = True, width: int = 30) -> None:
        enabled = enabled and sys.stderr.isatty()
        self.total, self.done, self.enabled, self.width = max(total, 1), 0, enabled, width

    def step(self, label: str, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        if self.enabled:
            filled = self.width * self.done // self.total
            bar = "#" * filled + "." * (self.width - filled)
            sys.stderr.write(f"\r[{bar}] {self.done * 100 // self.total:3d}%  {label:<40.40}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _llms(kind: str, call: SupportCall, model: str) -> LLMPair:
    if kind == "stand-in":
        return stand_in_llms(call)
    from livekit.plugins import openai

    return openai.LLM(model=model), openai.LLM(model="gpt-4o-mini"), None


async def _sessions(
    call: SupportCall,
    presets: list[str],
    *,
    budget: int,
    kind: str,
    model: str,
    counter: TokenCounter,
    tick: Callable[[str], None],
) -> list[RunResult]:
    runs: list[RunResult] = []
    for preset in [None, *presets]:
        name = "no manager" if preset is None else preset

        def on_turn(t: int, name: str = name) -> None:
            tick(f"{name}: turn {t + 1}/{len(call.turns)}")

        runs.append(
            await run_session(
                call,
                name=name,
                preset=preset,
                budget=budget,
                llms=_llms(kind, call, model),
                counter=counter,
                on_turn=on_turn,
            )
        )
    return runs


def _offline(
    replay: Replay, tails: dict[str, Settings], *, budget: int, tick: Callable[..., None]
) -> tuple[list[RunResult], list[Floor], dict[str, Floor | None]]:
    """The simulated baselines, the two floors, and each preset's floor at its own tail."""
    prices = load_prices()
    realtime, mini = prices["gpt-realtime"], prices["gpt-4o-mini"]
    baselines: list[RunResult] = []
    for policy in (
        NoCompaction("no manager"),
        ServerTruncation("server truncation: auto", budget=budget),
        ServerTruncation("server truncation: retention 0.8", budget=budget, retention_ratio=0.8),
        CookbookSummarizer("cookbook summarizer", trigger_tokens=int(0.8 * budget)),
        NaiveEveryTurn("naive: _summarize every turn"),
    ):
        baselines.append(simulate(replay, policy))
        tick(f"simulated {policy.name}")
    floors = [
        floor(replay, realtime, budget=budget, mode=mode, summarizer=mini)
        for mode in ("summary", "drop")
    ]
    tick("floor (DP)")
    own_floors: dict[str, Floor | None] = {}
    for preset, settings in tails.items():
        try:
            own_floors[preset] = floor(
                replay,
                realtime,
                budget=budget,
                summarizer=mini,
                mode="drop" if settings.strategy == "trim" else "summary",
                min_tail_turns=max(1, settings.keep_last_turns),
            )
        except ValueError:  # the preset's tail alone does not fit the budget
            own_floors[preset] = None
        tick(f"floor at {preset}'s tail")
    return baselines, floors, own_floors


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Run the scripted call and print the table; returns the exit code."""
    parser = argparse.ArgumentParser(prog=prog, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=120, help="length of the call (>= 11)")
    parser.add_argument("--budget", type=int, default=16_000, help="max_tokens for every policy")
    parser.add_argument("--llm", choices=("stand-in", "openai"), default="stand-in")
    parser.add_argument("--model", default="gpt-4o-mini", help="session model for --llm openai")
    parser.add_argument("--png", type=Path, default=DEFAULT_PNG, help="where to save the picture")
    parser.add_argument("--no-png", dest="png", action="store_const", const=None)
    parser.add_argument(
        "--policy", action="append", metavar="NAME",
        help="run only this preset (repeatable; default: every preset)",
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.llm == "openai" and not os.environ.get("OPENAI_API_KEY"):
        print("--llm openai needs OPENAI_API_KEY in the environment", file=sys.stderr)
        return 2

    started = time.perf_counter()
    call = support_call(args.turns)
    prices = load_prices()
    realtime, mini = prices["gpt-realtime"], prices["gpt-4o-mini"]
    model = CostModel(realtime)
    counter = TokenCounter()
    presets = args.policy or available_presets()
    unknown = sorted(set(presets) - set(available_presets()))
    if unknown:
        print(f"unknown preset(s) {', '.join(unknown)}; available: "
              f"{', '.join(available_presets())}", file=sys.stderr)
        return 2
    tails = {p: Settings(policy=p, max_tokens=args.budget) for p in presets}
    progress = Progress(
        len(call.turns) * (1 + len(presets)) + 6 + len(presets), enabled=not args.no_progress
    )
    # the offline part first: a budget no schedule fits fails in seconds, before the sessions
    replay = Replay(call, counter, tools_tokens(SupportAgent(call, lambda *_: None).tools, counter))
    try:
        baselines, floors, own_floors = _offline(
            replay, tails, budget=args.budget, tick=progress.step
        )
    except ValueError as e:
        progress.close()
        print(f"{parser.prog}: --budget {args.budget} is too small for this call: {e}",
              file=sys.stderr)
        return 2

    try:
        sessions = asyncio.run(
            _sessions(
                call,
                presets,
                budget=args.budget,
                kind=args.llm,
                model=args.model,
                counter=counter,
                tick=progress.step,
            )
        )
    except Exception as e:  # noqa: BLE001 - a provider error ends the demo with one line
        if args.llm == "stand-in":
            raise
        progress.close()
        print(f"--llm openai failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    progress.close()

    rows = [tally(r, model, mini) for r in sessions]
    rows += [tally(r, model, mini) for r in baselines[1:]]
    rows += [tally(f.result, model, mini) for f in floors]
    reference = min(r.cost_usd for r in rows[-2:])
    check = tally(baselines[0], model, mini)

    stand_in = "offline stand-in (scripted replies; extractive summaries)"
    policies = "every preset" if not args.policy else (
        f"preset{'s' if len(presets) > 1 else ''} {', '.join(presets)}"
    )
    scene = f"{policies} on a {len(call.turns)}-turn support call, budget {args.budget:,} tokens"
    print(
        f"ctxmgr simulation: {scene},"
        f" LLM: {stand_in if args.llm == 'stand-in' else args.model}"
    )
    print(
        "billed at gpt-realtime prices (speech as audio), summaries at gpt-4o-mini's;"
        " ctxmgr/data/prices.toml\n"
    )
    print(render_table(rows, floor_usd=reference, budget=args.budget))
    print()
    for line in verdict(rows, budget=args.budget, presets=presets):
        print(line)
    print()
    print("ctxmgr presets against the cheapest schedule with the same tail and budget:")
    for row in rows:
        if row.name in own_floors:
            tail = tails[row.name].keep_last_turns
            found = own_floors[row.name]
            if found is None:
                print(f"  {row.name:<13} no schedule with a {tail}-turn tail fits the budget")
                continue
            best = tally(found.result, model, mini)
            print(
                f"  {row.name:<13} ${row.cost_usd:.3f} in {row.compactions} compactions;"
                f" best schedule ${best.cost_usd:.3f} in {best.compactions}"
                f" ({row.cost_usd / best.cost_usd:.2f}x; tail {tail} turns)"
            )
    print()
    _notes(args, rows, check, reference)
    if args.png is not None:
        try:
            plot(
                rows,
                budget=args.budget,
                path=args.png,
                title=f"{scene}; LLM: {stand_in if args.llm == 'stand-in' else args.model}",
            )
            print(f"picture: {args.png}")
        except ImportError:
            print("matplotlib is not installed: no picture (pip install matplotlib)")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def _notes(args: argparse.Namespace, rows: list[Row], check: Row, reference: float) -> None:
    session_none = rows[0]
    if args.llm == "stand-in":
        output = (
            f"output is the same for every policy (${session_none.output_usd:.3f}) and left out"
        )
    else:
        output = "output (left out) differs by run: the replies are the model's"
    print(
        f"cost $ = prompts + summaries; x floor = cost / the floor's (${reference:.3f}); {output}."
    )
    print(
        "run: session = real AgentSession with the manager attached; sim = simulated over"
        " the same context sequence; DP = offline schedule, replayed."
    )
    if args.llm == "stand-in":
        same = abs(check.prompt_usd - session_none.prompt_usd) < 1e-9
        print(
            f"the simulated no-manager run bills {'the same as' if same else 'NOT the same as'}"
            f" the session's (${check.prompt_usd:.3f} vs ${session_none.prompt_usd:.3f})."
        )
    else:
        print(
            "--llm openai: the sessions used the model's replies and summaries; the simulated"
            " baselines and the floor replay the scripted ones, so compare them with care."
        )
    print("presets run with max_tokens set to the budget; every other setting is the preset's.")
    print("lost = items that left the context without being in a compaction's removed ids.")
    print(
        "what a summary keeps is measured with a real model: see bench/quality.md"
        " (make quality)."
    )


if __name__ == "__main__":
    sys.exit(main())
