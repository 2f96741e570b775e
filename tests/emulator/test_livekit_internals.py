"""Every private livekit attribute ctxmgr reads exists on a running session.

ctxmgr reads them with ``getattr(..., default)``, so a livekit release that renamed
one would not fail loudly: the manager would run on a wrong answer. This test is
where such a release fails, naming the attribute.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from emulator_support import Live
from livekit.agents import Agent, AgentSession

import ctxmgr
from ctxmgr._livekit_internals import INTERNALS, Internal
from ctxmgr.testing import FakeLLM

pytestmark = pytest.mark.emulator


def _missing(owners: dict[str, object]) -> list[str]:
    return [
        f"{i.owner}.{i.name} ({i.why})"
        for i in INTERNALS
        if i.owner in owners and not hasattr(owners[i.owner], i.name)
    ]


def _report(missing: list[str]) -> str:
    return (
        f"livekit-agents {version('livekit-agents')} lacks private attributes ctxmgr relies on:"
        f" {'; '.join(missing)}. See ctxmgr/_livekit_internals.py before raising the cap"
        " on livekit-agents in pyproject.toml."
    )


async def test_a_pipeline_session_has_every_internal_ctxmgr_reads() -> None:
    agent = Agent(instructions="You help.")
    async with FakeLLM() as fake, AgentSession(llm=fake) as session:
        await session.start(agent)
        owners = {"Agent": agent, "AgentActivity": agent._activity, "AgentSession": session}
        assert not (missing := _missing(owners)), _report(missing)


async def test_a_realtime_session_has_every_internal_ctxmgr_reads(live: Live) -> None:
    owners = {
        "Agent": live.agent,
        "AgentActivity": live.agent._activity,
        "AgentSession": live.session,
        "RealtimeSession": live.rt_session,
    }
    assert not (missing := _missing(owners)), _report(missing)


def test_the_check_names_what_is_missing() -> None:
    """A renamed attribute is reported by owner and name, with what it is for."""

    class Renamed:
        _activity = None

    missing = _missing({"Agent": Renamed()})
    assert missing == [
        f"Agent.{i.name} ({i.why})"
        for i in INTERNALS
        if i.owner == "Agent" and i.name != "_activity"
    ]
    assert "Agent._chat_ctx" in _report(missing)


def test_every_internal_is_one_ctxmgr_reads() -> None:
    """The list is the code's: each name appears in a ctxmgr module other than the list."""
    root = Path(ctxmgr.__file__).parent
    sources = "".join(
        p.read_text() for p in root.rglob("*.py") if p.name != "_livekit_internals.py"
    )
    unused: list[Internal] = [i for i in INTERNALS if i.name not in sources]
    assert unused == []
