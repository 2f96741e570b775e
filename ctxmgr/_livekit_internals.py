"""The private livekit attributes ctxmgr relies on, in one place.

livekit-agents has no public API for what a safe compaction must know (is a reply
pending, which locks guard the realtime session's context, the agent's own context
object), so ctxmgr reads these. ``pyproject.toml`` caps livekit-agents to the minor
line they were checked on; ``tests/test_livekit_internals.py`` checks every entry
against a running session, so a livekit upgrade that drops one fails there, by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Owner = Literal["Agent", "AgentActivity", "AgentSession", "RealtimeSession"]


@dataclass(frozen=True)
class Internal:
    """One private attribute: whose, which, and what ctxmgr reads it for."""

    owner: Owner
    name: str
    why: str
    test_kit_only: bool = False
    """Read only by ``ctxmgr.testing`` (the race harness), not by the manager."""


INTERNALS: tuple[Internal, ...] = (
    Internal("Agent", "_activity", "whether the agent runs, and its session"),
    Internal("Agent", "_chat_ctx", "the agent's own context object, written in one assignment"),
    Internal("Agent", "_tools", "adding the recall tool before the agent starts"),
    Internal("AgentActivity", "_closed", "an activity that stopped is not compacted"),
    Internal("AgentActivity", "_background_speeches", "a reply pending in the background"),
    Internal("AgentActivity", "_no_pending_speech", "a speech still waiting for its tools"),
    Internal("AgentActivity", "_rt_chat_ctx_lock", "held by livekit while it syncs a turn"),
    Internal("AgentSession", "_agent", "the agent a handoff went to"),
    Internal("RealtimeSession", "_update_chat_ctx_lock", "held by the plugin while it updates"),
    Internal(
        "RealtimeSession",
        "_remote_chat_ctx",
        "the mirror: a created item put where the server placed it (xAI appends)",
    ),
    Internal("AgentActivity", "_current_speech", "the speech the race interrupts", True),
    Internal("AgentActivity", "_speech_q", "the speeches the race waits for", True),
    Internal("AgentSession", "_update_activity_atask", "a handoff in progress", True),
    Internal("RealtimeSession", "_item_create_future", "creates awaiting their ack", True),
    Internal("RealtimeSession", "_item_delete_future", "deletes awaiting their ack", True),
)
