"""The pipeline agent, offline: a fake LLM answers and summarizes (``pytest examples``)."""

import pytest
from livekit.agents import AgentSession, llm
from pipeline_agent import Assistant

from ctxmgr.testing import FakeLLM


@pytest.mark.asyncio
async def test_a_long_call_is_compacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXMGR_POLICY", "summarize")
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "500")  # small, so a few turns pass it
    agent = Assistant()
    async with FakeLLM() as fake, AgentSession(llm=fake) as session:
        await session.start(agent)
        for n in range(16):
            await session.run(user_input=f"Turn {n}: my order number is 44{n:02d}, note it.")
        await agent.context_manager.wait_idle(timeout=10)

        assert agent.context_manager.stats.compactions >= 1
        messages = [i for i in agent.chat_ctx.items if isinstance(i, llm.ChatMessage)]
        (summary,) = [m for m in messages if m.extra.get("is_summary")]
        assert not any((m.text_content or "").startswith("Turn 0:") for m in messages)
        assert "Turn 15:" in (messages[-2].text_content or "")
