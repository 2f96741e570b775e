"""Helpers shared by the emulator tests: the agent, a live session, event validation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from livekit.agents import AgentSession, llm
from livekit.agents.llm._realtime import openai as realtime_engine
from livekit.plugins.openai.realtime import RealtimeModel
from openai.types.realtime import RealtimeServerEvent
from pydantic import BaseModel, TypeAdapter

from ctxmgr.testing._chaos_blame import asyncio_with_short_update_wait
from ctxmgr.testing._chaos_run import ChaosAgent
from ctxmgr.testing.checker import Violation, check_realtime_invariants
from ctxmgr.testing.emulator import RealtimeServerEmulator, plugin_model

_SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)


def assert_valid_server_event(event: dict[str, Any]) -> None:
    """The event parses as the SDK's server event and has no field the SDK does not know."""
    _assert_no_extra(_SERVER_EVENT.validate_python(event), event["type"])


def _assert_no_extra(value: object, path: str) -> None:
    if isinstance(value, BaseModel):
        assert not value.model_extra, (
            f"{path}: fields unknown to the SDK {sorted(value.model_extra)}"
        )
        for name in type(value).model_fields:
            _assert_no_extra(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for index, entry in enumerate(value):
            _assert_no_extra(entry, f"{path}[{index}]")


ToolAgent = ChaosAgent
"""An agent with one tool, ``lookup``, that records its calls (shared with the chaos runs)."""


@dataclass
class Live:
    """A real AgentSession on the real OpenAI realtime plugin, talking to the emulator."""

    emulator: RealtimeServerEmulator
    session: AgentSession[None]
    agent: ToolAgent
    model: RealtimeModel

    @property
    def rt_session(self) -> realtime_engine.RealtimeSession:
        """The plugin's realtime session (its ``chat_ctx`` is the remote mirror)."""
        rt_session = self.agent.realtime_llm_session
        assert isinstance(rt_session, realtime_engine.RealtimeSession)
        return rt_session

    def violations(self) -> list[Violation]:
        """The invariant checker over server, mirror and local context."""
        return check_realtime_invariants(
            self.emulator.conversation,
            self.rt_session.chat_ctx,
            self.agent.chat_ctx,
            deleted_ids=self.emulator.deleted_ids,
        )

    async def aclose(self) -> None:
        """Close the session, then the model's HTTP session."""
        await self.session.aclose()
        await self.model.aclose()


async def open_live(
    emulator: RealtimeServerEmulator,
    *,
    modalities: Sequence[Literal["text", "audio"]] | None = ("text",),
) -> Live:
    """Start a text-mode AgentSession (no room) on the emulator; None keeps the default
    modality. On another dialect than OpenAI's, the provider's own plugin (``plugin_model``)."""
    kwargs: dict[str, Any] = {"modalities": list(modalities)} if modalities else {}
    model = (
        RealtimeModel(base_url=emulator.url, api_key="test", **kwargs)
        if emulator.dialect == "openai"
        else plugin_model(emulator, text_only=modalities == ("text",))
    )
    session: AgentSession[None] = AgentSession(llm=model)
    agent = ToolAgent()
    await session.start(agent)
    return Live(emulator=emulator, session=session, agent=agent, model=model)


def shorten_update_wait(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Shorten only the 5 s acknowledgement wait inside ``RealtimeSession.update_chat_ctx``."""
    monkeypatch.setattr(realtime_engine, "asyncio", asyncio_with_short_update_wait(seconds))


def plugin_problems(records: Sequence[logging.LogRecord]) -> list[str]:
    """Warnings and errors livekit logged (static messages only)."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in records
        if r.name.startswith("livekit") and r.levelno >= logging.WARNING
    ]


def texts(chat_ctx: llm.ChatContext) -> list[tuple[str, str]]:
    """(type, text or name or output) per item, for readable assertions."""
    out: list[tuple[str, str]] = []
    for item in chat_ctx.items:
        if item.type == "message":
            out.append((item.role, item.text_content or ""))
        elif item.type == "function_call":
            out.append(("function_call", item.name))
        elif item.type == "function_call_output":
            out.append(("function_call_output", item.output))
    return out
