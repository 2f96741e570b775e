"""A pipeline voice agent (speech-to-text, LLM, text-to-speech) with ctxmgr attached.

    pip install -e "/path/to/ctxmgr[openai]"   # a clone, until it is on the index
    lk agent console examples/pipeline_agent.py   # or: lk agent dev (LiveKit CLI)

Needs ``OPENAI_API_KEY``. The policy comes from settings (``CTXMGR_POLICY``,
``CTXMGR_MAX_TOKENS``, ... or a ``.env`` file); summaries are written by the
session's LLM. ``test_pipeline_agent.py`` runs this agent offline.
"""

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli
from livekit.plugins import openai

from ctxmgr import ContextManager


class Assistant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a friendly voice assistant. Keep answers short.")
        self.context_manager = ContextManager.from_settings().attach(self)


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    agent = Assistant()
    ctx.add_shutdown_callback(agent.context_manager.aclose)
    session = AgentSession(stt=openai.STT(), llm=openai.LLM(model="gpt-4o-mini"), tts=openai.TTS())
    await session.start(agent=agent, room=ctx.room)


if __name__ == "__main__":
    cli.run_app(server)
