"""Quiescence: is a response in progress? Waiting for it to end, bounded.

On a realtime model, no mutation while the agent is thinking or speaking, a
speech (and the tool calls it awaits) is pending, or a generation is active
(DESIGN.md, invariant 5). On a pipeline, only while a tool runs: its requests are
built from copies, and an apply is one synchronous assignment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from livekit.agents import llm

from .chat_items import oldest_in_progress_index

__all__ = ["agent_is_quiescent", "agent_is_running", "wait_quiescent"]

POLL_INTERVAL_S = 0.02


def agent_is_running(agent: Any) -> bool:
    """True when ``agent`` runs in a session: started, scheduling, not closed, and (on a
    realtime model) still holding its realtime session.

    Before that (not started, or a handoff to it still pending) and after (draining,
    paused, handed its realtime session on, closed), livekit owns the context: at the
    next start it pushes the agent's context to the server itself, deletes before
    creates, so a compaction landed meanwhile would delete the folded items before
    the summary is in.
    """
    activity = getattr(agent, "_activity", None)
    if activity is None or getattr(activity, "_closed", False):
        return False
    if getattr(activity, "scheduling_paused", False):
        return False
    realtime = isinstance(getattr(activity, "llm", None), llm.RealtimeModel)
    return not realtime or activity.realtime_llm_session is not None


def agent_is_quiescent(agent: Any) -> bool:
    """True when nothing in flight for ``agent`` could be hurt by a change to its context.

    On a realtime model: nothing is being generated, spoken or executed (the server
    holds the conversation, and a response chains to what it holds). On a pipeline
    (STT-LLM-TTS) the context is local and every LLM request is built from a copy
    taken when it starts, so a reply being generated or spoken is not affected: only a
    tool still running is waited for (its reply merges the agent's context into the
    turn's copy). An agent that is not running has nothing in flight.
    """
    activity = getattr(agent, "_activity", None)
    if activity is None:
        return True
    # a tool still running for a generation that has ended (its call has no output yet)
    if getattr(activity, "_background_speeches", None):
        return False
    rt_session = activity.realtime_llm_session
    if rt_session is None:
        speech = activity.current_speech
        return speech is None or oldest_in_progress_index(speech.chat_items) is None
    if activity.session.agent_state in ("thinking", "speaking"):
        return False
    # a speech awaiting its tool executions keeps a handle open until the tools are done
    if not getattr(activity, "_no_pending_speech", True):
        return False
    return not getattr(rt_session, "has_active_generation", False)


async def wait_quiescent(
    is_quiescent: Callable[[], bool],
    timeout_s: float,
    *,
    polls: int = 2,
    wake: asyncio.Event | None = None,
) -> bool:
    """Wait until ``is_quiescent()`` holds on ``polls`` checks in a row; ``False`` on timeout.

    Checks run every ``POLL_INTERVAL_S``, and at once whenever ``wake`` is set (by the
    session's events: a response done, the agent listening again), so that the gap
    between two turns that follow each other at once is found. Each check after a wake
    first lets the event loop run what is already scheduled (a reply that starts in the
    event-loop turn the previous one ended in).
    """
    deadline = time.monotonic() + timeout_s
    streak = 0
    while True:
        streak = streak + 1 if is_quiescent() else 0
        if streak >= polls:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if wake is None:
            await asyncio.sleep(POLL_INTERVAL_S)
            continue
        if streak:
            await asyncio.sleep(0)  # the next check, once what is scheduled has run
            continue
        wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), min(POLL_INTERVAL_S, remaining))
