"""livekit's own workflows on a managed agent, run for real (issue 12, item 4).

An ``AgentTask`` awaited from a tool pauses the parent agent, runs its own activity
and, when it completes, livekit merges the task's context into the parent's (setting
the parent's items directly) and resumes it. ``TaskGroup(summarize_chat_ctx=True)``
runs its tasks, then replaces its own context with livekit's summary, which is what
the parent receives. The parent's manager must not evaluate or touch the parent while
it is paused, must pick up again once it resumes, and must leave livekit's merge and
summary as livekit makes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence

import pytest
from livekit.agents import Agent, AgentSession, AgentTask, function_tool, llm
from livekit.agents.beta.workflows import TaskGroup
from livekit.plugins.openai.realtime import RealtimeModel

from ctxmgr import ContextManager, Settings, TriggerSettings
from ctxmgr.signals import agent_is_running
from ctxmgr.testing.emulator import RealtimeServerEmulator, ResponsePlan, ResponseRequest, echo_responder
from ctxmgr.testing.fake_llm import FakeLLM, FakeReply, FakeToolCall

from .session_kit import EventLog, SupportAgent, responder, user_line

pytestmark = pytest.mark.session

EMAIL = "ada1815@example.com"


class EmailTask(AgentTask[str]):
    def __init__(self, probe: Callable[[], None]) -> None:
        super().__init__(instructions="Collect the caller's new email address.")
        self._probe = probe

    @function_tool
    async def record_email(self, email: str) -> None:
        """Record the caller's new email address."""
        self._probe()  # the parent as the task leaves it, before livekit merges
        self.complete(email)


class AccountAgent(SupportAgent):
    def __init__(self, *, group: bool) -> None:
        super().__init__()
        self.group = group
        self.log: EventLog | None = None
        self.events_at_probe = 0
        self.events_at_pause = 0
        self.at_pause: list[tuple[str, bytes]] = []
        self.probes: list[list[tuple[str, bytes]]] = []
        """The parent's own context when each task ended (before livekit's merge)."""

    def _probe(self) -> None:
        self.probes.append([(i.id, i._fingerprint()) for i in self._chat_ctx.items])
        self.events_at_probe = len(self.log.events) if self.log is not None else 0

    @function_tool
    async def update_email(self) -> str:
        """Start collecting the caller's new email address."""
        if self.group:
            group = TaskGroup(summarize_chat_ctx=True)
            group.add(lambda: EmailTask(self._probe), id="email", description="Collect the email")
            result = await group
            return f"email recorded: {result.task_results['email']}"
        return f"email recorded: {await EmailTask(self._probe)}"


def account_responder(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
    names = {getattr(t, "id", None) for t in tools}
    last = chat_ctx.items[-1] if chat_ctx.items else None
    said = (last.text_content or "") if isinstance(last, llm.ChatMessage) and last.role == "user" else ""
    if "email is" in said and "record_email" in names:
        return FakeReply(tool_calls=[FakeToolCall("record_email", {"email": EMAIL})])
    if "update my email" in said and "update_email" in names:
        return FakeReply(tool_calls=[FakeToolCall("update_email", {})])
    return responder(chat_ctx, tools)


def _shape(chat_ctx: llm.ChatContext) -> list[tuple[str, str]]:
    return [
        (i.role, (i.text_content or "")[:50])
        if isinstance(i, llm.ChatMessage)
        else (i.type, getattr(i, "output", ""))
        for i in chat_ctx.items
        if i.type not in ("agent_config_update", "agent_handoff")
    ]


class Call:
    """One call: six turns, then the caller updates their email through the task."""

    def __init__(self, *, group: bool, manager: ContextManager | None) -> None:
        self.agent = AccountAgent(group=group)
        self.manager = manager.attach(self.agent) if manager is not None else None
        self.log = EventLog(manager) if manager is not None else None
        self.agent.log = self.log
        self.at_pause: list[tuple[str, bytes]] = []
        self.events_at_pause = 0
        self.events_at_resume = 0
        self.paused_compaction: object = None

    async def run(self) -> list[tuple[str, str]]:
        agent, manager = self.agent, self.manager
        async with FakeLLM(account_responder) as reply_llm, AgentSession(llm=reply_llm) as session:
            await session.start(agent)
            for t in range(1, 7):
                await session.run(user_input=user_line(t))
            if manager is not None:
                await manager.wait_idle(timeout=10)
            await session.run(user_input="I want to update my email address.")
            assert session.current_agent is not agent  # the task runs; the parent is paused
            self.at_pause = [(i.id, i._fingerprint()) for i in agent._chat_ctx.items]
            if manager is not None and self.log is not None:
                await manager.wait_idle(timeout=10)  # a round the pause met gives up
                self.events_at_pause = len(self.log.events)
                self.paused_compaction = await manager.compact(force=True)
            await session.run(user_input=f"My new email is {EMAIL}.")
            for _ in range(200):  # the group summarizes, then the parent's tool returns
                if session.current_agent is agent and _returned(agent):
                    break
                await asyncio.sleep(0.02)
            assert session.current_agent is agent and _returned(agent)  # resumed
            if manager is not None and self.log is not None:
                self.events_at_resume = len(self.log.events)
                await manager.wait_idle(timeout=10)
            return _shape(agent.chat_ctx)


def _update_email_output(agent: AccountAgent) -> str | None:
    """What the parent's ``update_email`` tool returned, once it has."""
    items = agent._chat_ctx.items
    calls = {i.call_id for i in items if isinstance(i, llm.FunctionCall) and i.name == "update_email"}
    return next(
        (i.output for i in items if isinstance(i, llm.FunctionCallOutput) and i.call_id in calls),
        None,
    )


def _returned(agent: AccountAgent) -> bool:
    return EMAIL in (_update_email_output(agent) or "")


GROUPS = pytest.mark.parametrize(
    "group", [False, True], ids=["AgentTask", "TaskGroup(summarize_chat_ctx=True)"]
)


@GROUPS
async def test_a_task_lands_in_a_managed_parent_as_it_does_in_an_unmanaged_one(group: bool) -> None:
    without = await Call(group=group, manager=None).run()
    settings = Settings(policy="summarize", max_tokens=100_000, keep_last_turns=2)
    manager = ContextManager(settings, summarizer_llm=FakeLLM())
    with_manager = await Call(group=group, manager=manager).run()
    await manager.aclose()

    assert with_manager == without
    texts = " ".join(text for _, text in without)
    assert f"email recorded: {EMAIL}" in texts  # the parent's tool returned
    if group:  # livekit's summary of the group, merged into the parent
        assert "<chat_history_summary>" in texts
    else:  # the task's own turn, merged into the parent
        assert f"My new email is {EMAIL}" in texts


@GROUPS
async def test_a_paused_parent_is_never_compacted_and_is_again_once_resumed(group: bool) -> None:
    # a trigger that fires on every event: only "paused" holds the manager back
    settings = Settings(
        policy="summarize", max_tokens=100_000, target_tokens=10, keep_last_turns=1,
        quiescence_timeout_s=1.0, trigger=TriggerSettings(tokens=60, budget_fraction=None),
    )
    manager = ContextManager(settings, summarizer_llm=FakeLLM())
    call = Call(group=group, manager=manager)
    await call.run()
    await manager.aclose()
    log = call.log
    assert log is not None

    paused = call.paused_compaction
    assert getattr(paused, "status", None) == "skipped", paused
    assert paused.event.reason == "agent_inactive"  # type: ignore[attr-defined]
    assert call.agent.probes == [call.at_pause]  # untouched while the task ran
    during = log.events[call.events_at_pause : call.agent.events_at_probe]
    assert during == [paused.event], during  # only the round the test asked for
    after = log.events[call.agent.events_at_probe :]
    assert [e for e in after if getattr(e, "type", "") == "compaction_applied"], after


# -- realtime: the real OpenAI plugin against the emulator ------------------------------


def _account_server(request: ResponseRequest) -> ResponsePlan:
    said = next((i.text for i in reversed(request.conversation) if i.role == "user"), "")
    if "email is" in said and "record_email" in request.tool_names:
        return ResponsePlan.call("record_email", json.dumps({"email": EMAIL}))
    if "update my email" in said and "update_email" in request.tool_names:
        last = request.conversation[-1] if request.conversation else None
        if last is None or last.type != "function_call_output":
            return ResponsePlan.call("update_email")
    return echo_responder(request)


async def _realtime_call(
    *, group: bool, manager: ContextManager | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], AccountAgent, EventLog | None, str]:
    """The call on a realtime model: the parent's context, the server's conversation, the
    agent, its manager's events, and what the parent's tool returned."""
    async with RealtimeServerEmulator(responder=_account_server) as emulator:
        model = RealtimeModel(base_url=emulator.url, api_key="test", modalities=["text"])
        agent = AccountAgent(group=group)
        log = None
        if manager is not None:
            manager.attach(agent)
            log = agent.log = EventLog(manager)
        session: AgentSession[None] = AgentSession(llm=model)
        try:
            await session.start(agent)
            for t in range(1, 5):
                await session.run(user_input=user_line(t))
            with contextlib.suppress(Exception):
                await session.run(user_input="I want to update my email address.")
            if session.current_agent is not agent:  # the task runs: the parent is paused
                agent.at_pause = [(i.id, i._fingerprint()) for i in agent._chat_ctx.items]
                if log is not None:
                    agent.events_at_pause = len(log.events)
                with contextlib.suppress(Exception):
                    await session.run(user_input=f"My new email is {EMAIL}.")
            for _ in range(250):
                if session.current_agent is agent and _update_email_output(agent) is not None:
                    break
                await asyncio.sleep(0.02)
            if manager is not None:
                await manager.wait_idle(timeout=10)
            returned = _update_email_output(agent) or ""
            server = [(i.role or i.type, i.text[:50]) for i in emulator.conversation]
            return _shape(agent.chat_ctx), server, agent, log, returned
        finally:
            await session.aclose()
            await model.aclose()


@pytest.mark.emulator
@GROUPS
async def test_on_a_realtime_model_a_task_lands_as_it_does_unmanaged(group: bool) -> None:
    without, server_without, _, _, returned = await _realtime_call(group=group, manager=None)
    settings = Settings(policy="realtime", max_tokens=100_000, keep_last_turns=2)
    manager = ContextManager(settings, summarizer_llm=FakeLLM())
    with_manager, server_with, _, _, _ = await _realtime_call(group=group, manager=manager)
    await manager.aclose()

    assert with_manager == without
    assert server_with == server_without
    if group:
        # livekit 1.8.9: TaskGroup summarizes with session.llm, which must be an llm.LLM
        # (assert); on a realtime model the group fails and the parent's tool says so
        assert returned == "An internal error occurred"
    else:
        assert returned == f"email recorded: {EMAIL}"
        assert any(EMAIL in text for _, text in server_without)


@pytest.mark.emulator
async def test_on_a_realtime_model_a_paused_parent_is_untouched_and_compacted_once_resumed() -> None:
    settings = Settings(
        policy="realtime", max_tokens=100_000, target_tokens=10, keep_last_turns=1,
        quiescence_timeout_s=1.0, trigger=TriggerSettings(tokens=60, budget_fraction=None),
    )
    manager = ContextManager(settings, summarizer_llm=FakeLLM())
    _, _, agent, log, returned = await _realtime_call(group=False, manager=manager)
    await manager.aclose()

    assert returned == f"email recorded: {EMAIL}"
    assert log is not None and agent.at_pause
    assert agent.probes == [agent.at_pause]  # untouched while the task ran
    during = log.events[agent.events_at_pause : agent.events_at_probe]
    assert during == []  # not even evaluated: no round, no skip
    after = log.events[agent.events_at_probe :]
    assert [e for e in after if getattr(e, "type", "") == "compaction_applied"], after


# -- handoffs (issue 12, item 5) ---------------------------------------------------------


class BillingAgent(Agent):
    def __init__(self, chat_ctx: llm.ChatContext) -> None:
        super().__init__(instructions="You are Bo, the billing agent for Parcelly.", chat_ctx=chat_ctx)


def _summaries(chat_ctx: llm.ChatContext) -> list[str]:
    return [
        i.id for i in chat_ctx.items
        if isinstance(i, llm.ChatMessage) and "<chat_history_summary>" in (i.text_content or "")
    ]


@pytest.mark.parametrize("follow", [False, True], ids=["default", "follow_handoffs"])
@pytest.mark.parametrize("source", ["self.chat_ctx", "session.history"])
async def test_a_handoff_hands_on_what_the_app_gives_and_follow_handoffs_manages_it(
    follow: bool, source: str
) -> None:
    settings = Settings(
        policy="summarize", max_tokens=100_000, target_tokens=10, keep_last_turns=2,
        follow_handoffs=follow, trigger=TriggerSettings(tokens=300, budget_fraction=None),
    )
    manager = ContextManager(settings, summarizer_llm=FakeLLM())
    log = EventLog(manager)
    first = SupportAgent()
    manager.attach(first)
    async with FakeLLM(responder) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(first)
        for t in range(1, 11):
            await session.run(user_input=user_line(t))
        await manager.wait_idle(timeout=10)
        assert _summaries(first.chat_ctx)  # the first agent's context is compacted
        assert not _summaries(session.history)  # livekit's transcript never is
        handed = first.chat_ctx.copy() if source == "self.chat_ctx" else session.history.copy()
        billing = BillingAgent(handed)
        events_before = len(log.events)
        session.update_agent(billing)
        for _ in range(250):
            if agent_is_running(billing):
                break
            await asyncio.sleep(0.02)
        for t in range(11, 14):
            await session.run(user_input=user_line(t))
        assert session.current_agent is billing
        for follower in manager.followers:
            await follower.wait_idle(timeout=10)
        held = billing.chat_ctx

        if not follow:
            assert manager.followers == ()
            assert getattr(billing, "_ctxmgr_manager", None) is None
            if source == "session.history":  # the whole call, uncompacted, and growing
                assert all(f"Turn {t}:" in " ".join(
                    i.text_content or "" for i in held.items if isinstance(i, llm.ChatMessage)
                ) for t in range(1, 14))
        else:
            (follower,) = manager.followers
            assert follower.agent is billing
            assert follower.session_id == manager.session_id
            assert follower.archive is manager.archive
            assert _summaries(held)  # compacted in its turn
            # its events come from the first manager too, its items go to the same archive
            applied = [e for e in log.events[events_before:]
                       if getattr(e, "type", "") == "compaction_applied"]
            assert any(e.summary_id in _summaries(held) for e in applied)  # type: ignore[attr-defined]
            assert manager.archive is not None
            archived = {r.item_id for r in manager.archive.items(manager.session_id)}
            assert {i for e in applied for i in e.removed_ids} <= archived  # type: ignore[attr-defined]
        assert not _summaries(session.history)
    await manager.aclose()
    assert all(f.agent is None for f in manager.followers)
