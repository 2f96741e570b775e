"""The budget under every traffic pattern, realtime side (issue 13's matrix).

A real ``AgentSession`` on the real OpenAI realtime plugin against the emulator. What
a response was given is read from the emulator (the server's conversation when it
started), counted with the manager's counter; losses are judged by the ``Ledger`` from
the emulator's event log. The summarizer is the extractive ``FakeLLM``, so what a
summary keeps is not judged here (issue 15 measures it): every item an applied
compaction names counts as dropped on purpose, and the ledger judges the rest (an
item gone unnamed, a forbidden delete, a split pair, an orphan, the server's order).
Run with ``-s`` to see each row's figures.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest
from emulator_support import Live, open_live
from livekit.agents import llm

from ctxmgr import (
    CompactionAppliedEvent,
    ContextManager,
    Settings,
    TokenCounter,
)
from ctxmgr.testing.emulator import (
    DIALECTS,
    RealtimeServerEmulator,
    ResponsePlan,
    ResponseRequest,
    Say,
    ServerItem,
)
from ctxmgr.testing.fake_llm import FakeLLM, FakeReply, summary_responder
from ctxmgr.testing.ledger import Ledger

pytestmark = pytest.mark.emulator

MAX_TOKENS = 1200


def _tokens(counter: TokenCounter, conversation: Sequence[ServerItem]) -> int:
    items: list[llm.ChatItem] = [
        llm.ChatMessage(id=i.id, role=i.role or "user", content=[i.text])  # type: ignore[arg-type]
        for i in conversation
        if i.type == "message"
    ]
    return counter.count(llm.ChatContext(items))


def _new_summary(before: Sequence[ServerItem], after: Sequence[ServerItem]) -> bool:
    known = {i.id for i in before}
    return any(i.id not in known and "chat_history_summary" in i.text for i in after)


class Recorder:
    """A responder that answers in a few streamed chunks and records what each response
    was given (the server's conversation when it started)."""

    def __init__(self) -> None:
        self.given: list[tuple[ServerItem, ...]] = []

    def __call__(self, request: ResponseRequest) -> ResponsePlan:
        self.given.append(request.conversation)
        return ResponsePlan(outputs=(Say("Noted, it ships in two days.", chunks=3, chunk_delay=0.01),))


class Judged:
    """A manager on ``live``, and the ledger that judges it."""

    def __init__(self, live: Live, emulator: RealtimeServerEmulator, delay_s: float) -> None:
        self.applied: list[CompactionAppliedEvent] = []
        self.summaries: list[str] = []
        self.summarizer = FakeLLM(self._summarize, delay_s=delay_s)
        self.manager = ContextManager(
            Settings(  # a fixed mark: these tests are about traffic, not about when it pays
                policy="realtime",
                max_tokens=MAX_TOKENS,
                keep_last_turns=1,
                trigger={"budget_fraction": 0.4, "price_model": None},
            ),
            summarizer_llm=self.summarizer,
        ).attach(live.agent)
        self.manager.on("compaction_applied", self.applied.append)
        self.ledger = Ledger(
            emulator,
            state=lambda: (live.rt_session.chat_ctx, live.agent.chat_ctx),
            keep_last_turns=1,
            summaries=lambda: self.summaries,
            named=lambda: {i: False for e in self.applied for i in e.removed_ids},
            reported=lambda: (
                frozenset(i for e in self.applied for i in e.removed_ids),
                frozenset(e.summary_id for e in self.applied if e.summary_id is not None),
            ),
            culprit_of=lambda item_id, nth: None,
        )

    def _summarize(self, chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
        reply = summary_responder(chat_ctx, tools)  # extractive, as the default FakeLLM
        self.summaries.append(reply.text)
        return reply


def _figures(name: str, judged: Judged, given: list[tuple[ServerItem, ...]], turns: int) -> None:
    """Print the row; assert what issue 13 asks of it."""
    m = judged.manager
    sent = [_tokens(m.counter, c) for c in given]
    first = next(
        (
            n for n, c in enumerate(given)
            if any(i.role == "system" and "chat_history_summary" in i.text for i in c)
        ),
        len(given),
    )
    # one turn's growth: between two responses with nothing removed or summarized between
    growth = max(
        (
            b - a
            for a, b, ca, cb in zip(sent, sent[1:], given, given[1:])
            if {i.id for i in ca} <= {i.id for i in cb} and not _new_summary(ca, cb)
        ),
        default=0,
    )
    largest = max(sent[first:], default=0)
    findings = judged.ledger.findings()
    calls = len(judged.summarizer.calls)
    print(
        f"\n| {name} | {len(sent)} | {largest} | {MAX_TOKENS} + {growth} |"
        f" {len(judged.applied)} | {calls} | {len(findings)} |"
    )
    assert len(judged.applied) >= 3
    assert largest <= MAX_TOKENS + growth
    assert calls <= turns // 4
    assert findings == [], findings


@contextlib.asynccontextmanager
async def _judged_session(
    emulator: RealtimeServerEmulator, *, summarizer_delay_s: float
) -> AsyncIterator[tuple[Live, Judged, Recorder]]:
    """A session on the emulator answering through a ``Recorder``, a judged manager on
    its agent; the manager and the session are closed after."""
    recorder = Recorder()
    emulator.responder = recorder
    live = await open_live(emulator)
    try:
        judged = Judged(live, emulator, delay_s=summarizer_delay_s)
        async with judged.summarizer:
            yield live, judged, recorder
            await judged.manager.aclose()
    finally:
        await live.aclose()


async def _typed(live: Live, t: int) -> None:
    await live.session.run(user_input=f"Turn {t}: I am Ada, order {4400 + t}, {t} Baker Street.")


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_rapid_typed_turns_compact(emulator: RealtimeServerEmulator) -> None:
    async with _judged_session(emulator, summarizer_delay_s=0.05) as (live, judged, recorder):
        for t in range(60):  # back to back
            await _typed(live, t)
        await judged.manager.wait_idle(timeout=10)
        _figures("realtime rapid typed turns", judged, recorder.given, 60)


async def test_spoken_turns_that_never_heal_do_not_stop_compaction(
    emulator: RealtimeServerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Untranscribed audio and replies cut off before their first word, again and again,
    between typed turns: compaction goes on (placeholders given up on at once here)."""
    monkeypatch.setattr("ctxmgr.remote.PLACEHOLDER_GIVE_UP_S", 0.0)
    async with _judged_session(emulator, summarizer_delay_s=0.02) as (live, judged, recorder):
        await live.session.run(user_input="Hello, I am Ada.")  # connected
        for t in range(45):
            if t % 3 == 0:  # a spoken turn the server never transcribes
                emulator.transcription_fails = True
                reply = emulator.commit_response(ResponsePlan.say("Sure."), user_transcript="x")
                await reply.wait_done()
                emulator.transcription_fails = False
            elif t % 3 == 1:  # a barge-in before the reply's first word
                slow = emulator.commit_response(
                    ResponsePlan(outputs=(Say("Well.", first_delay=1.0),))
                )
                await emulator.wait_until(lambda: len(slow.item_ids) == 1)
                await emulator.wait_until(
                    lambda: live.rt_session.chat_ctx.get_by_id(slow.item_ids[0]) is not None
                )
                await live.session.interrupt()
                await slow.wait_done()
            await live.session.wait_for_idle()
            await _typed(live, t)
        await judged.manager.wait_idle(timeout=10)
        _figures("realtime spoken turns that never heal", judged, recorder.given, 90)
