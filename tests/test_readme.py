"""Every Python block in the README runs: it is an example file, or this test runs it.

A block is a file of ``examples/`` (or a part of one, verbatim), which ``make test``
runs, or it follows a ``<!-- run: KIND -->`` line and runs here:

- ``plain``: as it is (livekit's tracer provider put back after);
- ``pipeline``: top-level ``await`` allowed, with ``agent`` running in a real
  ``AgentSession`` (``session``) on a fake LLM, no manager attached;
- ``managed pipeline``: the same with ``manager`` attached and a few turns said,
  ``chat_ctx`` (a copy of the agent's) and ``item_id`` (its first user message).

``livekit.plugins.openai.LLM`` is a ``FakeLLM`` while a block runs: no network.
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.telemetry import tracer
from livekit.plugins import openai

from ctxmgr import ContextManager, Settings
from ctxmgr.testing import FakeLLM

pytestmark = pytest.mark.session

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"(?:<!-- run: (?P<kind>[a-z ]+) -->\n)?```python\n(?P<code>.*?)```", re.S)


@dataclass(frozen=True)
class Block:
    line: int
    kind: str | None
    code: str


def _blocks() -> list[Block]:
    text = (ROOT / "README.md").read_text()
    return [
        Block(text.count("\n", 0, m.start("code")), m.group("kind"), m.group("code"))
        for m in _BLOCK.finditer(text)
    ]


def _examples() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "examples").glob("*.py")))


def test_every_block_is_an_example_or_runs_here() -> None:
    examples = _examples()
    orphans = [b.line for b in _blocks() if b.kind is None and b.code not in examples]
    assert orphans == [], f"README lines {orphans}: not in examples/ and no run marker"
    kinds = {b.kind for b in _blocks() if b.kind is not None}
    assert kinds <= {"plain", "pipeline", "managed pipeline"}


def _runnable() -> Iterator[Any]:
    for b in _blocks():
        if b.kind is not None:
            yield pytest.param(b, id=f"README.md:{b.line}")


async def _run(code: str, namespace: dict[str, Any]) -> None:
    compiled = compile(code, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)
    if isinstance(result, types.CoroutineType):
        await result


@pytest.mark.parametrize("block", list(_runnable()))
async def test_readme_block_runs(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai, "LLM", lambda **kwargs: FakeLLM())
    if block.kind == "plain":
        previous = tracer._tracer_provider  # a block may set livekit's; no public getter
        try:
            await _run(block.code, {})
        finally:
            tracer.set_provider(previous)
        return
    agent = Agent(instructions="You are Sam, the support agent of Parcelly.")
    namespace: dict[str, Any] = {"agent": agent}
    async with FakeLLM() as fake, AgentSession(llm=fake) as session:
        namespace["session"] = session
        if block.kind == "managed pipeline":
            manager = ContextManager(Settings(max_tokens=4000), summarizer_llm=fake).attach(agent)
            namespace["manager"] = manager
        await session.start(agent)
        for line in ("Hi, I'm Ana Lopez.", "My card is 4111 1111 1111 1111.", "Thanks."):
            await session.run(user_input=line)
        if block.kind == "managed pipeline":
            said = [i for i in agent.chat_ctx.items if isinstance(i, llm.ChatMessage)]
            namespace["chat_ctx"] = agent.chat_ctx.copy()
            namespace["item_id"] = next(m.id for m in said if m.role == "user")
        await _run(block.code, namespace)
        if "manager" in namespace:
            await namespace["manager"].aclose()
