"""ContextManager on a real AgentSession (text mode) with a deterministic fake LLM."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from livekit.agents import AgentSession, llm

from ctxmgr import AttachError, ContextManager, Settings, SummarizerSettings, TailWindow
from ctxmgr.archive import MemoryArchive
from ctxmgr.testing.fake_llm import FakeLLM
from ctxmgr.summarizer import EARLIER_HANDOVER

from .session_kit import (
    EventLog,
    SupportAgent,
    responder,
    running,
    settle,
    snapshot,
    user_line,
)

pytestmark = pytest.mark.session


def _manager(summarizer_llm: FakeLLM | None, **settings: object) -> ContextManager:
    base: dict[str, object] = {"policy": "summarize", "max_tokens": 1500, "keep_last_turns": 2}
    base.update(settings)
    return ContextManager(Settings(**base), summarizer_llm=summarizer_llm)  # type: ignore[arg-type]


async def _turns(session: AgentSession, start: int, n: int, gap_s: float = 0.05) -> None:
    for t in range(start, start + n):
        await session.run(user_input=user_line(t))
        await asyncio.sleep(gap_s)  # a caller pauses between turns


# -- API --------------------------------------------------------------------------------


def test_attach_returns_the_manager_and_twice_is_an_error() -> None:
    m = _manager(None)
    agent = SupportAgent()
    assert m.attach(agent) is m
    with pytest.raises(AttachError, match="more than once"):
        m.attach(SupportAgent())
    with pytest.raises(AttachError, match="already has a ContextManager"):
        _manager(None).attach(agent)


def test_detach_restores_the_agents_methods_and_allows_a_new_manager() -> None:
    agent = SupportAgent()
    original_on_enter = agent.on_enter
    m = _manager(None).attach(agent)
    assert agent.on_enter != original_on_enter
    m.detach()
    assert agent.on_enter == original_on_enter
    _manager(None).attach(agent)


async def test_closed_manager_cannot_attach() -> None:
    m = _manager(None)
    await m.aclose()
    with pytest.raises(AttachError, match="closed"):
        m.attach(SupportAgent())


def test_realtime_model_needs_a_summarizer_llm() -> None:
    from livekit.plugins import openai

    agent = SupportAgent(llm=openai.realtime.RealtimeModel(api_key="test"))
    with pytest.raises(AttachError, match="summarizer_llm"):
        _manager(None).attach(agent)
    _manager(None, policy="trim").attach(SupportAgent(llm=openai.realtime.RealtimeModel(api_key="test")))


def test_from_settings_applies_overrides() -> None:
    m = ContextManager.from_settings(policy="trim", max_tokens=5000)
    assert (m.settings.strategy, m.settings.max_tokens, m.policy.name) == ("trim", 5000, "trim")


# -- background compaction --------------------------------------------------------------


async def test_long_call_stays_under_budget_and_loses_nothing() -> None:
    """150 turns with tool calls; every invariant checked after every turn."""
    summarizer = FakeLLM()
    session_llm = FakeLLM(responder)
    m = _manager(summarizer, max_tokens=1500)
    log = EventLog(m)
    agent = SupportAgent()
    m.attach(agent)
    accounted: set[str] = set()
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        previous = {i.id for i in agent.chat_ctx.items}
        peak = 0
        for t in range(150):
            await session.run(user_input=user_line(t))
            await asyncio.sleep(0.03)
            await settle(m)
            for ev in log.of("compaction_applied"):
                accounted.update(ev.removed_ids)  # type: ignore[attr-defined]
            items = agent.chat_ctx.items
            ids = {i.id for i in items}
            lost = previous - ids - accounted
            assert not lost, f"turn {t}: items lost {lost}"
            calls = {i.call_id for i in items if i.type == "function_call"}
            outputs = {i.call_id for i in items if i.type == "function_call_output"}
            assert outputs <= calls, f"turn {t}: output without its call"
            assert calls <= outputs, f"turn {t}: call without its output"
            assert items[0].type == "message" and items[0].role == "system"
            assert sum(1 for i in items if i.type == "message" and i.extra.get("is_summary")) <= 1
            peak = max(peak, m.counter.count(agent.chat_ctx))
            previous = ids
    applied = log.of("compaction_applied")
    assert len(applied) >= 5
    assert peak <= 1500
    assert m.stats.compactions == len(applied) and m.stats.failed == 0
    assert m.stats.summarizer_input_tokens > 0
    assert m.counter.cached_items <= 2 * len(agent.chat_ctx.items) + 64
    print(f"\n150 turns: peak {peak} tokens, {len(applied)} compactions, 0 items lost")
    await m.aclose()


async def test_reply_does_not_wait_for_the_summary() -> None:
    async with running(summarizer=FakeLLM(delay_s=5.0), max_tokens=800) as (m, log, agent, session):
        for t in range(30):
            await session.run(user_input=user_line(t))
            if m.busy:
                break
        assert m.busy, "the trigger never fired"
        await session.run(user_input=user_line(99))  # answered while the summary is pending
        assert m.busy
        assert agent.chat_ctx.items[-1].type == "message"
        await m.aclose()


async def test_items_arriving_while_the_summary_is_written_are_kept() -> None:
    async with running(
        summarizer=FakeLLM(delay_s=0.6), max_tokens=4000,
    ) as (m, log, agent, session):
        await _turns(session, 0, 12)
        before = {i.id for i in agent.chat_ctx.items}
        compaction = asyncio.create_task(m.compact(force=True))
        await asyncio.sleep(0.05)
        await _turns(session, 12, 5, gap_s=0.02)  # user, tool calls, replies: all mid-summary
        arrived = {i.id for i in agent.chat_ctx.items} - before
        result = await compaction
        assert result.status == "applied"
        ids = {i.id for i in agent.chat_ctx.items}
        assert arrived and arrived <= ids
        assert not set(log.of("compaction_applied")[0].removed_ids) & arrived  # type: ignore[attr-defined]
        await m.aclose()


@pytest.mark.parametrize(
    ("summarizer_kw", "timeout_s"),
    [({"fail_with": RuntimeError("provider down")}, 5.0), ({"delay_s": 2.0}, 0.1)],
    ids=["raises", "times_out"],
)
async def test_failing_summarizer_leaves_the_context_as_it_was(
    summarizer_kw: dict[str, object], timeout_s: float
) -> None:
    summarizer = FakeLLM(**summarizer_kw)  # type: ignore[arg-type]
    session_llm = FakeLLM(responder)
    m = _manager(summarizer, summarizer={"timeout_s": timeout_s})
    log = EventLog(m)
    agent = SupportAgent()
    m.attach(agent)
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        await _turns(session, 0, 10)
        before = snapshot(agent.chat_ctx)
        result = await m.compact(force=True)
        assert result.status == "failed" and result.event.stage == "summarize"  # type: ignore[union-attr]
        assert snapshot(agent.chat_ctx) == before
        assert len(log.of("compaction_failed")) == 1
        await m.aclose()


async def test_cancelled_compaction_leaves_the_context_as_it_was() -> None:
    async with running(summarizer=FakeLLM(delay_s=2.0)) as (m, log, agent, session):
        await _turns(session, 0, 10)
        before = snapshot(agent.chat_ctx)
        manual = asyncio.create_task(m.compact(force=True))
        await asyncio.sleep(0.1)
        await m.aclose()
        result = await manual  # abandoned, reported, never raised
        assert result.status == "failed" and result.event.stage == "summarize"  # type: ignore[union-attr]
        assert snapshot(agent.chat_ctx) == before
        assert [e.stage for e in log.of("compaction_failed")] == ["summarize"]  # type: ignore[attr-defined]
        assert not m.busy


async def test_token_budget_trims_when_the_summarizer_fails() -> None:
    async with running(
        summarizer=FakeLLM(fail_with=RuntimeError("provider down")), policy="token-budget",
    ) as (m, log, agent, session):
        await _turns(session, 0, 10)
        result = await m.compact(force=True)
        assert result.status == "applied" and result.event.fallback  # type: ignore[union-attr]
        assert result.event.action == "trim"  # type: ignore[union-attr]
        assert result.event.fallback_reason == "summarizer_failed"  # type: ignore[union-attr]
        assert "RuntimeError" in str(result.event.fallback_error)  # type: ignore[union-attr]
        # one round, one final event: the trim, which says why it is a trim
        assert not log.of("compaction_failed")
        await m.aclose()


async def test_a_failing_summarizer_rests_and_is_used_again_once_it_recovers() -> None:
    failing = FakeLLM(responder, fail_with=RuntimeError("429 Too Many Requests"))
    rest = SummarizerSettings(retry_after_s=1.0, max_retry_after_s=1.0)
    m = _manager(failing, policy="token-budget", max_tokens=500, summarizer=rest)
    log = EventLog(m)
    agent = SupportAgent()
    m.attach(agent)
    async with FakeLLM(responder) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(agent)
        for t in range(40):  # back to back
            await session.run(user_input=user_line(t))
            await m.wait_idle(timeout=10)
        # rests of 1 s: asked once or twice in these turns, not once per turn
        assert len(failing.calls) <= 2 and len(log.of("compaction_started")) >= 5, len(failing.calls)
        applied = log.of("compaction_applied")
        assert len(applied) >= 2 and all(e.fallback for e in applied)  # type: ignore[attr-defined]
        failing.fail_with = None  # the provider is back
        await asyncio.sleep(1.1)
        for t in range(40, 60):
            await session.run(user_input=user_line(t))
            await m.wait_idle(timeout=10)
        summaries = [e for e in log.of("compaction_applied") if not e.fallback]  # type: ignore[attr-defined]
        assert summaries and summaries[0].summary_id is not None  # type: ignore[attr-defined]
        await m.aclose()


async def test_session_llm_writes_summaries_when_none_is_given() -> None:
    session_llm = FakeLLM(responder)
    m = _manager(None)
    agent = SupportAgent()
    m.attach(agent)
    async with session_llm, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        await _turns(session, 0, 10)
        result = await m.compact(force=True)
        assert result.status == "applied"
        summary = agent.chat_ctx.get_by_id(result.event.summary_id)  # type: ignore[union-attr,arg-type]
        assert isinstance(summary, llm.ChatMessage) and summary.extra["is_summary"] is True
        assert summary.role == "assistant"
        assert "Baker Street" in (summary.text_content or "")
        await m.aclose()


async def test_earlier_summary_is_folded_into_the_next_one() -> None:
    summarizer = FakeLLM()
    async with running(summarizer=summarizer) as (m, log, agent, session):
        await _turns(session, 0, 8)
        first = await m.compact(force=True)
        await _turns(session, 8, 8)
        second = await m.compact(force=True)
        assert first.status == second.status == "applied"
        assert first.event.summary_id in second.event.removed_ids  # type: ignore[union-attr]
        assert EARLIER_HANDOVER in (summarizer.calls[-1].items[0].text_content or "")
        summaries = [i for i in agent.chat_ctx.items if i.type == "message" and i.extra.get("is_summary")]
        assert [s.id for s in summaries] == [second.event.summary_id]  # type: ignore[union-attr]
        await m.aclose()


async def test_handoff_leaves_the_next_agent_alone() -> None:
    """The manager stays with the agent it was attached to."""
    summarizer = FakeLLM()
    session_llm = FakeLLM(responder)
    m = _manager(summarizer, max_tokens=900)
    log = EventLog(m)
    first = SupportAgent()
    m.attach(first)
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(first)
        await _turns(session, 0, 3)
        second = SupportAgent(chat_ctx=first.chat_ctx.copy())
        session.update_agent(second)
        await asyncio.sleep(0.2)
        before = snapshot(second.chat_ctx)
        n_events = len(log.events)
        await _turns(session, 3, 20)
        await settle(m)
        assert len(log.events) == n_events  # nothing planned for the second agent
        assert set(before) <= set(snapshot(second.chat_ctx))
        assert m.agent is first
        await m.aclose()


async def test_log_messages_carry_no_chat_content(caplog: pytest.LogCaptureFixture) -> None:
    summarizer = FakeLLM()
    session_llm = FakeLLM(responder)
    m = _manager(summarizer)
    agent = SupportAgent()
    m.attach(agent)
    with caplog.at_level(logging.DEBUG, logger="ctxmgr"):
        async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
            await session.start(agent)
            await _turns(session, 0, 10)
            assert (await m.compact(force=True)).status == "applied"
            await m.aclose()
    ours = [r for r in caplog.records if r.name.startswith("ctxmgr")]
    assert any(hasattr(r, "lk.pii.summary") for r in ours)
    for record in ours:
        assert "Baker" not in record.getMessage() and "Ana" not in record.getMessage()


async def test_session_close_abandons_a_compaction_in_flight() -> None:
    summarizer = FakeLLM(delay_s=5.0)
    session_llm = FakeLLM(responder)
    m = _manager(summarizer)
    log = EventLog(m)
    agent = SupportAgent()
    m.attach(agent)
    async with session_llm, summarizer:
        session = AgentSession(llm=session_llm)
        await session.start(agent)
        await _turns(session, 0, 10)
        before = snapshot(agent.chat_ctx)
        manual = asyncio.create_task(m.compact(force=True))
        await asyncio.sleep(0.1)
        await session.aclose()
        result = await manual
        assert result.status == "failed" and result.event.stage == "summarize"  # type: ignore[union-attr]
        assert snapshot(agent.chat_ctx) == before
        assert [e.stage for e in log.of("compaction_failed")] == ["summarize"]  # type: ignore[attr-defined]
        await m.aclose()


async def test_plans_are_cut_in_the_servers_units_when_it_reports_more() -> None:
    """Audio the text counter cannot see: a plan against a 3x server figure cuts deeper."""
    async with running(summarizer=FakeLLM(), policy="trim", max_tokens=3000, target_fraction=0.2,
                       keep_last_turns=1) as (m, log, agent, session):
        await _turns(session, 0, 20)
        text = m.counter.count(agent.chat_ctx)
        assert text < m.settings.effective_target_tokens * 2  # the text alone looks small
        m.report_usage(3 * text)
        result = await m.compact(force=True)
        assert result.status == "applied"
        # in the server's units the cut reaches the 600-token target
        assert 3 * m.counter.count(agent.chat_ctx) <= m.settings.effective_target_tokens
        assert m.stats.server_input_tokens is None  # stale after the compaction


async def test_a_summary_ten_times_too_long_is_cut_to_max_summary_tokens() -> None:
    limit = 100
    huge = " ".join(f"Fact {n}: order {4400 + n} ships to {n} Baker Street." for n in range(75))
    summarizer = FakeLLM(lambda ctx, tools: huge)
    async with running(
        summarizer=summarizer, max_tokens=1500,
        summarizer_settings=SummarizerSettings(max_summary_tokens=limit),
    ) as (m, log, agent, session):
        assert m.counter.count_text(huge) >= 10 * limit
        await _turns(session, 0, 40)
        await settle(m)
        applied = log.of("compaction_applied")
        assert applied, "never compacted"
        for event in applied:
            assert event.summary_tokens <= limit + 60  # the tag and the message's own tokens  # type: ignore[attr-defined]
        summary = agent.chat_ctx.get_by_id(applied[-1].summary_id)  # type: ignore[attr-defined]
        assert summary is not None and summary.text_content.rstrip("</chat_history_summary>\n").endswith(".")  # type: ignore[union-attr]
        assert m.stats.peak_tokens <= m.settings.max_tokens


async def test_a_compaction_that_cannot_get_below_the_trigger_does_not_repeat_every_turn() -> None:
    """A summary allowed to be as big as the trigger would otherwise make every new item
    compact again: a new round waits until the context grew by the hysteresis gap."""
    huge = " ".join(f"Fact {n}: order {4400 + n} ships to {n} Baker Street." for n in range(75))
    summarizer = FakeLLM(lambda ctx, tools: huge)
    async with running(
        summarizer=summarizer, max_tokens=1500, keep_last_turns=1,
        summarizer_settings=SummarizerSettings(max_summary_tokens=1150),
    ) as (m, log, agent, session):
        await _turns(session, 0, 40)
        await settle(m)
        applied = log.of("compaction_applied")
        assert applied, "never compacted"
        summary = agent.chat_ctx.get_by_id(applied[-1].summary_id)  # type: ignore[attr-defined]
        assert summary is not None
        assert m.counter.count_item(summary) >= m.settings.high_water_tokens - 150
        assert len(applied) <= 6, f"{len(applied)} compactions in 40 turns"
        assert m.stats.peak_tokens <= m.settings.max_tokens + 200


async def test_wait_idle_waits_for_triggered_and_manual_rounds_without_cancelling() -> None:
    async with running(summarizer=FakeLLM(delay_s=0.3), max_tokens=800) as (m, log, agent, session):
        assert not m.busy
        await m.wait_idle(timeout=1)  # nothing in flight: returns at once
        for t in range(8):
            await session.run(user_input=user_line(t))
        await m.wait_idle(timeout=10)  # whatever the trigger started
        assert not m.busy
        manual = asyncio.create_task(m.compact(force=True))
        await asyncio.sleep(0.05)
        assert m.busy
        with pytest.raises(TimeoutError):
            await m.wait_idle(timeout=0.01)
        assert not manual.done()  # a timed-out wait leaves the round alone
        await m.wait_idle(timeout=5)
        assert manual.done() and not m.busy
        assert manual.result().status == "applied"
        await m.aclose()


def test_summarizer_llm_must_be_a_text_llm_instance() -> None:
    from livekit.plugins import openai

    with pytest.raises(TypeError, match="got a str"):
        ContextManager(Settings(), summarizer_llm="gpt-4o-mini")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="realtime model"):
        ContextManager(Settings(), summarizer_llm=openai.realtime.RealtimeModel(api_key="t"))  # type: ignore[arg-type]


async def test_a_policy_that_raises_is_a_failed_round_not_an_exception() -> None:
    class BrokenPolicy:
        name = "broken"
        tail = TailWindow()
        summary_tokens = 0

        def plan(self, chat_ctx: llm.ChatContext, **_: object) -> None:
            raise ValueError("bug in my policy")

    m = ContextManager(Settings(policy="trim"), policy=BrokenPolicy())  # type: ignore[arg-type]
    log = EventLog(m)
    agent = SupportAgent()
    m.attach(agent)
    async with FakeLLM(responder) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(agent)
        await _turns(session, 0, 3)
        before = snapshot(agent.chat_ctx)
        result = await m.compact(force=True)
        assert result.status == "failed" and result.event.stage == "plan"  # type: ignore[union-attr]
        assert isinstance(result.event.error, ValueError)  # type: ignore[union-attr]
        assert [e.stage for e in log.of("compaction_failed")] == ["plan"]  # type: ignore[attr-defined]
        assert snapshot(agent.chat_ctx) == before
        await m.aclose()


# -- real traffic: turns back to back ---------------------------------------------------


async def _back_to_back(
    turns: int, *, reply_delay_s: float, summarizer: FakeLLM, **settings: object
) -> tuple[ContextManager, EventLog, list[int], set[str], set[str]]:
    """``session.run`` in a loop, no pause, no settle (a text agent; a test written the way
    the README suggests). Returns the manager, its events, the tokens of every request
    the session's LLM was sent, every id ever seen and the ids at the end."""
    session_llm = FakeLLM(responder, delay_s=reply_delay_s)
    m = _manager(summarizer, **settings)
    log = EventLog(m)
    log.watch(m, "over_budget")
    agent = SupportAgent()
    m.attach(agent)
    seen: set[str] = set()
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        for t in range(turns):
            await session.run(user_input=user_line(t))
            seen.update(i.id for i in agent.chat_ctx.items)
            assert m.stats.tokens == m.counter.count(agent.chat_ctx), f"turn {t}: stale stats"
        sent = [m.counter.count(ctx) for ctx in session_llm.calls]
        final = {i.id for i in agent.chat_ctx.items}
        await m.aclose()
    return m, log, sent, seen, final


def _lost(log: EventLog, seen: set[str], final: set[str]) -> set[str]:
    """Ids gone from the context that no applied compaction names (archived with it)."""
    folded = {i for e in log.of("compaction_applied") for i in e.removed_ids}  # type: ignore[attr-defined]
    return seen - final - folded


async def test_back_to_back_turns_are_summarized_without_waiting_for_a_pause() -> None:
    """A pipeline context is local and each request is built from a copy: the apply does
    not wait for the agent to be idle, which it never is here."""
    m, log, sent, seen, final = await _back_to_back(
        60, reply_delay_s=0.02, summarizer=FakeLLM(delay_s=0.05), max_tokens=1500
    )
    applied = log.of("compaction_applied")
    assert len(applied) >= 2, f"{len(applied)} compactions in 60 back-to-back turns"
    assert not any(e.fallback for e in applied)  # type: ignore[attr-defined]
    assert not log.of("compaction_skipped") and not log.of("over_budget")
    assert max(sent) <= m.settings.max_tokens, max(sent)
    assert m.stats.peak_tokens >= max(sent) - 50  # what was sent (instructions aside)
    assert not _lost(log, seen, final)


async def test_a_summary_that_is_not_ready_in_time_gives_way_to_a_trim_at_the_limit() -> None:
    """Turns faster than the summarizer: the context passes ``max_tokens`` while the
    summary is written; the round trims at once and says so."""
    m, log, sent, seen, final = await _back_to_back(
        45, reply_delay_s=0.0, summarizer=FakeLLM(delay_s=5.0), max_tokens=1500
    )
    over = log.of("over_budget")
    assert over and over[0].compacting and over[0].over_by > 0  # type: ignore[attr-defined]
    applied = log.of("compaction_applied")
    assert applied and all(e.fallback_reason == "over_budget" for e in applied)  # type: ignore[attr-defined]
    assert [e.type for e in log.events if e.type.startswith("compaction")][:2] == [  # type: ignore[attr-defined]
        "compaction_started", "compaction_applied",
    ]  # one round, one final event
    growth = max(b - a for a, b in zip(sent, sent[1:]))
    assert max(sent) <= m.settings.max_tokens + growth, (max(sent), growth)
    assert m.stats.over_budget == len(over)
    assert not _lost(log, seen, final)


def _history(turns: int) -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    for t in range(turns):
        ctx.add_message(role="user", content=user_line(t))
        ctx.add_message(role="assistant", content=f"Noted, turn {t}: it ships in two days.")
    return ctx


@pytest.mark.parametrize("summary_delay_s", [0.05, 5.0])
async def test_history_preloaded_over_the_budget_is_compacted_before_the_first_reply(
    summary_delay_s: float,
) -> None:
    """``Agent(chat_ctx=<240 items>)`` at three times the budget: the first request is under
    it. A summary not ready within ``first_reply_wait_s`` gives way to a trim."""
    summarizer = FakeLLM(delay_s=summary_delay_s)
    session_llm = FakeLLM(responder)
    m = _manager(summarizer, max_tokens=1500, first_reply_wait_s=0.3)
    log = EventLog(m)
    agent = SupportAgent(chat_ctx=_history(120))
    assert m.counter.count(agent.chat_ctx) > 3 * 1500
    m.attach(agent)
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        await session.run(user_input=user_line(99))
        first = m.counter.count(session_llm.calls[0])
        assert first <= m.settings.max_tokens, first
        applied = log.of("compaction_applied")
        assert len(applied) == 1
        if summary_delay_s < 0.3:
            assert applied[0].summary_id is not None  # type: ignore[attr-defined]
        else:
            assert applied[0].fallback_reason == "over_budget"  # type: ignore[attr-defined]
        await m.aclose()


async def test_the_agents_own_llm_node_still_runs_on_a_request_that_carries_the_summary() -> None:
    from livekit.agents import Agent

    class RecordingAgent(SupportAgent):
        def __init__(self) -> None:
            super().__init__()
            self.requests: list[list[str]] = []

        async def llm_node(self, chat_ctx, tools, model_settings):  # type: ignore[no-untyped-def]
            self.requests.append([i.id for i in chat_ctx.items])
            async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
                yield chunk

    summarizer = FakeLLM(delay_s=0.05)
    m = _manager(summarizer, max_tokens=1500)
    log = EventLog(m)
    agent = RecordingAgent()
    m.attach(agent)
    async with FakeLLM(responder, delay_s=0.02) as reply_llm, summarizer, AgentSession(
        llm=reply_llm
    ) as session:
        await session.start(agent)
        for t in range(40):
            await session.run(user_input=user_line(t))
        applied = log.of("compaction_applied")
        assert applied and len(agent.requests) == len(reply_llm.calls)
        last = applied[-1]
        assert last.summary_id in agent.requests[-1]  # type: ignore[attr-defined]
        assert not set(last.removed_ids) & set(agent.requests[-1])  # type: ignore[attr-defined]
        m.detach()
        assert "llm_node" not in agent.__dict__  # the override is the class's again
        await m.aclose()


async def test_detach_abandons_a_manual_round_and_nothing_lands_or_is_archived_after() -> None:
    async with running(summarizer=FakeLLM(delay_s=1.0)) as (m, log, agent, session):
        await _turns(session, 0, 10)
        before = snapshot(agent.chat_ctx)
        manual = asyncio.create_task(m.compact(force=True))
        await asyncio.sleep(0.1)
        m.detach()
        result = await manual
        assert result.status == "failed"
        await asyncio.sleep(1.2)  # past the summarizer's delay
        assert snapshot(agent.chat_ctx) == before and not log.of("compaction_applied")
        assert m.archive is not None and not m.archive.search(m.session_id, "Baker")


async def test_the_apps_removal_while_the_agent_is_thinking_lands_at_once() -> None:
    """A pipeline context is local: an application's removal waits only for a running
    tool, not for the reply being generated (it used to be kept, and never retried)."""
    m = _manager(FakeLLM(), max_tokens=100_000)
    agent = SupportAgent()
    m.attach(agent)
    async with FakeLLM(responder, delay_s=0.3) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(agent)
        await _turns(session, 1, 6)
        thinking = session.run(user_input="Turn 99: one more question.")
        await asyncio.sleep(0.1)
        assert session.agent_state == "thinking"
        copy = agent.chat_ctx.copy()
        old = [i.id for i in copy.items if i.type == "message" and i.role != "system"][:4]
        await agent.update_chat_ctx(llm.ChatContext([i for i in copy.items if i.id not in old]))
        assert not {i.id for i in agent.chat_ctx.items} & set(old)
        await thinking
        assert not {i.id for i in agent.chat_ctx.items} & set(old)
        await m.aclose()


class NarrowUpdateAgent(SupportAgent):
    """An application's override with a narrower signature than livekit's."""

    def __init__(self) -> None:
        super().__init__()
        self.updates = 0

    async def update_chat_ctx(self, chat_ctx: llm.ChatContext) -> None:  # type: ignore[override]
        self.updates += 1
        await super().update_chat_ctx(chat_ctx)


async def test_an_agent_whose_update_chat_ctx_takes_only_the_context_still_compacts() -> None:
    """Every compaction used to fail with TypeError: ctxmgr passed livekit's keyword."""
    summarizer = FakeLLM()
    m = _manager(summarizer, max_tokens=1200)
    log = EventLog(m)
    agent = NarrowUpdateAgent()
    m.attach(agent)
    async with summarizer, FakeLLM(responder) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(agent)
        await _turns(session, 0, 30)
        await settle(m)
        # the application's own update goes through the guard and its override too
        await agent.update_chat_ctx(agent.chat_ctx.copy())
    assert log.of("compaction_applied"), [getattr(e, "type", e) for e in log.events]
    assert log.of("compaction_failed") == []
    assert agent.updates >= len(log.of("compaction_applied")) + 1
    await m.aclose()


def test_detach_puts_back_methods_the_app_set_on_the_instance_before_attach() -> None:
    agent = SupportAgent()

    async def on_enter() -> None: ...

    async def on_exit() -> None: ...

    async def update_chat_ctx(chat_ctx: llm.ChatContext, **_: object) -> None: ...

    agent.on_enter = on_enter  # type: ignore[method-assign]
    agent.on_exit = on_exit  # type: ignore[method-assign]
    agent.update_chat_ctx = update_chat_ctx  # type: ignore[method-assign]
    m = _manager(None).attach(agent)
    assert agent.on_enter is not on_enter and agent.update_chat_ctx is not update_chat_ctx
    m.detach()
    assert agent.on_enter is on_enter
    assert agent.on_exit is on_exit
    assert agent.update_chat_ctx is update_chat_ctx
    assert "llm_node" not in agent.__dict__  # looked up on the class again


class _ThreadNotingArchive(MemoryArchive):
    """Notes the thread each write runs in (and fails every write when told to)."""

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []
        self.fail = fail

    def write(self, *args: object, **kwargs: object) -> int:
        self.threads.append(threading.current_thread())
        if self.fail:
            raise OSError("disk full")
        return super().write(*args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("fail", [False, True], ids=["written", "write_fails"])
async def test_compactions_archive_off_the_event_loop_and_a_failed_write_keeps_the_span(
    fail: bool,
) -> None:
    archive = _ThreadNotingArchive(fail=fail)
    m = ContextManager(
        Settings(policy="summarize", max_tokens=1500, keep_last_turns=2),
        summarizer_llm=FakeLLM(),
        archive=archive,
    )
    log = EventLog(m)
    agent = SupportAgent()
    m.attach(agent)
    session_llm = FakeLLM(responder)
    async with session_llm, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        await _turns(session, 0, 8)
        await settle(m)
        before = snapshot(agent.chat_ctx)
        result = await m.compact(force=True)
        assert archive.threads and threading.main_thread() not in archive.threads
        if fail:
            assert result.status == "failed" and result.event.stage == "archive"  # type: ignore[union-attr]
            assert snapshot(agent.chat_ctx) == before
            assert not archive.items(m.session_id)
        else:
            assert result.status == "applied" and not log.of("compaction_failed")
            removed = set(result.event.removed_ids)  # type: ignore[union-attr]
            assert removed <= {r.item_id for r in archive.items(m.session_id)}
        await m.aclose()


AUDIO_PRICED = {
    "budget_fraction": 0.8,
    "price_model": "gpt-4o-mini-realtime",
    "speech_billed_as": "audio",
    "cost_margin": 1.0,
}
"""The cost rule at gpt-4o-mini-realtime prices, speech billed as audio."""


async def _spoken_turn(
    m: ContextManager, agent: object, session: AgentSession, t: int, *, audio_per_token: int | None
) -> None:
    """Play turn ``t``, then report its usage as a realtime session would: the context's
    text tokens, and ``audio_per_token`` audio tokens per transcript token (or none)."""
    await session.run(user_input=user_line(t))
    text = m.counter.count(agent.chat_ctx)  # type: ignore[attr-defined]
    m.report_usage(text, audio_tokens=text * audio_per_token if audio_per_token else None)


async def test_the_audio_the_provider_reports_tells_the_cost_rule_what_speech_bills() -> None:
    """Told that the context's speech billed 19 audio tokens a transcript token, the rule
    sees the model's last reply re-sent as costly uncached audio and compacts at once;
    with the same totals and no audio count, it learns speech at the text rate from their
    growth and rents several turns first."""
    first: dict[bool, int] = {}
    for told in (True, False):
        async with running(
            summarizer=FakeLLM(), policy="realtime", max_tokens=50_000, keep_last_turns=0,
            trigger=AUDIO_PRICED,
        ) as (m, log, agent, session):
            for t in range(12):
                await _spoken_turn(m, agent, session, t, audio_per_token=19 if told else None)
                await asyncio.sleep(0.05)
                if log.of("compaction_started"):
                    first[told] = t
                    break
    assert first[True] < first.get(False, 12)


async def test_the_cost_rule_cuts_down_to_the_tail_whatever_the_target() -> None:
    """The rule prices a cut of everything before the tail window; its round makes that cut
    even when ``target_fraction`` would stop far sooner (here the whole context is under the
    target: the plan reaching it folded one turn, and the next turn re-billed the rest
    uncached). A compaction forced by hand still cuts to the target."""
    async with running(
        summarizer=FakeLLM(), policy="realtime", max_tokens=50_000, keep_last_turns=1,
        target_fraction=0.5, trigger=AUDIO_PRICED,
    ) as (m, log, agent, session):
        for t in range(12):
            await _spoken_turn(m, agent, session, t, audio_per_token=19)
            await settle(m)
            if log.of("compaction_applied"):
                break
        applied = log.of("compaction_applied")
        assert applied, "the rule never fired"
        users = [i for i in agent.chat_ctx.items if i.type == "message" and i.role == "user"]
        assert [u.text_content for u in users] == [user_line(t)]  # only the last turn is left
        assert applied[0].removed_ids  # type: ignore[attr-defined]

        for t in range(t + 1, t + 4):
            await session.run(user_input=user_line(t))
        await settle(m)
        before = [i.id for i in agent.chat_ctx.items if i.type == "message" and i.role == "user"]
        forced = await m.compact(force=True)
        left = [i.id for i in agent.chat_ctx.items if i.type == "message" and i.role == "user"]
        assert forced.status == "applied" and len(left) == len(before) - 1  # the target is near
