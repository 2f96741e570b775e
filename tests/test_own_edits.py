"""The application's own edits through a manager do what they do without one (issue 12).

Each row runs twice on a real AgentSession (text mode): without a manager, then with
one attached; the agent's context must end the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from livekit.agents import Agent, AgentSession, function_tool, llm

from ctxmgr import ContextManager, Settings, UpdateGuardedEvent
from ctxmgr.testing.fake_llm import FakeLLM

from .session_kit import SupportAgent, responder, user_line

pytestmark = pytest.mark.session

Edit = Callable[[Agent], Awaitable[None]]


def _shape(chat_ctx: llm.ChatContext) -> list[tuple[str, str]]:
    """What the context says, comparable across runs (ids differ)."""
    out = []
    for item in chat_ctx.items:
        if isinstance(item, llm.ChatMessage):
            out.append((item.role, (item.text_content or "")[:60]))
        else:
            out.append((item.type, ""))
    return out


async def _after(edit: Edit, *, managed: bool, turns: int = 8) -> list[tuple[str, str]]:
    agent = SupportAgent()
    manager = None
    if managed:
        settings = Settings(policy="summarize", max_tokens=100_000, keep_last_turns=2)
        manager = ContextManager(settings, summarizer_llm=FakeLLM()).attach(agent)
    async with FakeLLM(responder) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(agent)
        for t in range(1, turns + 1):
            await session.run(user_input=user_line(t))
        await edit(agent)
        shape = _shape(agent.chat_ctx)
    if manager is not None:
        await manager.aclose()
    return shape


async def _nothing(agent: Agent) -> None:
    pass


async def _start_over(agent: Agent) -> None:
    await agent.update_chat_ctx(llm.ChatContext.empty())


async def _own_summary(agent: Agent) -> None:
    summary = llm.ChatMessage(role="system", content=["Ana Lopez asked about order 4417."])
    await agent.update_chat_ctx(llm.ChatContext([summary]))


async def _livekit_summarize(agent: Agent) -> None:
    async with FakeLLM() as summarizer:
        summarized = await agent.chat_ctx.copy()._summarize(summarizer, keep_last_turns=2)
    await agent.update_chat_ctx(summarized)


async def _remove_four_old(agent: Agent) -> None:
    copy = agent.chat_ctx.copy()
    old = [i.id for i in copy.items if i.type == "message" and i.role != "system"][:4]
    await agent.update_chat_ctx(llm.ChatContext([i for i in copy.items if i.id not in old]))


@pytest.mark.parametrize(
    "edit",
    [_start_over, _own_summary, _livekit_summarize, _remove_four_old],
    ids=["start over", "a summary of its own", "livekit's _summarize", "remove four old"],
)
async def test_the_apps_edit_does_with_a_manager_what_it_does_without(edit: Edit) -> None:
    untouched = await _after(_nothing, managed=False)
    without = await _after(edit, managed=False)
    with_manager = await _after(edit, managed=True)
    assert with_manager == without
    assert len(without) < len(untouched)  # and the edit removed something


async def test_a_stale_copy_written_back_still_keeps_what_arrived_after_it() -> None:
    """The other side of the rule: a copy that shares a conversation item is dated by
    it, and the turns that entered after it are kept (the seed's naive summarizer)."""
    settings = Settings(policy="summarize", max_tokens=100_000, keep_last_turns=2)
    agent = SupportAgent()
    manager = ContextManager(settings, summarizer_llm=FakeLLM()).attach(agent)
    async with FakeLLM(responder) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(agent)
        for t in range(1, 6):
            await session.run(user_input=user_line(t))
        stale = agent.chat_ctx.copy()
        for t in range(6, 9):
            await session.run(user_input=user_line(t))
        await asyncio.sleep(0)
        later = [i.id for i in agent.chat_ctx.items if i.id not in {j.id for j in stale.items}]
        summary = llm.ChatMessage(role="system", content=["Turns 1 to 3, summarized."])
        tail = stale.items[-4:]
        await agent.update_chat_ctx(llm.ChatContext([stale.items[0], summary, *tail]))
        ids = {i.id for i in agent.chat_ctx.items}
        assert later and set(later) <= ids
        assert summary.id in ids
    await manager.aclose()


class SlowToolAgent(SupportAgent):
    def __init__(self) -> None:
        super().__init__()
        self.tool_started = asyncio.Event()

    @function_tool
    async def lookup_order(self, order: int) -> str:
        """Look up an order by number."""
        self.tool_started.set()
        await asyncio.sleep(0.5)
        return f"order {order} is in transit with DHL"


async def test_a_removal_made_while_a_tool_runs_lands_once_it_returns_with_events() -> None:
    """An update waits up to ``quiescence_timeout_s`` for a running tool; past that its
    removals used to be kept for good, with an info log line. Now they are deferred,
    said (``update_guarded``), and land once the tool returned."""
    settings = Settings(
        policy="summarize", max_tokens=100_000, keep_last_turns=2, quiescence_timeout_s=0.1
    )
    agent = SlowToolAgent()
    manager = ContextManager(settings, summarizer_llm=FakeLLM()).attach(agent)
    events: list[UpdateGuardedEvent] = []
    manager.on("update_guarded", events.append)
    async with FakeLLM(responder) as reply_llm, AgentSession(llm=reply_llm) as session:
        await session.start(agent)
        for t in range(1, 5):
            await session.run(user_input=f"Turn {t}: a question about the carrier.")
        running = session.run(user_input="Turn 5: please check my order.")
        await asyncio.wait_for(agent.tool_started.wait(), 5)
        copy = agent.chat_ctx.copy()
        old = [i.id for i in copy.items if i.type == "message" and i.role != "system"][:4]
        await agent.update_chat_ctx(llm.ChatContext([i for i in copy.items if i.id not in old]))
        assert set(old) <= {i.id for i in agent.chat_ctx.items}  # the tool still runs
        assert [set(e.deferred_ids) for e in events] == [set(old)]
        await running
        await manager.wait_idle(timeout=10)
        for _ in range(100):
            if not set(old) & {i.id for i in agent.chat_ctx.items}:
                break
            await asyncio.sleep(0.02)
        assert not set(old) & {i.id for i in agent.chat_ctx.items}
        assert set(events[-1].removed_ids) == set(old) and events[-1].deferred_ids == ()
    await manager.aclose()
