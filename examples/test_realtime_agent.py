"""The realtime agent against the local emulator of the Realtime API (``pytest examples``)."""

import pytest
from livekit.agents import AgentSession, llm
from livekit.plugins.openai.realtime import RealtimeModel
from realtime_agent import Assistant

from ctxmgr.testing import FakeLLM, RealtimeServerEmulator


@pytest.mark.asyncio
async def test_a_long_call_is_compacted_on_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "1500")  # small, so a few turns pass it
    # and a mark at 40% of it: a call this short never pays for a compaction by the cost rule
    monkeypatch.setenv("CTXMGR_TRIGGER__BUDGET_FRACTION", "0.4")
    agent = Assistant(summarizer_llm=FakeLLM())
    async with RealtimeServerEmulator() as server:  # on 127.0.0.1, a free port
        model = RealtimeModel(base_url=server.url, api_key="unused", modalities=["text"])
        async with model, AgentSession(llm=model) as session:
            await session.start(agent)
            for n in range(16):
                await session.run(user_input=f"Turn {n}: my order number is 44{n:02d}, note it.")
            await agent.context_manager.wait_idle(timeout=10)

            assert agent.context_manager.stats.compactions >= 1
            # what the model holds: the summary first, then the latest turns
            messages = [i for i in agent.chat_ctx.items if isinstance(i, llm.ChatMessage)]
            (summary,) = [m for m in messages if m.extra.get("is_summary")]
            assert server.conversation[0].id == summary.id
            assert server.conversation[-2].text == "Turn 15: my order number is 4415, note it."
            assert not any(item.text.startswith("Turn 0:") for item in server.conversation)
