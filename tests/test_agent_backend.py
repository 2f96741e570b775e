"""AgentBackend builds a context only when livekit's update would be diffed at once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from livekit.agents import llm

from ctxmgr.backends.agent import AgentBackend

pytestmark = pytest.mark.unit


def _agent_with_locks() -> tuple[Any, asyncio.Lock, asyncio.Lock]:
    rt_lock, plugin_lock = asyncio.Lock(), asyncio.Lock()
    rt_session = SimpleNamespace(_update_chat_ctx_lock=plugin_lock)
    activity = SimpleNamespace(_rt_chat_ctx_lock=rt_lock, realtime_llm_session=rt_session)
    return SimpleNamespace(_activity=activity), rt_lock, plugin_lock


@pytest.mark.parametrize("which", ["activity", "plugin"])
async def test_a_lock_released_to_a_waiting_task_is_not_free_until_that_task_ran(
    which: str,
) -> None:
    """Seed 590: livekit's tool-output update was woken to take the lock but had not run;
    the lock looked free, ctxmgr built its context, then waited behind that update while
    a reply reached the mirror, and the diff deleted the reply."""
    agent, rt_lock, plugin_lock = _agent_with_locks()
    lock = rt_lock if which == "activity" else plugin_lock
    order: list[str] = []

    async def livekit_update() -> None:
        async with lock:
            order.append("livekit sends its update")

    await lock.acquire()
    waiter = asyncio.create_task(livekit_update())
    await asyncio.sleep(0)  # the waiter is queued on the lock
    lock.release()  # handed to the waiter, which has not run yet
    assert not lock.locked()

    async def update(chat_ctx: llm.ChatContext, **_: Any) -> None:
        order.append("ctxmgr's context is diffed")

    def build() -> llm.ChatContext:
        order.append("ctxmgr builds its context")
        return llm.ChatContext.empty()

    await AgentBackend(agent, update).update(build)
    await waiter
    assert order == [
        "livekit sends its update",
        "ctxmgr builds its context",
        "ctxmgr's context is diffed",
    ]


async def test_free_locks_build_at_once() -> None:
    agent, _, _ = _agent_with_locks()
    built: list[llm.ChatContext] = []

    async def update(chat_ctx: llm.ChatContext, **_: Any) -> None:
        built.append(chat_ctx)

    ctx = llm.ChatContext.empty()
    await AgentBackend(agent, update).update(lambda: ctx)
    assert built == [ctx]
