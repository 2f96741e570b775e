"""Every item a realtime call ever held is accounted for after ctxmgr compacted it."""

from collections.abc import Sequence

import pytest
from livekit.agents import Agent, AgentSession, llm
from livekit.plugins.openai.realtime import RealtimeModel

from ctxmgr import CompactionAppliedEvent, ContextManager, Settings
from ctxmgr.testing import FakeLLM, RealtimeServerEmulator, extractive_summary
from ctxmgr.testing.ledger import Ledger


@pytest.mark.asyncio
async def test_compactions_lose_nothing_on_the_server() -> None:
    summaries: list[str] = []  # what the summarizer returned: the ledger's only trust

    def summarize(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> str:
        span = chat_ctx.items[-1]  # the turns to fold, as ctxmgr sends them
        assert isinstance(span, llm.ChatMessage)
        summaries.append(extractive_summary(span.text_content or "", max_sentences=100))
        return summaries[-1]

    agent = Agent(instructions="You take orders.")
    # a fixed mark at 40%: a call this short never pays for a compaction by the cost rule
    settings = Settings(
        policy="realtime", max_tokens=1000, trigger={"budget_fraction": 0.4, "price_model": None}
    )
    manager = ContextManager(settings, summarizer_llm=FakeLLM(summarize)).attach(agent)
    applied: list[CompactionAppliedEvent] = []
    manager.on("compaction_applied", applied.append)

    async with RealtimeServerEmulator() as emulator:
        ledger = Ledger(
            emulator,
            state=lambda: (agent.realtime_llm_session.chat_ctx, agent.chat_ctx),
            keep_last_turns=settings.keep_last_turns,  # the tail the policy promises
            summaries=lambda: summaries,
            named=lambda: {i: e.summary_id is not None for e in applied for i in e.removed_ids},
            reported=lambda: (
                frozenset(i for e in applied for i in e.removed_ids),
                frozenset(e.summary_id for e in applied if e.summary_id),
            ),
        )
        model = RealtimeModel(base_url=emulator.url, api_key="test", modalities=["text"])
        async with model, AgentSession(llm=model) as session:
            await session.start(agent)
            for n in range(16):
                await session.run(user_input=f"Turn {n}: two boxes to {n} Elm Street.")
            await manager.wait_idle(timeout=10)

            assert applied  # it compacted ...
            assert ledger.findings() == []  # ... and every item is on the server or folded
