"""Quiescence: is a response in progress? Waiting for it to end, bounded.

No mutation while the agent is thinking or speaking, a speech (and the tool
calls it awaits) is pending, or a realtime generation is active (DESIGN.md,
invariant 5).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from livekit.agents import llm

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
    """True when nothing is being generated, spoken or executed for ``agent``.

    An agent that is not running has nothing in flight.
    """
    activity = getattr(agent, "_activity", None)
    if activity is None:
        return True
    if activity.session.agent_state in ("thinking", "speaking"):
        return False
    # a speech awaiting its tool executions keeps a handle open until the tools are done
    if not getattr(activity, "_no_pending_speech", True):
        return False
    # a tool still running for a generation that has ended (its call has no output yet)
    if getattr(activity, "_background_speeches", None):
        return False
    rt_session = activity.realtime_llm_session
    if rt_session is not None and getattr(rt_session, "has_active_generation", False):
        return False
    return True


async def wait_quiescent(is_quiescent: Callable[[], bool], timeout_s: float) -> bool:
    """Wait until ``is_quiescent()`` holds on two polls in a row; ``False`` on timeout.

    Two polls, because a reply can start in the same event-loop turn that a
    previous one ended in.
    """
    deadline = time.monotonic() + timeout_s
    streak = 0
    while True:
        streak = streak + 1 if is_quiescent() else 0
        if streak >= 2:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL_S)
