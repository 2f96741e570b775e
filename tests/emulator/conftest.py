"""Fixtures: the emulator on 127.0.0.1:0, and a real AgentSession talking to it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from emulator_support import Live, assert_valid_server_event, open_live

from ctxmgr.testing.emulator import Dialect, RealtimeServerEmulator


@pytest.fixture
def dialect() -> Dialect:
    """The provider the emulator speaks for; a test parametrizes it to run on others."""
    return "openai"


@pytest.fixture
async def emulator(dialect: Dialect) -> AsyncIterator[RealtimeServerEmulator]:
    """A running emulator; every event it sent must validate against the SDK's types."""
    async with RealtimeServerEmulator(host="127.0.0.1", port=0, dialect=dialect) as server:
        yield server
    for event in server.server_events:
        assert_valid_server_event(event)


@pytest.fixture
async def live_factory(
    emulator: RealtimeServerEmulator,
) -> AsyncIterator[Callable[..., Awaitable[Live]]]:
    """Open AgentSessions on the emulator; they are closed before the emulator stops."""
    opened: list[Live] = []

    async def _open(**kwargs: Any) -> Live:
        opened.append(live := await open_live(emulator, **kwargs))
        return live

    yield _open
    for live in reversed(opened):
        await live.aclose()


@pytest.fixture
async def live(live_factory: Callable[..., Awaitable[Live]]) -> Live:
    """A text-modality AgentSession with the tool agent, connected to the emulator."""
    return await live_factory()


@pytest.fixture
def warnings_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture WARNING and above from every logger."""
    caplog.set_level(logging.WARNING)
    return caplog
