"""A tool turn on the real OpenAI realtime plugin, against the local emulator."""

import pytest
from livekit.agents import Agent, AgentSession, function_tool
from livekit.plugins.openai.realtime import RealtimeModel

from ctxmgr.testing import RealtimeServerEmulator, ResponsePlan, check_realtime_invariants


class TideAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You explain the sea.")

    @function_tool
    async def lookup(self, query: str) -> str:
        """Look a topic up."""
        return "The moon's pull raises the tides."


@pytest.mark.asyncio
async def test_a_tool_turn_reaches_the_server_whole() -> None:
    agent = TideAgent()
    async with RealtimeServerEmulator() as emulator:  # binds 127.0.0.1, a free port
        model = RealtimeModel(base_url=emulator.url, api_key="test", modalities=["text"])
        async with model, AgentSession(llm=model) as session:
            await session.start(agent)
            emulator.queue_response(
                ResponsePlan.call("lookup", '{"query": "tides"}'),  # first: a tool call
                ResponsePlan.say("Tides follow the moon."),  # then the reply to its output
            )
            await session.run(user_input="Why are there tides?")

            types = [item.type for item in emulator.conversation]
            assert types == ["message", "function_call", "function_call_output", "message"]
            mirror = agent.realtime_llm_session.chat_ctx  # the plugin's copy of the server
            assert check_realtime_invariants(
                emulator.conversation, mirror, agent.chat_ctx, deleted_ids=emulator.deleted_ids
            ) == []
