"""Each compaction round as a span on livekit's tracer, beside livekit's own spans.

A round that started (``compaction_started``) is one ``ctxmgr.compaction`` span, ended
with its outcome. It is the current span while the round runs, so the summarizer's
``llm_request`` nests under it. Skips before a round starts (``below_trigger``,
``already_running``, ...) get no span: they happen on every counted item.

Attributes are the events' numbers and a few low-cardinality strings, never chat
content: an error's message may quote the conversation, so a failure carries only its
stage and the error's class name. Spans go wherever livekit's go:

```python
from livekit.agents.telemetry import set_tracer_provider
from opentelemetry.sdk.trace import TracerProvider

provider = TracerProvider()  # with your exporter's span processor
set_tracer_provider(provider)  # livekit's spans and ctxmgr's compactions
```
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Union

from livekit.agents.telemetry import trace_types, tracer
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from .events import (
    CompactionAppliedEvent,
    CompactionFailedEvent,
    CompactionSkippedEvent,
    CompactionStartedEvent,
)

__all__ = [
    "SPAN_NAME",
    "RoundSpan",
    "compaction_span",
    "outcome_attributes",
    "started_attributes",
]

SPAN_NAME = "ctxmgr.compaction"

ATTR_REQUEST_ID = "ctxmgr.request_id"
ATTR_ACTION = "ctxmgr.action"
"""``summarize`` or ``trim``: the plan's, then the applied one's (a fallback trims)."""
ATTR_TOKENS_BEFORE = "ctxmgr.tokens_before"
"""At the plan; once applied, the live count the apply started from."""
ATTR_ITEMS_PLANNED = "ctxmgr.items_planned"
ATTR_OUTCOME = "ctxmgr.outcome"
"""``applied``, ``skipped`` or ``failed``."""
ATTR_TOKENS_AFTER = "ctxmgr.tokens_after"
ATTR_ITEMS_REMOVED = "ctxmgr.items_removed"
"""Items folded or dropped; on a failure, those already gone when a delete failed part-way."""
ATTR_ITEMS_KEPT = "ctxmgr.items_kept"
ATTR_SUMMARY_TOKENS = "ctxmgr.summary_tokens"
ATTR_SUMMARIZER_INPUT_TOKENS = "ctxmgr.summarizer_input_tokens"
ATTR_SUMMARIZER_OUTPUT_TOKENS = "ctxmgr.summarizer_output_tokens"
ATTR_DURATION_S = "ctxmgr.duration_s"
ATTR_FALLBACK = "ctxmgr.fallback"
ATTR_FALLBACK_REASON = "ctxmgr.fallback_reason"
ATTR_FALLBACK_ERROR_TYPE = "ctxmgr.fallback_error_type"
ATTR_SKIP_REASON = "ctxmgr.skip_reason"
ATTR_FAILED_STAGE = "ctxmgr.failed_stage"
ATTR_ERROR_TYPE = "ctxmgr.error_type"
ATTR_SUMMARY_INSERTED = "ctxmgr.summary_inserted"

Outcome = Union[CompactionAppliedEvent, CompactionSkippedEvent, CompactionFailedEvent]


def started_attributes(event: CompactionStartedEvent) -> dict[str, AttributeValue]:
    """The span's attributes when the round starts."""
    return {
        ATTR_REQUEST_ID: event.request_id,
        ATTR_ACTION: event.action,
        ATTR_TOKENS_BEFORE: event.tokens_before,
        ATTR_ITEMS_PLANNED: event.items_planned,
    }


def outcome_attributes(event: Outcome) -> dict[str, AttributeValue]:
    """The attributes a round's final event adds: numbers, reasons and class names only."""
    if isinstance(event, CompactionAppliedEvent):
        attributes: dict[str, AttributeValue] = {
            ATTR_OUTCOME: "applied",
            ATTR_ACTION: event.action,
            ATTR_TOKENS_BEFORE: event.tokens_before,
            ATTR_TOKENS_AFTER: event.tokens_after,
            ATTR_ITEMS_REMOVED: len(event.removed_ids),
            ATTR_ITEMS_KEPT: len(event.kept_ids),
            ATTR_SUMMARY_TOKENS: event.summary_tokens,
            ATTR_SUMMARIZER_INPUT_TOKENS: event.summarizer_input_tokens,
            ATTR_SUMMARIZER_OUTPUT_TOKENS: event.summarizer_output_tokens,
            ATTR_DURATION_S: event.duration_s,
            ATTR_FALLBACK: event.fallback,
        }
        if event.fallback_reason is not None:
            attributes[ATTR_FALLBACK_REASON] = event.fallback_reason
        if event.fallback_error is not None:
            attributes[ATTR_FALLBACK_ERROR_TYPE] = type(event.fallback_error).__name__
        return attributes
    if isinstance(event, CompactionSkippedEvent):
        return {ATTR_OUTCOME: "skipped", ATTR_SKIP_REASON: event.reason}
    return {
        ATTR_OUTCOME: "failed",
        ATTR_FAILED_STAGE: event.stage,
        ATTR_ERROR_TYPE: event.error_type,
        # OpenTelemetry's own key, which backends group failures by (livekit sets it too)
        trace_types.ATTR_ERROR_TYPE: event.error_type,
        ATTR_ITEMS_REMOVED: len(event.removed_ids),
        ATTR_SUMMARY_INSERTED: event.summary_id is not None,
    }


class RoundSpan:
    """The span of one started round; ``record`` gives it the round's outcome."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self.recorded = False

    def record(self, event: Outcome) -> None:
        """Set the final event's attributes; a failure also sets the span's status to ERROR."""
        self.recorded = True
        if not self._span.is_recording():
            return
        self._span.set_attributes(outcome_attributes(event))
        if isinstance(event, CompactionFailedEvent):
            # the status text is ours, static: the exception's message may quote the chat
            status = trace.Status(trace.StatusCode.ERROR, f"compaction failed at {event.stage}")
            self._span.set_status(status)


@contextlib.contextmanager
def compaction_span(started: CompactionStartedEvent) -> Iterator[RoundSpan]:
    """A round's span, current while the block runs and ended when it exits.

    An exception that leaves the block before ``record`` (a cancellation no event
    reported) sets ERROR and ``error.type``; its message is never recorded.
    """
    with tracer.start_as_current_span(
        SPAN_NAME,
        attributes=started_attributes(started),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        round_span = RoundSpan(span)
        try:
            yield round_span
        except BaseException as e:
            if not round_span.recorded and span.is_recording():
                span.set_attribute(trace_types.ATTR_ERROR_TYPE, type(e).__name__)
                span.set_status(trace.Status(trace.StatusCode.ERROR, "compaction round ended early"))
            raise
