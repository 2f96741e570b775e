"""Helpers shared by the emulator tests: the agent, a live session, event validation."""

from __future__ import annotations

import asyncio
import logging
import sys
import types
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from livekit.agents import Agent, AgentSession, function_tool, llm
from livekit.agents.llm._realtime import openai as realtime_engine
from livekit.plugins.openai.realtime import RealtimeModel
from openai.types.realtime import RealtimeServerEvent
from pydantic import BaseModel, TypeAdapter

from ctxmgr.testing.checker import Violation, check_realtime_invariants
from ctxmgr.testing.emulator import RealtimeServerEmulator

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


class ToolAgent(Agent):
    """An agent with one tool that records its calls."""

    def __init__(self) -> None:
        super().__init__(instructions="You are terse.")
        self.lookups: list[str] = []

    @function_tool
    async def lookup(self, query: str) -> str:
        """Look a fact up.

        Args:
            query: What to look up.
        """
        self.lookups.append(query)
        return f"fact about {query}"


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
    """Start a text-mode AgentSession (no room) on the emulator; None keeps the default modality."""
    kwargs: dict[str, Any] = {"modalities": list(modalities)} if modalities else {}
    model = RealtimeModel(base_url=emulator.url, api_key="test", **kwargs)
    session: AgentSession[None] = AgentSession(llm=model)
    agent = ToolAgent()
    await session.start(agent)
    return Live(emulator=emulator, session=session, agent=agent, model=model)


def shorten_update_wait(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Shorten only the 5 s acknowledgement wait inside ``RealtimeSession.update_chat_ctx``.

    The plugin's module gets an ``asyncio`` whose ``wait_for`` changes the
    timeout when, and only when, called from that method with 5.0.
    """
    target = realtime_engine.RealtimeSession.update_chat_ctx.__code__
    real_wait_for = asyncio.wait_for

    def wait_for(awaitable: Awaitable[Any], timeout: float | None) -> Awaitable[Any]:
        if timeout == 5.0 and sys._getframe(1).f_code is target:
            timeout = seconds
        return real_wait_for(awaitable, timeout)

    patched = types.ModuleType("asyncio")
    patched.__dict__.update(vars(asyncio))
    patched.wait_for = wait_for  # type: ignore[attr-defined]
    monkeypatch.setattr(realtime_engine, "asyncio", patched)


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
