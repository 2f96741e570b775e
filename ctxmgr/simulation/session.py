"""One run of the scripted call through a real ``AgentSession`` (text mode), with or without
a ``ContextManager``, recording every prompt the agent sends.

The session stands in for a realtime one: the model is billed for speech as audio
(:func:`_stand_in.billing_view`), and after each prompt the manager is told the
input tokens of that prompt, as the realtime plugin's ``metrics_collected`` tells
it what the server reported (``ManagerStats.server_input_tokens``); a text-mode
session has no such report of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from .stand_in import (
    Response,
    RunResult,
    ScriptedReplies,
    SupportAgent,
    billing_view,
    summary_reply,
    tools_tokens,
)
from .support_call import SupportCall
from livekit.agents import AgentSession, llm

from ctxmgr import CompactionAppliedEvent, ContextManager, Settings, TokenCounter
from ctxmgr.cost import Modality
from ctxmgr.testing import FakeLLM, FakeReply

__all__ = ["LLMPair", "run_session", "stand_in_llms"]

LLMPair = tuple[Any, Any, "ScriptedReplies | None"]
"""(session LLM, summarizer LLM, the scripted responder when the session LLM is the stand-in)."""


def stand_in_llms(call: SupportCall, *, summary_cap: int | None = None) -> LLMPair:
    """The offline stand-ins: scripted replies, and an extractive summarizer.

    ``summary_cap``: the summarizer stops after this many tokens, as a model asked for
    a summary of at most that size does (``None``: it writes every sentence it keeps).
    """
    replies = ScriptedReplies(call)
    counter = TokenCounter()

    def summarize(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
        reply = summary_reply(chat_ctx, tools)
        if summary_cap is None:
            return reply
        return FakeReply(counter.truncate_text(reply.text, summary_cap))

    return FakeLLM(replies), FakeLLM(summarize, counter=counter), replies


async def _settle() -> None:
    """Wait for a compaction in flight (the manager names its background task)."""
    for _ in range(3):
        await asyncio.sleep(0)
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "ctxmgr_compaction" and not t.done()]
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_session(
    call: SupportCall,
    *,
    name: str,
    preset: str | None,
    budget: int,
    llms: LLMPair,
    counter: TokenCounter,
    on_turn: Callable[[int], None] = lambda _t: None,
    settings: Settings | None = None,
    speech: Modality = "audio",
) -> RunResult:
    """Play the script through a real ``AgentSession``; ``preset=None`` runs without a manager.

    ``settings`` replaces ``Settings(policy=preset, max_tokens=budget)``; ``speech`` is how
    the turns are billed (``audio``, or ``text`` for a pipeline or a text-only session).
    """
    session_llm, summarizer_llm, replies = llms
    managed = preset is not None or settings is not None
    result = RunResult(name, "session", "summary" if managed else "none")
    manager: ContextManager | None = None
    schema_tokens: dict[tuple[str, ...], int] = {}

    def on_prompt(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> None:
        names = tuple(sorted(getattr(tool, "id", repr(tool)) for tool in tools))
        if names not in schema_tokens:
            schema_tokens[names] = tools_tokens(tools, counter)
        sent = billing_view(chat_ctx.items, call, counter, schema_tokens[names], speech=speech)
        result.responses.append(Response(agent.turn, sent))
        if manager is not None:
            audio = sum(item.tokens for item in sent if item.modality == "audio")
            manager.report_usage(sum(item.tokens for item in sent), audio_tokens=audio or None)

    agent = SupportAgent(call, on_prompt)
    accounted: set[str] = set()
    if preset is not None or settings is not None:
        if settings is None:
            assert preset is not None
            settings = Settings(policy=preset, max_tokens=budget)
        manager = ContextManager(settings, summarizer_llm=summarizer_llm)
        if manager.settings.strategy == "trim":
            result.kind = "drop"

        def on_applied(ev: CompactionAppliedEvent) -> None:
            accounted.update(ev.removed_ids)

        manager.on("compaction_applied", on_applied)
        manager.attach(agent)

    def on_item(ev: Any) -> None:
        item = ev.item
        if isinstance(item, llm.ChatMessage) and item.role == "assistant" and result.responses:
            said = item.text_content or ""
            if speech == "audio":
                result.responses[-1].output_audio += call.speech_tokens("assistant", said)
            else:
                result.responses[-1].output_text += counter.count_text(said)

    def on_tools(ev: Any) -> None:
        for fc in ev.function_calls:
            result.responses[-1].output_text += counter.count_text(fc.name) + counter.count_text(
                fc.arguments
            )

    async with session_llm, summarizer_llm, AgentSession(llm=session_llm) as session:
        session.on("conversation_item_added", on_item)
        session.on("function_tools_executed", on_tools)
        await session.start(agent)
        before = {item.id for item in agent.chat_ctx.items}
        spent = (0, 0)
        for turn in call.turns:
            agent.turn = turn.index
            if replies is not None:
                replies.turn = turn.index
            await session.run(user_input=turn.user.text)
            await _settle()
            now = {item.id for item in agent.chat_ctx.items}
            result.lost += len(before - now - accounted)
            before = now
            if manager is not None:
                total = (
                    manager.stats.summarizer_input_tokens,
                    manager.stats.summarizer_output_tokens,
                )
                result.summarizer_by_turn.append((total[0] - spent[0], total[1] - spent[1]))
                spent = total
            else:
                result.summarizer_by_turn.append((0, 0))
            on_turn(turn.index)
        if manager is not None:
            result.compactions = manager.stats.compactions
            await manager.aclose()
    return result
