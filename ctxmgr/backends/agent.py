"""AgentBackend: a livekit ``Agent``, pipeline or realtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from livekit.agents import Agent, llm

from ..remote import remote_view
from ..signals import agent_is_quiescent

__all__ = ["AgentBackend"]

UpdateFn = Callable[..., Awaitable[None]]


class AgentBackend:
    """Reads and updates a livekit agent's context through its own ``update_chat_ctx``.

    ``update`` is the agent's original method (not the manager's wrapper), called with
    ``exclude_invalid_function_calls=False`` so that calls of tools the agent no
    longer has (after a handoff) are not dropped on the way.
    """

    def __init__(self, agent: Agent, update: UpdateFn) -> None:
        self._agent = agent
        self._update = update

    @property
    def agent(self) -> Agent:
        return self._agent

    def _rt_session(self) -> Any:
        activity = getattr(self._agent, "_activity", None)
        return activity.realtime_llm_session if activity is not None else None

    @property
    def mutable(self) -> bool:
        rt = self._rt_session()
        return rt is None or bool(rt.capabilities.mutable_chat_context)

    @property
    def two_step(self) -> bool:
        return self._rt_session() is not None

    def read_local(self) -> llm.ChatContext:
        return self._agent._chat_ctx

    def read_remote(self) -> llm.ChatContext | None:
        rt = self._rt_session()
        return rt.chat_ctx if rt is not None else None

    def protected_ids(self) -> frozenset[str]:
        return remote_view(self.read_local(), self.read_remote()).protected

    def is_quiescent(self) -> bool:
        return agent_is_quiescent(self._agent)

    async def update(self, chat_ctx: llm.ChatContext) -> None:
        await self._update(chat_ctx, exclude_invalid_function_calls=False)
