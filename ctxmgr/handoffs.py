"""Managers for the agents a session hands off to (``Settings.follow_handoffs``).

A manager manages one agent. When the application hands off
(``session.update_agent(next_agent)``), the next agent receives whatever context the
application gives it (``chat_ctx=self.chat_ctx``, or the whole call from
``session.history``) and, without a manager of its own, grows unmanaged from there.
With ``follow_handoffs`` the first manager attaches one to each next agent: same
settings, summarizer and policy, the same archive and call id, its events re-emitted
by the first manager. ``AgentTask``s are left alone: they run inside a tool and hand
their context back to the agent that awaited them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

from livekit.agents import Agent, AgentTask

from ._listeners import listener
from .events import EventTypes
from .log import logger

if TYPE_CHECKING:
    from .manager import ContextManager

__all__ = ["HandoffFollower"]

_WATCHED = ("agent_state_changed", "conversation_item_added")
"""Session events on which the current agent is looked at (a started agent emits both)."""


class HandoffFollower:
    """Attaches a manager from ``make`` to each agent ``session`` switches to that has none."""

    def __init__(
        self,
        session: Any,
        make: Callable[[], ContextManager],
        forward: Callable[[EventTypes, Any], None],
    ) -> None:
        self._session = session
        self._make = make
        self._forward = forward
        self.managers: list[ContextManager] = []
        """The managers attached so far, oldest first."""
        self._on_event = listener(self._check)
        for event in _WATCHED:
            session.on(event, self._on_event)

    def _check(self, _ev: Any = None) -> None:
        agent = getattr(self._session, "_agent", None)  # current_agent raises before start
        if not isinstance(agent, Agent) or isinstance(agent, AgentTask):
            return
        if getattr(agent, "_ctxmgr_manager", None) is not None:
            return  # managed already (the first agent, or one handed back to)
        manager = self._make()
        for name in get_args(EventTypes):
            manager.on(name, functools.partial(self._forward, name))
        self.managers.append(manager.attach(agent))
        logger.debug("manager attached to the agent handed off to", extra={"agent": agent.id})

    async def aclose(self) -> None:
        """Stop following, and close the managers attached (the context stays as it is)."""
        for event in _WATCHED:
            self._session.off(event, self._on_event)
        await asyncio.gather(*(m.aclose() for m in self.managers), return_exceptions=True)
