"""examples/voice_agent.py imports offline, without keys, and builds its agent, manager attached."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import tiktoken
from livekit.agents import AgentServer, llm
from livekit.plugins import openai

from ctxmgr import ContextManager
from ctxmgr.tokens import OFFLINE_ENCODING

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "voice_agent.py"


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A dummy key (the plugins only check it is set), no CTXMGR_ or example variables."""
    for key in list(os.environ):
        if key.upper().startswith(("CTXMGR_", "VOICE_AGENT_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any DNS lookup or connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the example reached for the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voice_agent_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example() -> Iterator[ModuleType]:
    try:
        yield _load()
    finally:
        sys.modules.pop("voice_agent_example", None)


def test_import_needs_no_key_and_defines_a_livekit_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    try:
        example = _load()
    finally:
        sys.modules.pop("voice_agent_example", None)
    assert isinstance(example.server, AgentServer)
    assert example.server._entrypoint_fnc is example.entrypoint
    assert "OPENAI_API_KEY" in (example.__doc__ or "")
    assert "CTXMGR_POLICY" in (example.__doc__ or "")


def test_pipeline_agent_has_a_manager_attached(example: ModuleType) -> None:
    agent = example.build_agent()
    manager = agent.context_manager
    assert isinstance(manager, ContextManager)
    assert manager.agent is agent
    assert agent.update_chat_ctx == manager._guarded_update  # every update passes the guard
    assert isinstance(agent.llm, openai.LLM)
    assert isinstance(agent.stt, openai.STT) and isinstance(agent.tts, openai.TTS)
    assert manager.settings.policy == "token-budget"
    manager.detach()


def test_realtime_agent_gets_a_text_summarizer_and_the_realtime_preset(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_AGENT_REALTIME", "1")
    agent = example.build_agent()
    manager = agent.context_manager
    assert isinstance(agent.llm, llm.RealtimeModel)
    assert manager.agent is agent and manager.settings.policy == "realtime"
    assert manager.settings.max_tokens == 24000
    assert isinstance(manager._summarizer_llm, openai.LLM)
    manager.detach()


def test_a_policy_named_in_settings_wins_over_the_realtime_default(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOICE_AGENT_REALTIME", "1")
    (tmp_path / ".env").write_text("CTXMGR_POLICY=trim\n")
    manager = example.build_agent().context_manager
    assert manager.policy.name == "trim"
    manager.detach()


def test_tokens_are_counted_with_the_models_own_encoding_when_it_loads(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example lets tiktoken fetch the model's encoding; offline, it counts with the
    shipped copy of cl100k_base (here the fetch fails, as it does with no network)."""
    asked: list[str] = []
    load = tiktoken.get_encoding

    def get_encoding(name: str) -> tiktoken.Encoding:
        asked.append(name)
        if name != OFFLINE_ENCODING:
            raise ConnectionError("no network in tests")
        return load(name)

    monkeypatch.setattr(tiktoken, "get_encoding", get_encoding)
    agent = example.build_agent()
    manager = agent.context_manager
    assert manager.settings.model == agent.llm.model
    assert asked == [tiktoken.encoding_name_for_model(agent.llm.model), OFFLINE_ENCODING]
    assert manager.counter.encoding_name == OFFLINE_ENCODING
    manager.detach()


def test_policy_is_picked_by_settings(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_POLICY", "trim")
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "9000")
    manager = example.build_agent().context_manager
    assert (manager.policy.name, manager.settings.max_tokens) == ("trim", 9000)
    manager.detach()


def test_a_dotenv_shared_with_livekit_keys_is_accepted(
    example: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "LIVEKIT_URL=wss://example.livekit.cloud\nOPENAI_API_KEY=sk-test\nCTXMGR_MAX_TOKENS=9000\n"
    )
    manager = example.build_agent().context_manager
    assert manager.settings.max_tokens == 9000
    manager.detach()
