"""Each started compaction round is one span on livekit's tracer, with numbers, no chat."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from livekit.agents import AgentSession, llm
from livekit.agents.telemetry import set_tracer_provider, tracer
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from ctxmgr import CompactionAppliedEvent, CompactionFailedEvent
from ctxmgr.telemetry import SPAN_NAME
from ctxmgr.testing.fake_llm import FakeLLM

from .session_kit import running, user_line

pytestmark = pytest.mark.session

_WORD = re.compile(r"[A-Za-z0-9]{4,}")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """livekit's tracer sends to an in-memory exporter; put back as it was after."""
    previous = tracer._tracer_provider  # livekit has no public getter for it
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    set_tracer_provider(provider)
    try:
        yield memory
    finally:
        tracer.set_provider(previous)
        provider.shutdown()


def _rounds(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == SPAN_NAME]


async def _turns(session: AgentSession, n: int) -> None:
    for t in range(n):
        await session.run(user_input=user_line(t))
        await asyncio.sleep(0.03)


def _chat_words(chat_ctx: llm.ChatContext) -> set[str]:
    words: set[str] = set()
    for item in chat_ctx.items:
        if isinstance(item, llm.ChatMessage):
            words.update(_WORD.findall(item.text_content or ""))
        elif isinstance(item, llm.FunctionCall):
            words.update(_WORD.findall(item.arguments))
        elif isinstance(item, llm.FunctionCallOutput):
            words.update(_WORD.findall(item.output))
    return words


def _text_on(span: ReadableSpan) -> set[str]:
    """Every word a backend would show for the span: string attributes and status text."""
    texts = [v for v in (span.attributes or {}).values() if isinstance(v, str)]
    texts.append(span.status.description or "")
    texts.extend(str(e.attributes) for e in span.events)
    return {w for text in texts for w in _WORD.findall(text)}


async def test_an_applied_round_is_one_span_with_the_applied_events_numbers(
    exporter: InMemorySpanExporter,
) -> None:
    async with running(summarizer=FakeLLM(), max_tokens=4000) as (m, log, agent, session):
        await _turns(session, 10)
        said = _chat_words(agent.chat_ctx)
        result = await m.compact(force=True)
        assert result.status == "applied"
        said |= _chat_words(agent.chat_ctx)  # the summary too
        await m.aclose()
    event = result.event
    assert isinstance(event, CompactionAppliedEvent) and event.summary_id is not None
    [span] = _rounds(exporter)
    assert dict(span.attributes or {}) == {
        "ctxmgr.request_id": event.request_id,
        "ctxmgr.action": "summarize",
        "ctxmgr.outcome": "applied",
        "ctxmgr.tokens_before": event.tokens_before,
        "ctxmgr.tokens_after": event.tokens_after,
        "ctxmgr.items_planned": log.of("compaction_started")[0].items_planned,  # type: ignore[attr-defined]
        "ctxmgr.items_removed": len(event.removed_ids),
        "ctxmgr.items_kept": len(event.kept_ids),
        "ctxmgr.summary_tokens": event.summary_tokens,
        "ctxmgr.summarizer_input_tokens": event.summarizer_input_tokens,
        "ctxmgr.summarizer_output_tokens": event.summarizer_output_tokens,
        "ctxmgr.duration_s": pytest.approx(event.duration_s),
        "ctxmgr.fallback": False,
    }
    assert event.summarizer_input_tokens > 0 and event.tokens_after < event.tokens_before
    assert span.status.status_code is StatusCode.UNSET
    assert said and not _text_on(span) & said


async def test_the_summarizers_llm_request_span_nests_under_the_round(
    exporter: InMemorySpanExporter,
) -> None:
    async with running(summarizer=FakeLLM(), max_tokens=4000) as (m, _log, _agent, session):
        await _turns(session, 10)
        assert (await m.compact(force=True)).status == "applied"
        await m.aclose()
    [round_span] = _rounds(exporter)
    assert round_span.context is not None
    children = [
        s for s in exporter.get_finished_spans()
        if s.parent is not None and s.parent.span_id == round_span.context.span_id
    ]
    assert [s.name for s in children] == ["llm_request"]


async def test_a_failed_round_is_an_error_span_with_its_stage_and_no_error_message(
    exporter: InMemorySpanExporter,
) -> None:
    message = "provider refused the prompt about Ana Lopez at Baker Street"
    failing = FakeLLM(fail_with=RuntimeError(message))
    async with running(summarizer=failing, max_tokens=4000) as (m, _log, agent, session):
        await _turns(session, 10)
        said = _chat_words(agent.chat_ctx) | set(_WORD.findall(message))
        result = await m.compact(force=True)
        await m.aclose()
    event = result.event
    assert isinstance(event, CompactionFailedEvent) and event.stage == "summarize"
    [span] = _rounds(exporter)
    attributes = span.attributes or {}
    assert attributes["ctxmgr.outcome"] == "failed"
    assert attributes["ctxmgr.failed_stage"] == "summarize"
    assert attributes["ctxmgr.error_type"] == attributes["error.type"] == event.error_type
    assert attributes["ctxmgr.request_id"] == event.request_id
    assert span.status.status_code is StatusCode.ERROR
    assert not _text_on(span) & said
    assert not span.events  # an exception event would carry the message


async def test_a_round_abandoned_by_aclose_is_an_error_span_with_its_stage(
    exporter: InMemorySpanExporter,
) -> None:
    async with running(summarizer=FakeLLM(delay_s=2.0)) as (m, _log, _agent, session):
        await _turns(session, 10)
        manual = asyncio.create_task(m.compact(force=True))
        await asyncio.sleep(0.1)
        await m.aclose()
        result = await manual
    assert result.status == "failed"
    [span] = _rounds(exporter)
    assert (span.attributes or {})["ctxmgr.failed_stage"] == "summarize"
    assert span.status.status_code is StatusCode.ERROR


async def test_a_skip_before_the_round_starts_makes_no_span(
    exporter: InMemorySpanExporter,
) -> None:
    async with running(summarizer=FakeLLM(), max_tokens=100_000) as (m, _log, _agent, session):
        await _turns(session, 2)
        result = await m.compact()
        await m.aclose()
    assert result.status == "skipped" and result.event.reason == "below_trigger"  # type: ignore[union-attr]
    assert not _rounds(exporter)
