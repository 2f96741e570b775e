"""The scripted call on a realtime model, billed from what the server saw.

The call's user turns are played into a real ``AgentSession`` whose agent runs on the
real OpenAI realtime plugin (``livekit-plugins-openai``), connected to ctxmgr's local
emulator of the Realtime API. The emulator answers from the script: the turn's tool
call first (the agent's real function tools run it and send its output back), then the
turn's reply. With settings, a ``ContextManager`` is attached, so its two-step apply
(insert the summary, confirm it, then delete the span) happens on the wire. By default
each compaction lands before the next user turn, as in a call where seconds pass
between turns: reproducible to the token. ``overlap=True`` starts the next turn 20 ms
after the reply whatever ctxmgr is doing, so a response may run between the steps
(the bill then depends on timing; see ``test_realtime_bill.py``).

The bill comes from the server, not from ctxmgr: each response is billed for the
emulator's conversation when it started (``ServerResponse.context``) and for what it
produced, by :class:`ctxmgr.cost.CostModel` (see :mod:`.server_log`); losses are judged
from the server's log of creates and deletes (:class:`.server_log.ChangeLog`).

```python
from ctxmgr.simulation.realtime_run import run_realtime
from ctxmgr.simulation.support_call import support_call

bill = await run_realtime(support_call(120), settings="realtime", budget=16000)
print(bill.total_usd, bill.compactions, bill.lost)
print(bill.rebill(prices="gpt-4o-mini-realtime").total_usd)   # the same run, other prices
```

Simplifications: the turns travel as text (``conversation.item.create`` of user text,
text replies) and are billed as the audio they stand for (the script's durations);
the server's usage figures (which drive ctxmgr's trigger) are computed the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from livekit.agents import Agent, AgentSession, llm

from ctxmgr import ContextManager, Settings, TokenCounter
from ctxmgr.cost import CostModel, PromptBill, SentItem, load_prices
from ctxmgr.testing import (
    CallTool,
    RealtimeServerEmulator,
    ResponsePlan,
    ResponseRequest,
    Say,
    ServerResponse,
    Usage,
    plugin_model,
)

from .server_log import Change, ChangeLog, output_tokens, response_context, sent_items
from .session import stand_in_llms
from .stand_in import Response, RunResult, SupportAgent
from .support_call import SupportCall

__all__ = [
    "RealtimeBill",
    "RealtimeRun",
    "ScriptedServer",
    "bill_run",
    "play_realtime",
    "run_realtime",
]

AfterTurn = Callable[[Agent, int], Awaitable[None]]
"""Called after each turn with the agent and the turn's index (tests edit the context here)."""


class ScriptedServer:
    """The emulator's responder: the current turn's tool call (once), then its reply.

    The usage it reports is the audio-billed size of the context (the session's
    instructions and tools, then the conversation), as the real server's
    ``response.done`` counts the audio it was given: what ctxmgr's trigger reads.
    """

    def __init__(
        self, call: SupportCall, counter: TokenCounter, emulator: RealtimeServerEmulator
    ) -> None:
        self.call, self.counter, self.emulator = call, counter, emulator
        self.turn = 0
        """Index of the turn being played."""
        self._called = -1

    def __call__(self, request: ResponseRequest) -> ResponsePlan:
        turn = self.call.turns[min(self.turn, len(self.call.turns) - 1)]
        outputs: tuple[Say | CallTool, ...] = (Say(turn.assistant.text),)
        tool = turn.tool
        if tool is not None and self._called != self.turn and tool.name in request.tool_names:
            self._called = self.turn
            outputs = (CallTool(tool.name, json.dumps(tool.arguments)),)
        config = self.emulator.server_session.config
        context = sent_items(
            request.conversation, self.call, self.counter,
            instructions=request.instructions or "", tools=config.get("tools") or (),
        )
        return ResponsePlan(outputs=outputs, usage=Usage(sum(i.tokens for i in context)))


@dataclass(frozen=True)
class RealtimeRun:
    """What the server saw over one call: the contexts it billed and its changes."""

    name: str
    contexts: tuple[tuple[SentItem, ...], ...]
    """The context of each response, in order."""
    outputs: tuple[tuple[int, int], ...]
    """``(text, audio)`` output tokens of each response."""
    turns: tuple[int, ...]
    """The turn each response belongs to."""
    summarizer_by_turn: tuple[tuple[int, int], ...]
    """Summarizer (input, output) tokens spent in each turn."""
    changes: tuple[Change, ...]
    """Summary creates, deletes and ``response.create``, in the order the server applied them."""
    wall_s: float
    """Wall seconds the call took."""

    @property
    def compactions(self) -> int:
        """Summaries created on the server."""
        return sum(1 for c in self.changes if c.kind == "summary")

    @property
    def lost(self) -> int:
        """Items that left the server while no newer summary was there."""
        return sum(1 for c in self.changes if c.kind == "delete" and not c.folded)

    def as_run_result(self) -> RunResult:
        """The run in the demo's shape, for ``report.tally`` (a row of its table)."""
        result = RunResult(self.name, "session", "summary" if self.compactions else "none")
        for context, (text, audio), turn in zip(self.contexts, self.outputs, self.turns):
            result.responses.append(Response(turn, list(context), text, audio))
        result.summarizer_by_turn = list(self.summarizer_by_turn)
        result.compactions, result.lost = self.compactions, self.lost
        return result


@dataclass(frozen=True)
class RealtimeBill:
    """One realtime run billed under a price table (summaries under the summarizer's)."""

    run: RealtimeRun
    prices: str
    summarizer_prices: str
    total: PromptBill
    """The responses' tokens by billing class."""
    prompt_usd: float
    """Input tokens, cached and uncached."""
    output_usd: float
    summarizer_usd: float

    @property
    def total_usd(self) -> float:
        """Prompts, outputs and summaries."""
        return self.prompt_usd + self.output_usd + self.summarizer_usd

    @property
    def compactions(self) -> int:
        """Summaries created on the server."""
        return self.run.compactions

    @property
    def lost(self) -> int:
        """Items that left the server unfolded."""
        return self.run.lost

    @property
    def peak_tokens(self) -> int:
        """The largest context a response was billed for."""
        return max((sum(i.tokens for i in c) for c in self.run.contexts), default=0)

    @property
    def responses(self) -> int:
        """Responses the server produced."""
        return len(self.run.contexts)

    def rebill(self, *, prices: str, summarizer_prices: str | None = None) -> RealtimeBill:
        """The same run under another price table."""
        return bill_run(
            self.run, prices=prices, summarizer_prices=summarizer_prices or self.summarizer_prices
        )


def bill_run(
    run: RealtimeRun, *, prices: str = "gpt-realtime", summarizer_prices: str = "gpt-4o-mini"
) -> RealtimeBill:
    """Bill ``run`` with ``CostModel`` under the named tables of ``load_prices()``."""
    table = load_prices()
    model = CostModel(table[prices])
    total = sum(model.bill(run.contexts, run.outputs), PromptBill())
    inputs = replace(total, text_output=0, audio_output=0)
    summarizer = PromptBill(
        text_input=sum(i for i, _ in run.summarizer_by_turn),
        text_output=sum(o for _, o in run.summarizer_by_turn),
    )
    return RealtimeBill(
        run=run,
        prices=prices,
        summarizer_prices=summarizer_prices,
        total=total,
        prompt_usd=model.usd(inputs),
        output_usd=model.usd(total) - model.usd(inputs),
        summarizer_usd=table[summarizer_prices].usd(summarizer),
    )


def _settings(settings: Settings | str | None, budget: int | None) -> Settings | None:
    if isinstance(settings, str):
        if budget is None:
            return Settings(policy=settings)
        return Settings(policy=settings, max_tokens=budget)
    if settings is not None and budget is not None and budget != settings.max_tokens:
        raise ValueError("budget is for a preset name; a Settings carries its own max_tokens")
    return settings


async def play_realtime(
    call: SupportCall,
    *,
    settings: Settings | str | None,
    budget: int | None = None,
    summarizer_llm: llm.LLM | None = None,
    overlap: bool = False,
    gap_s: float = 0.02,
    after_turn: AfterTurn | None = None,
    name: str | None = None,
    emulator: RealtimeServerEmulator | None = None,
) -> RealtimeRun:
    """Play ``call`` on the realtime plugin against the emulator; return what the server saw.

    Args:
        call: The script.
        settings: A preset name, ctxmgr ``Settings``, or ``None`` for no manager.
        budget: ``max_tokens`` for a preset name (``None``: the preset's).
        summarizer_llm: Writes the summaries; ``None``: the demo's extractive stand-in.
        overlap: Start each user turn ``gap_s`` after the reply is done, whether or not
            a compaction is still on its way; ``False`` waits for it first (reproducible
            to the token, and no response can run between the apply's steps).
        gap_s: Seconds between a reply and the next user turn: the reply's playout and
            the user's speech, compressed. At 0 back-to-back turns leave ctxmgr no quiet
            moment and a compaction waits many turns to land; 20 ms is enough here.
        after_turn: Awaited after each turn with the agent and the turn index.
        name: The run's name (default: the preset, or ``no manager``).
        emulator: A started emulator to play against (another dialect, slow
            acknowledgements...; its responder is replaced); ``None`` starts one.
    """
    resolved = _settings(settings, budget)
    counter = TokenCounter()
    summarizer = summarizer_llm or stand_in_llms(call)[1]
    log = ChangeLog()
    started = time.monotonic()
    turn_of: dict[str, int] = {}
    spent: list[tuple[int, int]] = []
    async with contextlib.AsyncExitStack() as stack:
        if emulator is None:
            emulator = await stack.enter_async_context(RealtimeServerEmulator())
        server = emulator.responder = ScriptedServer(call, counter, emulator)
        emulator.observers.append(log)
        stack.callback(emulator.observers.remove, log)
        ours = len(emulator.server_sessions)  # a given emulator may have served others
        model = plugin_model(emulator)
        agent = SupportAgent(call, lambda _ctx, _tools: None)
        manager = None
        if resolved is not None:
            manager = ContextManager(resolved, summarizer_llm=summarizer).attach(agent)
        try:
            async with summarizer, AgentSession(llm=model) as session:
                await session.start(agent)
                for turn in call.turns:
                    agent.turn = server.turn = turn.index
                    before = _summarizer_tokens(manager)
                    await session.run(user_input=turn.user.text)
                    if manager is not None and not overlap:
                        await manager.wait_idle()
                    elif manager is not None and gap_s:
                        await asyncio.sleep(gap_s)
                    if after_turn is not None:
                        await after_turn(agent, turn.index)
                    after = _summarizer_tokens(manager)
                    spent.append((after[0] - before[0], after[1] - before[1]))
                    for response in _responses(emulator, ours):
                        turn_of.setdefault(response.id, turn.index)
                if manager is not None:
                    await manager.wait_idle()
                    await manager.aclose()
        finally:
            await model.aclose()
        responses = [r for r in _responses(emulator, ours) if r.context is not None]
    if name is None:
        name = "no manager" if resolved is None else (
            settings if isinstance(settings, str) else resolved.policy
        )
    return RealtimeRun(
        name=name,
        contexts=tuple(tuple(response_context(r, call, counter)) for r in responses),
        outputs=tuple(output_tokens(r, call, counter) for r in responses),
        turns=tuple(turn_of.get(r.id, len(call.turns) - 1) for r in responses),
        summarizer_by_turn=tuple(spent),
        changes=tuple(log.changes),
        wall_s=time.monotonic() - started,
    )


def _responses(emulator: RealtimeServerEmulator, first: int) -> list[ServerResponse]:
    """Every response of the connections from ``first`` on (the plugin may reconnect)."""
    return [r for s in emulator.server_sessions[first:] for r in s.responses]


def _summarizer_tokens(manager: ContextManager | None) -> tuple[int, int]:
    if manager is None:
        return (0, 0)
    return manager.stats.summarizer_input_tokens, manager.stats.summarizer_output_tokens


async def run_realtime(
    call: SupportCall,
    *,
    settings: Settings | str | None,
    budget: int | None = None,
    prices: str = "gpt-realtime",
    summarizer_prices: str = "gpt-4o-mini",
    summarizer_llm: llm.LLM | None = None,
    overlap: bool = False,
    gap_s: float = 0.02,
) -> RealtimeBill:
    """Play ``call`` on the realtime plugin against the emulator and bill it from the server.

    Args:
        call: The script, e.g. ``support_call(120)``.
        settings: A preset name (``"realtime"``), ctxmgr ``Settings``, or ``None``: no manager.
        budget: ``max_tokens`` for a preset name.
        prices: The response model's table in ``load_prices()``.
        summarizer_prices: The summarizer's table.
        summarizer_llm: Writes the summaries; ``None``: the demo's extractive stand-in
            (``session.stand_in_llms(call, summary_cap=...)[1]`` caps it).
        overlap, gap_s: See :func:`play_realtime`.
    """
    run = await play_realtime(
        call, settings=settings, budget=budget, summarizer_llm=summarizer_llm,
        overlap=overlap, gap_s=gap_s,
    )
    return bill_run(run, prices=prices, summarizer_prices=summarizer_prices)


def main(argv: list[str] | None = None) -> None:
    """``python -m ctxmgr.simulation.realtime_run``: a call with and without a preset."""
    import argparse

    from .support_call import support_call

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=120)
    parser.add_argument("--budget", type=int, default=16000)
    parser.add_argument("--preset", default="realtime")
    parser.add_argument("--prices", default="gpt-realtime", help="a table in prices.toml")
    parser.add_argument("--overlap", action="store_true", help="see play_realtime")
    args = parser.parse_args(argv)

    async def _run() -> None:
        script = support_call(args.turns)
        for preset in (None, args.preset):
            bill = await run_realtime(
                script, settings=preset, budget=args.budget, prices=args.prices,
                overlap=args.overlap,
            )
            print(
                f"{bill.run.name:>10}: ${bill.total_usd:.3f} (prompts ${bill.prompt_usd:.3f},"
                f" output ${bill.output_usd:.3f}, summaries ${bill.summarizer_usd:.4f})"
                f"  compactions {bill.compactions}  peak {bill.peak_tokens:,}  lost {bill.lost}"
                f"  responses {bill.responses}  wall {bill.run.wall_s:.1f}s"
            )

    asyncio.run(_run())


if __name__ == "__main__":  # pragma: no cover
    main()
