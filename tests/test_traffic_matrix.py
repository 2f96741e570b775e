"""The budget under every traffic pattern, pipeline side (issue 13's matrix).

Each row is a real ``AgentSession`` (text mode) driven as a caller would, with the
summarizer it names. What is judged comes from outside the manager: the requests the
session's LLM was actually sent, and the ids the agent's context ever held.

- the largest request after the first compaction stays within ``max_tokens`` plus one
  turn's growth;
- summarizer calls stay bounded;
- nothing is lost: every id the context held is still in it, or an applied compaction
  names it (and the archive holds it);
- ``stats.tokens`` is what the context counts after the last turn, and ``peak_tokens``
  is at least the largest request (instructions aside).

Run with ``-s`` to see the row's figures.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from livekit.agents import AgentSession, llm

from ctxmgr import ContextManager, Settings, SummarizerSettings
from ctxmgr.testing.fake_llm import FakeLLM

from .session_kit import EventLog, SupportAgent, responder, user_line

pytestmark = pytest.mark.session

MAX_TOKENS = 1500
LONG = " ".join(f"Fact {n}: order {4400 + n} ships to {n} Baker Street." for n in range(75))


@dataclass
class Row:
    name: str
    turns: int
    gap_s: float = 0.0
    """Pause between turns (0: back to back)."""
    reply_delay_s: float = 0.02
    summarizer_delay_s: float = 0.05
    summary: str | None = None
    """What the summarizer always answers (``None``: an extractive summary)."""
    failing_turns: int = 0
    """The summarizer fails (a 429) for this many turns, then recovers."""
    preloaded_turns: int = 0
    settings: dict[str, object] | None = None


ROWS = [
    Row("back-to-back text turns", 60),
    Row("20 ms gaps", 60, gap_s=0.02),
    Row("turns faster than the summarizer", 60, reply_delay_s=0.0, summarizer_delay_s=5.0),
    Row("summary 10x max_summary_tokens", 60, summary=LONG,
        settings={"summarizer": SummarizerSettings(max_summary_tokens=100)}),
    Row("history preloaded at 3x the budget", 20, preloaded_turns=120),
    Row("summarizer failing 100 turns, then recovering", 130, failing_turns=100,
        settings={"policy": "token-budget",
                  "summarizer": SummarizerSettings(retry_after_s=0.5, max_retry_after_s=2.0)}),
]


def _history(turns: int) -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    for t in range(turns):
        ctx.add_message(role="user", content=user_line(1000 + t))
        ctx.add_message(role="assistant", content=f"Noted, turn {t}: it ships in two days.")
    return ctx


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
async def test_traffic_row(row: Row) -> None:
    summarizer = FakeLLM(
        (lambda ctx, tools: row.summary) if row.summary is not None else None,
        delay_s=row.summarizer_delay_s,
    )
    if row.failing_turns:
        summarizer.fail_with = RuntimeError("429 Too Many Requests")
    session_llm = FakeLLM(responder, delay_s=row.reply_delay_s)
    settings: dict[str, object] = {
        "policy": "summarize", "max_tokens": MAX_TOKENS, "keep_last_turns": 2,
        **(row.settings or {}),
    }
    m = ContextManager(Settings(**settings), summarizer_llm=summarizer)  # type: ignore[arg-type]
    log = EventLog(m)
    log.watch(m, "over_budget")
    agent = SupportAgent(chat_ctx=_history(row.preloaded_turns)) if row.preloaded_turns else SupportAgent()
    m.attach(agent)
    seen: set[str] = set()
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        seen.update(i.id for i in agent.chat_ctx.items)
        for t in range(row.turns):
            if t == row.failing_turns and row.failing_turns:
                summarizer.fail_with = None  # the provider is back
                await asyncio.sleep(2.1)  # its longest rest
            await session.run(user_input=user_line(t))
            seen.update(i.id for i in agent.chat_ctx.items)
            if row.gap_s:
                await asyncio.sleep(row.gap_s)
        await m.wait_idle(timeout=30)
        final = {i.id for i in agent.chat_ctx.items}
        counted = m.counter.count(agent.chat_ctx)
        assert m.archive is not None
        archived = {a.item_id for a in m.archive.items(m.session_id)}
        await m.aclose()

    sent = [m.counter.count(ctx) for ctx in session_llm.calls]
    applied = log.of("compaction_applied")
    assert applied, f"{row.name}: never compacted"
    first = next(
        n for n, ctx in enumerate(session_llm.calls)
        if any(isinstance(i, llm.ChatMessage) and i.extra.get("is_summary") for i in ctx.items)
        or len(ctx.items) < len(session_llm.calls[max(0, n - 1)].items)
    )
    growth = max(b - a for a, b in zip(sent, sent[1:]) if b > a)
    largest = max(sent[first:])
    folded = {i for e in applied for i in e.removed_ids}  # type: ignore[attr-defined]
    lost = seen - final - folded
    summaries = len(summarizer.calls)
    print(
        f"\n| {row.name} | {len(sent)} | {largest} | {MAX_TOKENS} + {growth} |"
        f" {len(applied)} ({sum(1 for e in applied if e.fallback)} trims) |"  # type: ignore[attr-defined]
        f" {summaries} | {len(lost)} | {m.stats.tokens} = {counted} |"
        f" {m.stats.peak_tokens} >= {max(sent)} |"
    )
    assert largest <= MAX_TOKENS + growth, (largest, growth)
    assert not lost, f"{len(lost)} items lost"
    assert m.stats.tokens == counted
    assert m.stats.peak_tokens >= max(sent) - 60  # the instructions the request adds
    assert summaries <= row.turns // 4 + 2, f"{summaries} summarizer calls in {row.turns} turns"
    if row.failing_turns:
        after = [e for e in applied if not e.fallback]  # type: ignore[attr-defined]
        assert after, "the summarizer was never used again once it recovered"
    assert folded <= archived


def test_a_string_summarizer_is_a_type_error_at_construction() -> None:
    with pytest.raises(TypeError, match="got a str"):
        ContextManager(Settings(), summarizer_llm="gpt-4o-mini")  # type: ignore[arg-type]
