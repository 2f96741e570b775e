"""A LiveKit voice agent whose chat context ctxmgr keeps under a token budget.

The integration is one line in ``build_agent``::

    ContextManager(settings, summarizer_llm=...).attach(agent)

and the policy is picked by settings, not code.

Run (from a clone: ``make test`` once, or ``pip install -e ".[openai]"``)::

    cp examples/.env.example .env            # then fill in the keys
    lk agent console examples/voice_agent.py # talk to it here (the LiveKit CLI)
    lk agent dev examples/voice_agent.py     # serve the rooms of your LiveKit server
    python examples/voice_agent.py start     # production worker
    python examples/voice_agent.py console   # deprecated by livekit; needs PortAudio

Environment (or a ``.env`` file in the working directory; ``.env.example`` lists them):

``LIVEKIT_URL``, ``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``
    Your LiveKit server; needed by ``dev`` and ``start``, not by ``console``.
``OPENAI_API_KEY``
    Speech-to-text, the LLM, text-to-speech (or the realtime model), and the summarizer.
``VOICE_AGENT_REALTIME``
    ``1``: OpenAI's realtime speech-to-speech model instead of STT -> LLM -> TTS,
    with the ``realtime`` preset unless ``CTXMGR_POLICY`` names another (it compacts
    rarely and deeply: a realtime session re-bills its audio without the cache
    discount after each cut).
``VOICE_AGENT_LLM_MODEL``, ``VOICE_AGENT_REALTIME_MODEL``
    Override the plugin's default model for the pipeline LLM / the realtime model.
``VOICE_AGENT_SUMMARIZER_MODEL``
    The text model that writes summaries (default ``gpt-4o-mini``; a realtime model
    cannot summarize).
``CTXMGR_POLICY``
    A preset (``trim``, ``summarize``, ``token-budget`` (default for the pipeline),
    ``realtime``) or a path to your own policy TOML; ``ctxmgr policies`` lists them.
``CTXMGR_MAX_TOKENS``, ``CTXMGR_KEEP_LAST_TURNS``, ``CTXMGR_TRIGGER__BUDGET_FRACTION``, ...
    Override single fields of the preset; ``ctxmgr settings`` prints the effective
    settings, or exits with 2 naming the bad field.

Tokens are counted with the model's own encoding (tiktoken downloads it once, then
caches it; ``CTXMGR_ALLOW_ENCODING_DOWNLOAD=0`` keeps it offline, counting with
``cl100k_base`` instead).

Importing this module reaches no network and needs no key; ``build_agent()``
needs ``OPENAI_API_KEY`` set (any value: the plugins connect lazily).
"""

from __future__ import annotations

import logging
import os

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, RunContext, cli
from livekit.agents.llm import function_tool
from livekit.plugins import openai

from ctxmgr import CompactionAppliedEvent, ContextManager, Settings

logger = logging.getLogger("voice-agent")

INSTRUCTIONS = (
    "You are Sam, the phone support agent of Parcelly, a parcel delivery company."
    " Keep answers short and spoken: no lists, markdown or emojis."
    " Look orders up with the lookup_order tool before answering about them."
)

REALTIME_ENV = "VOICE_AGENT_REALTIME"


class SupportAgent(Agent):
    """Parcelly's support agent: one tool, and the ContextManager ``build_agent`` attached."""

    context_manager: ContextManager | None = None
    """The manager keeping this agent's context under budget."""

    @function_tool
    async def lookup_order(self, context: RunContext, order_number: str) -> str:
        """Look up where a parcel is.

        Args:
            order_number: The order number the caller gave, e.g. "4417-B".
        """
        return f"Order {order_number} is in transit with DHL and should arrive in two days."


def use_realtime() -> bool:
    """Whether ``VOICE_AGENT_REALTIME`` asks for the realtime model."""
    return os.environ.get(REALTIME_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _model(env: str) -> dict[str, str]:
    value = os.environ.get(env)
    return {"model": value} if value else {}


def build_agent(*, realtime: bool | None = None) -> SupportAgent:
    """The agent with its models and a ContextManager attached (policy from settings).

    Args:
        realtime: use the realtime model; ``None`` reads ``VOICE_AGENT_REALTIME``.
    """
    if realtime is None:
        realtime = use_realtime()
    if realtime:
        agent = SupportAgent(
            instructions=INSTRUCTIONS,
            llm=openai.realtime.RealtimeModel(**_model("VOICE_AGENT_REALTIME_MODEL")),
        )
    else:
        agent = SupportAgent(
            instructions=INSTRUCTIONS,
            stt=openai.STT(),
            llm=openai.LLM(**_model("VOICE_AGENT_LLM_MODEL")),
            tts=openai.TTS(),
        )
    summarizer = openai.LLM(model=os.environ.get("VOICE_AGENT_SUMMARIZER_MODEL", "gpt-4o-mini"))
    settings = manager_settings(realtime=realtime, model=agent.llm.model)  # type: ignore[union-attr]

    agent.context_manager = ContextManager(settings, summarizer_llm=summarizer).attach(agent)

    agent.context_manager.on("compaction_applied", _log_compaction)
    return agent


def manager_settings(*, realtime: bool, model: str) -> Settings:
    """Settings from the environment and ``.env``, with defaults for this agent where they
    name nothing: the realtime preset for the realtime model, the model's own encoding."""
    chosen = Settings().model_fields_set
    defaults: dict[str, object] = {"model": model, "allow_encoding_download": True}
    if realtime:
        defaults["policy"] = "realtime"
    return Settings(**{k: v for k, v in defaults.items() if k not in chosen})


def _log_compaction(ev: CompactionAppliedEvent) -> None:
    logger.info(
        "context compacted",
        extra={
            "action": ev.action,
            "tokens_before": ev.tokens_before,
            "tokens_after": ev.tokens_after,
            "items_removed": len(ev.removed_ids),
        },
    )


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    """One call: the agent (with its manager) in a session on the job's room."""
    agent = build_agent()
    if agent.context_manager is not None:
        ctx.add_shutdown_callback(agent.context_manager.aclose)
    session = AgentSession()  # the models are the agent's; VAD: livekit's default (Silero)
    await session.start(agent=agent, room=ctx.room)
    await session.generate_reply(instructions="Greet the caller and ask how you can help.")


if __name__ == "__main__":
    from dotenv import load_dotenv

    load_dotenv()  # LIVEKIT_* and OPENAI_API_KEY; ctxmgr reads CTXMGR_* from .env itself
    cli.run_app(server)
