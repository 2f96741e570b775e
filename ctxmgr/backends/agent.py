"""AgentBackend: a livekit ``Agent``, pipeline or realtime."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from livekit.agents import Agent, llm

from ..providers import append_only_reason
from ..remote import remote_view, unsynced_ids
from ..signals import agent_is_quiescent, agent_is_running
from .base import ContextSource

__all__ = ["AgentBackend"]

UpdateFn = Callable[..., Awaitable[None]]


class AgentBackend:
    """Reads and updates a livekit agent's context through its own ``update_chat_ctx``.

    ``update`` is the agent's original method (not the manager's wrapper), called with
    ``exclude_invalid_function_calls=False`` so that calls of tools the agent no
    longer has (after a handoff) are not dropped on the way; an override that does
    not take that argument is called with the context alone.
    """

    def __init__(self, agent: Agent, update: UpdateFn) -> None:
        self._agent = agent
        self._update = update
        self._takes_exclude = _accepts_keyword(update, "exclude_invalid_function_calls")

    @property
    def agent(self) -> Agent:
        return self._agent

    def _rt_session(self) -> Any:
        activity = getattr(self._agent, "_activity", None)
        return activity.realtime_llm_session if activity is not None else None

    @property
    def mutable(self) -> bool:
        return self.append_only_reason is None

    @property
    def append_only_reason(self) -> str | None:
        """Why nothing can be deleted on this agent's realtime model (see
        ``ctxmgr.providers``), or None."""
        return append_only_reason(self._rt_session())

    @property
    def two_step(self) -> bool:
        return self._rt_session() is not None

    def read_local(self) -> llm.ChatContext:
        return self._agent._chat_ctx

    def read_remote(self) -> llm.ChatContext | None:
        rt = self._rt_session()
        return rt.chat_ctx if rt is not None else None

    def protected_ids(self, ignoring: Collection[str] = ()) -> frozenset[str]:
        return remote_view(self.read_local(), self.read_remote(), ignoring=ignoring).protected

    def pinned_ids(self) -> frozenset[str]:
        return unsynced_ids(self.read_local(), self.read_remote())

    def is_running(self) -> bool:
        return agent_is_running(self._agent)

    def is_quiescent(self) -> bool:
        return agent_is_quiescent(self._agent)

    async def update(self, source: ContextSource) -> None:
        if callable(source):
            await self._until_locks_free()
            # no await between building and livekit's diff: both locks are free, and an
            # asyncio lock that is free is taken without yielding
            source = source()
        await self.forward(source, exclude_invalid_function_calls=False)

    async def forward(
        self, chat_ctx: llm.ChatContext, *, exclude_invalid_function_calls: bool
    ) -> None:
        """Call the agent's original ``update_chat_ctx`` as is (the argument is dropped for
        an override that does not take it)."""
        if self._takes_exclude:
            await self._update(
                chat_ctx, exclude_invalid_function_calls=exclude_invalid_function_calls
            )
        else:
            await self._update(chat_ctx)

    async def _until_locks_free(self) -> None:
        """Wait until livekit's realtime locks are free (its own updates, e.g. tool outputs).

        A context built while livekit holds them, or while a task woken to take them
        has not run yet, would be diffed only after that task, against a mirror that
        may have gained items meanwhile: those would be deleted. (Private attributes of
        livekit-agents 1.8 and of ``asyncio.Lock``; without them, no wait.)
        """
        activity = getattr(self._agent, "_activity", None)
        rt = self._rt_session()
        locks = [
            lock
            for lock in (
                getattr(activity, "_rt_chat_ctx_lock", None),
                getattr(rt, "_update_chat_ctx_lock", None),
            )
            if isinstance(lock, asyncio.Lock)
        ]
        while any(_would_wait(lock) for lock in locks):
            await asyncio.sleep(0.005)


def _accepts_keyword(function: Callable[..., Any], keyword: str) -> bool:
    """Whether ``function`` takes ``keyword`` (by name, or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True  # no signature to read: assume livekit's
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == keyword and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        for p in parameters
    )


def _would_wait(lock: asyncio.Lock) -> bool:
    """Whether ``acquire()`` would yield: the lock is held, or a task woken to take it
    has not run yet (asyncio's own fast-path test). A lock just released to a waiter
    looks free, but the waiter (livekit sending a tool output) goes first: a context
    built meanwhile would be diffed only after it, against a mirror that gained the
    replies that arrived while it waited for its acknowledgement (seed 590)."""
    waiters = getattr(lock, "_waiters", None)
    return lock.locked() or any(not w.cancelled() for w in waiters or ())
