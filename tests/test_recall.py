"""The recall tool and the archive inside a real AgentSession."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from livekit.agents import AgentSession, llm

from ctxmgr import ContextManager, Settings
from ctxmgr.archive import MemoryArchive, SQLiteArchive
from ctxmgr.recall import (
    MAX_QUERY_CHARS, RECALL_NOTE, RECALL_TOOL_NAME, best_hits, recall_tool, render_hits,
)
from ctxmgr.testing.fake_llm import FakeLLM, FakeReply, FakeToolCall

from .session_kit import SupportAgent, responder, snapshot

pytestmark = pytest.mark.session

FACT = "My order number is 4417-B and I live at 12 Baker Street."


def asking_responder(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
    """Calls the recall tool when the user asks for an earlier fact."""
    last = chat_ctx.items[-1]
    if isinstance(last, llm.ChatMessage) and "remind me" in (last.text_content or ""):
        return FakeReply(tool_calls=[FakeToolCall(RECALL_TOOL_NAME, {"query": "order number"})])
    if last.type == "function_call_output":
        return FakeReply("Here is what I found earlier.")
    return responder(chat_ctx, tools)


async def _call_tool(tool: llm.FunctionTool, query: str) -> str:
    return await tool(query)  # type: ignore[misc]


async def test_malformed_and_huge_queries_get_a_clear_tool_error() -> None:
    from ctxmgr import TokenCounter

    tool = recall_tool(MemoryArchive(), lambda: "s", counter=TokenCounter())
    with pytest.raises(llm.ToolError, match="too long"):
        await _call_tool(tool, "x " * MAX_QUERY_CHARS)
    with pytest.raises(llm.ToolError, match="no words"):
        await _call_tool(tool, "?!  ...")
    assert "Nothing earlier" in await _call_tool(tool, "order")


async def test_agent_recalls_a_fact_that_was_compacted_away(tmp_path: Path) -> None:
    session_llm = FakeLLM(asking_responder)
    summarizer = FakeLLM(fail_with=RuntimeError("down"))  # trims: the fact leaves the context
    settings = Settings(policy="token-budget", max_tokens=1000, keep_last_turns=2, recall=True,
                        archive_path=str(tmp_path / "calls.db"))
    manager = ContextManager(settings, summarizer_llm=summarizer)
    agent = SupportAgent()
    manager.attach(agent)
    assert RECALL_TOOL_NAME in {t.info.name for t in agent.tools if isinstance(t, llm.FunctionTool)}
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        await session.run(user_input=FACT)
        for t in range(25):
            await session.run(user_input=f"Turn {t}: another question about the delivery window.")
            await asyncio.sleep(0.02)
        await manager.wait_idle(timeout=30)
        assert manager.stats.compactions >= 1
        assert "4417-B" not in " ".join(i.text_content or "" for i in agent.chat_ctx.messages())
        await session.run(user_input="Can you remind me of my order number?")
        outputs = [i for i in agent.chat_ctx.items if i.type == "function_call_output"
                   and i.name == RECALL_TOOL_NAME]
        assert outputs and "4417-B" in outputs[-1].output and "12 Baker Street" in outputs[-1].output
        await manager.aclose()
    manager.detach()
    assert RECALL_TOOL_NAME not in {t.info.name for t in agent.tools if isinstance(t, llm.FunctionTool)}


async def test_summary_tells_the_model_details_can_be_recalled() -> None:
    session_llm, summarizer = FakeLLM(responder), FakeLLM()
    manager = ContextManager(Settings(policy="summarize", max_tokens=4000, keep_last_turns=1,
                                      recall=True), summarizer_llm=summarizer)
    agent = SupportAgent()
    manager.attach(agent)
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        for t in range(4):
            await session.run(user_input=f"Turn {t}: my order is {4400 + t}.")
        result = await manager.compact(force=True)
        summary = agent.chat_ctx.get_by_id(result.event.summary_id)  # type: ignore[union-attr,arg-type]
        assert summary is not None and RECALL_NOTE in (summary.text_content or "")  # type: ignore[union-attr]
        await manager.aclose()


async def test_two_calls_in_one_process_share_a_database_but_not_their_items(tmp_path: Path) -> None:
    archive = SQLiteArchive(tmp_path / "shared.db")
    managers = []
    async with FakeLLM(responder) as session_llm, FakeLLM() as summarizer:
        sessions = []
        for name, fact in (("a", "My order number is 4417-B."), ("b", "My order number is 9981-Z.")):
            m = ContextManager(Settings(policy="summarize", max_tokens=4000, keep_last_turns=1),
                               summarizer_llm=summarizer, archive=archive, session_id=name)
            agent = SupportAgent()
            m.attach(agent)
            session = AgentSession(llm=session_llm)
            await session.start(agent)
            await session.run(user_input=fact)
            await session.run(user_input="Another question about delivery.")
            assert (await m.compact(force=True)).status == "applied"
            managers.append(m)
            sessions.append(session)
        a_hits = archive.search("a", "order number 9981", limit=5)
        assert a_hits and all("9981-Z" not in h.text for h in a_hits)
        assert any("4417-B" in h.text for h in a_hits)
        for session in sessions:
            await session.aclose()
        for m in managers:
            await m.aclose()
        assert archive.items("b")  # still open: the caller owns it
    archive.close()


async def test_archive_failure_aborts_the_compaction_and_loses_nothing() -> None:
    class FullDisk(MemoryArchive):
        def write(self, *a: object, **k: object) -> int:
            raise OSError("disk full")

    session_llm, summarizer = FakeLLM(responder), FakeLLM()
    manager = ContextManager(Settings(policy="summarize", max_tokens=4000, keep_last_turns=1),
                             summarizer_llm=summarizer, archive=FullDisk())
    agent = SupportAgent()
    manager.attach(agent)
    async with session_llm, summarizer, AgentSession(llm=session_llm) as session:
        await session.start(agent)
        for t in range(4):
            await session.run(user_input=f"Turn {t}: my order is {4400 + t}.")
        before = snapshot(agent.chat_ctx)
        result = await manager.compact(force=True)
        assert result.status == "failed" and result.event.stage == "archive"  # type: ignore[union-attr]
        assert snapshot(agent.chat_ctx) == before
        await manager.aclose()


async def test_a_matched_question_comes_with_the_answer_that_followed_it() -> None:
    from ctxmgr import TokenCounter

    archive = MemoryArchive()
    turns = [
        ("assistant", "What number should the clinic use?"),
        ("user", "01223 760 114 please, not my landline."),
        ("assistant", "Noted. Anything else?"),
        ("user", "Is there parking?"),
        ("assistant", "Yes, two hours free at the back, by the number 4 bus stop."),
    ]
    archive.write(
        "s", [llm.ChatMessage(role=r, content=[t]) for r, t in turns],  # type: ignore[arg-type]
        compaction_id="c1", summary_id=None,
    )
    tool = recall_tool(archive, lambda: "s", counter=TokenCounter(), limit=1)
    found = await _call_tool(tool, "number the clinic should use")
    assert "What number should the clinic use?" in found and "01223 760 114" in found
    assert "parking" not in found


def _archive(turns: list[tuple[str, str]]) -> MemoryArchive:
    archive = MemoryArchive()
    archive.write(
        "s", [llm.ChatMessage(role=r, content=[t]) for r, t in turns],  # type: ignore[arg-type]
        compaction_id="c1", summary_id=None,
    )
    return archive


CALL = [
    ("user", "Hello, this is Grace Mensah, my fridge stopped cooling."),
    ("assistant", "Sorry to hear that, Grace. Which model is it?"),
    ("user", "Ring me on 024 412 3456 if the line drops, the landline is dead."),
    ("assistant", "Got it. How did you hear about us?"),
    ("user", "My sister told me, she can get hold of anyone in this town."),
    ("assistant", "Ha, handy. Who else is on the account with you?"),
    ("user", "Nobody else, it's just me on it now."),
    ("assistant", "We moved the booking to 7 Palm Close, Osu, as you asked."),
]


async def test_a_query_that_asks_for_a_phone_name_or_address_gets_a_turn_that_gives_one() -> None:
    from ctxmgr import TokenCounter

    archive = _archive(CALL)
    items = archive.items("s")
    for query, wanted in [
        ("how to get hold of her", "024 412 3456"),  # shares "get hold" with the sister
        ("who is on the line", "Grace Mensah"),  # shares "who", "on" with the account
        ("where she wants the visit now", "7 Palm Close"),
    ]:
        # the words alone miss it; the turn that gives what is asked for is among the 3
        assert not any(wanted in h.text for h in archive.search("s", query))
        assert any(wanted in h.text for h in best_hits(archive, "s", query, items))
        tool = recall_tool(archive, lambda: "s", counter=TokenCounter())
        assert wanted in await _call_tool(tool, query)
    # a query that asks for none of them is the search's order alone
    assert best_hits(archive, "s", "how did you hear about us", items) == archive.search(
        "s", "how did you hear about us"
    )


def test_hits_are_kept_best_first_within_the_budget_and_shown_oldest_first() -> None:
    from ctxmgr import TokenCounter

    items = _archive(CALL).items("s")
    counter = TokenCounter()
    best, second = items[7], items[2]  # the best match is the later turn
    room_for_one = counter.count_text(render_hits([best], counter=counter, max_tokens=600, now=0.0))
    assert render_hits([best, second], counter=counter, max_tokens=room_for_one, now=0.0) == (
        render_hits([best], counter=counter, max_tokens=600, now=0.0)
    )
    both = render_hits([best, second], counter=counter, max_tokens=600, now=0.0)
    assert both.index("024 412 3456") < both.index("7 Palm Close")  # shown oldest first
