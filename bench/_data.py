"""Shared bench fixtures: a support call's chat items, a text-mode agent, timing helpers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from livekit.agents import Agent, function_tool, llm

from ctxmgr.testing.fake_llm import FakeReply, FakeToolCall, extractive_summary

INSTRUCTIONS = "You are Sam, the phone support agent of Parcelly, a parcel delivery company."


def user_text(turn: int) -> str:
    """What the caller says on ``turn``: unique, ~25 tokens, a name or number now and then."""
    if turn % 5 == 0:
        return (
            f"Turn {turn}: please check order {4000 + turn}, I am Ana Lopez and I live at"
            f" {turn % 90 + 1} Baker Street in Leeds."
        )
    return (
        f"Turn {turn}: I have another question about the delivery window, the carrier"
        f" and whether somebody needs to be home to sign for parcel number {turn}."
    )


def agent_text(turn: int) -> str:
    """What the agent answers on ``turn``: unique, ~35 tokens."""
    return (
        f"Thanks for waiting. I checked your order for you (turn {turn}). It is with the"
        " carrier and should arrive within two days; nobody needs to sign for it."
        " Is there anything else I can do for you today?"
    )


def turn_items(turn: int) -> list[llm.ChatItem]:
    """One turn's items: the user, a tool call and its output every 6th turn, the reply."""
    items: list[llm.ChatItem] = [llm.ChatMessage(role="user", content=[user_text(turn)])]
    if turn % 6 == 3:
        call_id = f"call_bench_{turn}"
        items.append(
            llm.FunctionCall(
                call_id=call_id, name="lookup_order", arguments=f'{{"order": {4000 + turn}}}'
            )
        )
        items.append(
            llm.FunctionCallOutput(
                call_id=call_id,
                name="lookup_order",
                output=f'{{"status": "in transit", "carrier": "DHL", "order": {4000 + turn}}}',
                is_error=False,
            )
        )
    items.append(llm.ChatMessage(role="assistant", content=[agent_text(turn)]))
    return items


def call_items(n: int, *, start_turn: int = 0) -> list[llm.ChatItem]:
    """At least ``n`` items of a call (whole turns), after a system message; cut to ``n``."""
    items: list[llm.ChatItem] = [llm.ChatMessage(role="system", content=[INSTRUCTIONS])]
    turn = start_turn
    while len(items) < n:
        items.extend(turn_items(turn))
        turn += 1
    # cut at a turn end so no call is split from its output
    while len(items) > n or not (
        isinstance(items[-1], llm.ChatMessage) and items[-1].role == "assistant"
    ):
        items.pop()
    return items


def item_texts(item: llm.ChatItem) -> list[str]:
    """The texts a token counter encodes for ``item`` (what raw tiktoken is given)."""
    if isinstance(item, llm.ChatMessage):
        return [part for part in item.content if isinstance(part, str)]
    if isinstance(item, llm.FunctionCall):
        return [item.name, item.arguments]
    if isinstance(item, llm.FunctionCallOutput):
        return [item.name, item.output]
    return []


class BenchAgent(Agent):
    """The support agent the session benches run."""

    def __init__(self, chat_ctx: llm.ChatContext | None = None) -> None:
        super().__init__(instructions=INSTRUCTIONS, chat_ctx=chat_ctx)

    @function_tool
    async def lookup_order(self, order: int) -> str:
        """Look up an order by number."""
        return f"order {order} is in transit with DHL"


def responder(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
    """Session LLM: a tool call when the caller names an order, summaries when asked."""
    first = chat_ctx.items[0] if chat_ctx.items else None
    last_text = getattr(chat_ctx.items[-1], "text_content", "") or "" if chat_ctx.items else ""
    if isinstance(first, llm.ChatMessage) and "Conversation to summarize:" in last_text:
        last = chat_ctx.items[-1]
        return FakeReply(extractive_summary(getattr(last, "text_content", "") or ""))
    last = chat_ctx.items[-1]
    if isinstance(last, llm.ChatMessage) and last.role == "user" and "check order" in (
        last.text_content or ""
    ):
        return FakeReply(tool_calls=[FakeToolCall("lookup_order", {"order": 4417})])
    turn = sum(1 for i in chat_ctx.items if isinstance(i, llm.ChatMessage) and i.role == "user")
    return FakeReply(agent_text(turn))


def best_of(fn: Callable[[], Any], *, reps: int) -> float:
    """Median seconds of ``reps`` calls of ``fn`` (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def side_by_side(fns: Sequence[Callable[[], Any]], *, reps: int) -> list[float]:
    """Median seconds of each of ``fns``, run in alternation so that drift hits all alike."""
    for fn in fns:
        fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(reps):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            samples[i].append(time.perf_counter() - t0)
    return [statistics.median(s) for s in samples]


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (Linux)."""
    import os

    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def fmt_s(seconds: float) -> str:
    """A duration in the unit that reads best (ns, µs, ms, s)."""
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(x: float) -> str:
    """A ratio as ``12.3x`` (``0.05x`` when below 1)."""
    return f"{x:.2f}x" if x < 10 else f"{x:.0f}x" if x >= 100 else f"{x:.1f}x"
