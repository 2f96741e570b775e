"""A real AgentSession in text mode with a support agent, for manager tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from livekit.agents import Agent, AgentSession, function_tool, llm

from ctxmgr import ContextManager, Settings, SummarizerSettings
from ctxmgr.testing.fake_llm import FakeLLM, FakeReply, FakeToolCall, extractive_summary


class SupportAgent(Agent):
    def __init__(self, **kw: object) -> None:
        super().__init__(instructions="You are Sam, a support agent for Parcelly.", **kw)  # type: ignore[arg-type]

    @function_tool
    async def lookup_order(self, order: int) -> str:
        """Look up an order by number."""
        return f"order {order} is in transit with DHL"


def responder(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
    """Calls the tool when the user mentions an order; summarizes when asked to."""
    first = chat_ctx.items[0] if chat_ctx.items else None
    last_text = getattr(chat_ctx.items[-1], "text_content", "") or "" if chat_ctx.items else ""
    if isinstance(first, llm.ChatMessage) and "Conversation to summarize:" in last_text:
        return FakeReply(extractive_summary(chat_ctx.items[-1].text_content or ""))  # type: ignore[union-attr]
    last = chat_ctx.items[-1]
    if isinstance(last, llm.ChatMessage) and last.role == "user" and "order" in (last.text_content or ""):
        return FakeReply(tool_calls=[FakeToolCall("lookup_order", {"order": 4417})])
    return FakeReply("Thanks, I have noted that. It should arrive within two days. Anything else?")


def user_line(t: int) -> str:
    if t % 5 == 0:
        return f"Turn {t}: please check my order, I am Ana Lopez at {t} Baker Street."
    return f"Turn {t}: I have another question about the delivery window and the carrier."


class EventLog:
    """Collects a manager's events."""

    def __init__(self, manager: ContextManager) -> None:
        self.events: list[object] = []
        for name in ("compaction_started", "compaction_applied", "compaction_skipped",
                     "compaction_failed"):
            manager.on(name, self.events.append)

    def watch(self, manager: ContextManager, *names: str) -> None:
        for name in names:
            manager.on(name, self.events.append)  # type: ignore[arg-type]

    def of(self, kind: str) -> list[object]:
        return [e for e in self.events if getattr(e, "type", None) == kind]


def snapshot(chat_ctx: llm.ChatContext) -> list[tuple[str, bytes]]:
    return [(i.id, i._fingerprint()) for i in chat_ctx.items]


async def settle(manager: ContextManager) -> None:
    """Wait for the manager's compaction rounds, if any."""
    await manager.wait_idle(timeout=30)


@contextlib.asynccontextmanager
async def running(
    *,
    summarizer: FakeLLM | None,
    summarizer_settings: SummarizerSettings | None = None,
    **settings: object,
) -> AsyncIterator[tuple[ContextManager, EventLog, SupportAgent, AgentSession]]:
    """A started text-mode session whose agent has a manager attached; all closed after."""
    base: dict[str, object] = {"policy": "summarize", "max_tokens": 1500, "keep_last_turns": 2}
    base.update(settings)
    if summarizer_settings is not None:
        base["summarizer"] = summarizer_settings
    manager = ContextManager(Settings(**base), summarizer_llm=summarizer)  # type: ignore[arg-type]
    log = EventLog(manager)
    agent = SupportAgent()
    manager.attach(agent)
    session_llm = FakeLLM(responder)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(session_llm)
        if summarizer is not None:
            await stack.enter_async_context(summarizer)
        session = await stack.enter_async_context(AgentSession(llm=session_llm))
        await session.start(agent)
        yield manager, log, agent, session
        await manager.aclose()
