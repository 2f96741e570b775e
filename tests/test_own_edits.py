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


# -- on purpose: replace, clear, forget ------------------------------------------------

CARD = "4111 1111 1111 1111"


async def _managed_call(
    tmp_archive: str | None = None,
) -> tuple[ContextManager, SupportAgent, AgentSession, FakeLLM, FakeLLM]:
    settings = Settings(
        policy="summarize", max_tokens=100_000, target_tokens=10, keep_last_turns=2,
        archive_path=tmp_archive,
    )
    summarizer, reply_llm = FakeLLM(), FakeLLM(responder)
    agent = SupportAgent()
    manager = ContextManager(settings, summarizer_llm=summarizer).attach(agent)
    session = AgentSession(llm=reply_llm)
    await session.start(agent)
    for t in range(1, 4):
        await session.run(user_input=user_line(t))
    await session.run(user_input=f"Turn 4: my card number is {CARD}. Please charge it.")
    for t in range(5, 9):
        await session.run(user_input=user_line(t))
    return manager, agent, session, summarizer, reply_llm


def _texts(chat_ctx: llm.ChatContext) -> str:
    return "\n".join(
        (i.text_content or "") if isinstance(i, llm.ChatMessage) else str(i) for i in chat_ctx.items
    )


@pytest.mark.parametrize("sqlite", [False, True], ids=["memory archive", "sqlite archive"])
async def test_forget_removes_an_item_from_the_context_the_archive_and_the_summary(
    sqlite: bool, tmp_path: object
) -> None:
    path = str(tmp_path) + "/calls.db" if sqlite else None  # type: ignore[operator]
    manager, agent, session, summarizer, reply_llm = await _managed_call(path)
    card = next(i.id for i in agent.chat_ctx.items
                if isinstance(i, llm.ChatMessage) and CARD in (i.text_content or ""))
    result = await manager.compact(force=True)
    assert result.status == "applied" and card in result.event.removed_ids  # type: ignore[union-attr]
    assert CARD in _texts(agent.chat_ctx)  # quoted by the summary
    archive = manager.archive
    assert archive is not None and any(r.item_id == card for r in archive.items(manager.session_id))

    forgotten = await manager.forget([card])

    assert forgotten.refused is None and forgotten.archived_removed == 1
    assert forgotten.redacted_summary_ids == (result.event.summary_id,)  # type: ignore[union-attr]
    assert CARD not in _texts(agent.chat_ctx)
    assert "[forgotten]" in _texts(agent.chat_ctx)
    assert all(CARD not in r.text for r in archive.items(manager.session_id))
    assert all(CARD not in (c.summary_text or "") for c in archive.compactions(manager.session_id))
    assert archive.search(manager.session_id, "card number charge") == [] or all(
        r.item_id != card for r in archive.search(manager.session_id, "card number charge")
    )
    # the call goes on, and the next compaction cannot bring it back
    await session.run(user_input=user_line(9))
    await manager.compact(force=True)
    assert CARD not in _texts(agent.chat_ctx)
    await session.aclose()
    await manager.aclose()
    await summarizer.aclose()
    await reply_llm.aclose()


async def test_forget_an_item_still_in_the_context_and_clear() -> None:
    manager, agent, session, summarizer, reply_llm = await _managed_call()
    card = next(i.id for i in agent.chat_ctx.items
                if isinstance(i, llm.ChatMessage) and CARD in (i.text_content or ""))
    forgotten = await manager.forget([card])
    assert forgotten.removed_ids == (card,) and forgotten.kept == ()
    assert CARD not in _texts(agent.chat_ctx)

    cleared = await manager.clear()
    assert cleared.kept == ()
    assert _shape(agent.chat_ctx) == [("system", "You are Sam, a support agent for Parcelly.")]
    await session.aclose()
    await manager.aclose()
    await summarizer.aclose()
    await reply_llm.aclose()


async def test_replace_keeps_no_tail_where_update_chat_ctx_would() -> None:
    """``update_chat_ctx`` with a copy keeps the tail window (a stale copy must not drop
    recent turns); ``replace`` is the application saying it means all of it."""
    manager, agent, session, summarizer, reply_llm = await _managed_call()
    copy = agent.chat_ctx.copy()
    last_user = [i.id for i in copy.items if i.type == "message" and i.role == "user"][-1]
    without_last = llm.ChatContext([i for i in copy.items if i.id != last_user])

    await agent.update_chat_ctx(without_last)
    assert last_user in {i.id for i in agent.chat_ctx.items}  # the tail window
    outcome = await manager.replace(without_last)
    assert outcome.removed_ids == (last_user,)
    assert last_user not in {i.id for i in agent.chat_ctx.items}
    await session.aclose()
    await manager.aclose()
    await summarizer.aclose()
    await reply_llm.aclose()


async def test_forget_refuses_with_an_archive_that_cannot_forget() -> None:
    from ctxmgr.testing._chaos_contenders import WatchedArchive

    class Keeper(WatchedArchive):
        forget = None  # type: ignore[assignment]

    agent = SupportAgent()
    manager = ContextManager(
        Settings(policy="summarize", max_tokens=100_000), summarizer_llm=FakeLLM(),
        archive=Keeper(),
    ).attach(agent)
    result = await manager.forget(["anything"])
    assert result.refused == "the archive cannot forget items"
    await manager.aclose()


async def test_a_copy_holding_only_folded_turns_is_stale_not_a_replacement() -> None:
    """Seed 992: a copy taken before a compaction shares no item with the agent's context
    any more (all it held was folded), yet it is a stale copy: writing it back must not
    delete the summary and the turns that came after it."""
    manager, agent, session, summarizer, reply_llm = await _managed_call()
    early = llm.ChatContext(
        [i for i in agent.chat_ctx.items if not (isinstance(i, llm.ChatMessage)
                                                 and "Turn 8" in (i.text_content or ""))][:5]
    )
    result = await manager.compact(force=True)
    assert result.status == "applied"
    live = {i.id for i in agent.chat_ctx.items}
    assert not {i.id for i in early.items if i.type == "message" and i.role != "system"} & live
    before = _shape(agent.chat_ctx)
    early.add_message(role="assistant", content="Retrieved note: the warehouse is in Leeds.")
    await agent.update_chat_ctx(early)
    after = _shape(agent.chat_ctx)
    assert set(before) <= set(after)  # the summary and the later turns stay
    assert ("assistant", "Retrieved note: the warehouse is in Leeds.") in after
    await session.aclose()
    await manager.aclose()
    await summarizer.aclose()
    await reply_llm.aclose()


@pytest.mark.parametrize("edit", ["removed", "redacted"])
async def test_a_message_removed_while_its_summary_is_written_does_not_come_back_in_it(
    edit: str,
) -> None:
    """Issue 12, item 8: the summary is written from the span as planned; the application
    removes (or redacts) one of its messages meanwhile. That summary must not land, and
    the next one is written without the message (judged from what the summarizer was sent)."""
    manager, agent, session, summarizer, reply_llm = await _managed_call()
    card = next(i for i in agent.chat_ctx.items
                if isinstance(i, llm.ChatMessage) and CARD in (i.text_content or ""))
    summarizer.delay_s = 0.3
    compaction = asyncio.create_task(manager.compact(force=True))
    for _ in range(100):
        if summarizer.calls:
            break
        await asyncio.sleep(0.01)
    assert CARD in _texts(summarizer.calls[-1])  # the summary being written quotes it
    copy = agent.chat_ctx.copy()
    if edit == "removed":
        items = [i for i in copy.items if i.id != card.id]
    else:
        redacted = card.model_copy(update={"content": ["Turn 4: my card number is [removed]."]})
        items = [redacted if i.id == card.id else i for i in copy.items]
    await agent.update_chat_ctx(llm.ChatContext(items))

    first = await compaction
    assert CARD not in _texts(agent.chat_ctx)  # not revived inside a summary
    assert first.status == "skipped" and first.event.reason == "span_edited", first
    summarizer.delay_s = 0.0
    second = await manager.compact(force=True)
    assert second.status == "applied", second
    assert CARD not in _texts(summarizer.calls[-1]) and CARD not in _texts(agent.chat_ctx)
    await session.aclose()
    await manager.aclose()
    await summarizer.aclose()
    await reply_llm.aclose()
