"""Test kit for ctxmgr users: realtime server emulator, fake LLM, in-memory backend, checker."""

from .checker import Violation, ViolationKind, check_realtime_invariants
from .emulator import (
    AckKind,
    CallTool,
    Dialect,
    EmulatedSession,
    RealtimeServerEmulator,
    Responder,
    ResponsePlan,
    ResponseRequest,
    Say,
    ServerItem,
    ServerResponse,
    StaleAnchorPolicy,
    Usage,
    echo_responder,
    plugin_model,
)
from .fake_llm import FakeLLM, FakeReply, FakeToolCall, extractive_summary, summary_responder
from .memory import InMemoryBackend

__all__ = [
    "AckKind",
    "CallTool",
    "Dialect",
    "EmulatedSession",
    "FakeLLM",
    "FakeReply",
    "FakeToolCall",
    "InMemoryBackend",
    "RealtimeServerEmulator",
    "Responder",
    "ResponsePlan",
    "ResponseRequest",
    "Say",
    "ServerItem",
    "ServerResponse",
    "StaleAnchorPolicy",
    "Usage",
    "Violation",
    "ViolationKind",
    "check_realtime_invariants",
    "echo_responder",
    "extractive_summary",
    "plugin_model",
    "summary_responder",
]
