"""A realtime (speech-to-speech) agent with ctxmgr attached.

    pip install -e "/path/to/ctxmgr[openai]"   # a clone, until it is on the index
    lk agent console examples/realtime_agent.py   # or: lk agent dev (LiveKit CLI)

Needs ``OPENAI_API_KEY``. A realtime model cannot write summaries: a text LLM does.
The ``realtime`` preset compacts rarely and deeply (each cut re-bills the kept
audio without the cache discount). ``test_realtime_agent.py`` runs this agent
against ctxmgr's local emulator of the Realtime API.
"""

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli, llm
from livekit.plugins import openai

from ctxmgr import ContextManager


class Assistant(Agent):
    def __init__(self, summarizer_llm: llm.LLM | None = None) -> None:
        super().__init__(instructions="You are a friendly voice assistant. Keep answers short.")
        self.context_manager = ContextManager.from_settings(
            policy="realtime",
            summarizer_llm=summarizer_llm or openai.LLM(model="gpt-4o-mini"),
        ).attach(self)


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    agent = Assistant()
    ctx.add_shutdown_callback(agent.context_manager.aclose)
    session = AgentSession(llm=openai.realtime.RealtimeModel())
    await session.start(agent=agent, room=ctx.room)


if __name__ == "__main__":
    cli.run_app(server)
