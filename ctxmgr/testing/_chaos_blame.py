"""Who changed what: every create and delete the plugin sends, tagged with who asked.

livekit deletes remote items on its own, from a copy of the local context: when
a handoff starts the next agent (``AgentActivity._start_session`` sends the new
agent's context, copied before in-flight items joined it) and when an
interruption syncs away the messages nobody heard (the realtime generation
task). Those deletes lose in-flight items with no compaction at all
(``--contender none`` shows it), so a loss they
cause is livekit's, not the contender's. A loss counts against the contender when
the deleted item was the contender's own doing (deleted from its code path, or
folded by it), or when no delete explains it. Likewise a mirror whose copy of an
item differs from the server's counts only when the contender wrote that item: the
plugin does not record the text of a response it discarded (an interrupted reply),
with no compaction at all.

Instrumentation is process-wide (``instrument_plugin``) and per schedule through
a context variable, so schedules running at once in one loop keep separate logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import sys
import types
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .checker import Violation
from .emulator import RealtimeServerEmulator

__all__ = ["ChangeLog", "Culprit", "LivekitPath", "instrument_plugin", "shortened_update_wait"]

Culprit = Literal[
    "contender", "app", "livekit:handoff", "livekit:interruption", "livekit:other"
]
"""Who asked for a create or a delete (``livekit:other``: no known path, so never excused;
``app``: the application's own update, with no contender code on the way)."""
LivekitPath = Literal[
    "livekit:handoff", "livekit:interruption", "livekit:mirror", "livekit:placement", "app"
]
"""What livekit did on its own that explains a finding (``app``: the application's own
update, sent straight to livekit because no contender guards it)."""

_CTXMGR_DIR = Path(__file__).resolve().parent.parent
_TESTING_DIR = Path(__file__).resolve().parent
_CONTENDER_FUNCTIONS = frozenset({"naive_summarize"})
_APP_FUNCTIONS = frozenset({"app_writes_back", "_app_forgets_during"})
_HANDOFF_FUNCTIONS = frozenset({"_start_session", "_update_activity_task", "_update_activity"})
_GENERATION_FUNCTIONS = frozenset(
    {"_realtime_generation_task", "_realtime_generation_task_impl", "_interrupt_by_audio_activity"}
)

_current: contextvars.ContextVar[ChangeLog | None] = contextvars.ContextVar(
    "ctxmgr_chaos_delete_log", default=None
)


@functools.lru_cache(maxsize=512)
def _is_ctxmgr_code(filename: str) -> bool:
    path = Path(filename).resolve()
    return _CTXMGR_DIR in path.parents and _TESTING_DIR not in path.parents


def _culprit(frame: types.FrameType | None) -> Culprit:
    seen: Culprit = "livekit:other"
    while frame is not None:
        code = frame.f_code
        if code.co_name in _CONTENDER_FUNCTIONS or _is_ctxmgr_code(code.co_filename):
            return "contender"
        if seen == "livekit:other" and code.co_name in _APP_FUNCTIONS:
            seen = "app"
        elif seen == "livekit:other" and code.co_name in _HANDOFF_FUNCTIONS:
            seen = "livekit:handoff"
        elif seen == "livekit:other" and code.co_name in _GENERATION_FUNCTIONS:
            seen = "livekit:interruption"
        frame = frame.f_back
    return seen


def _in_app_update(frame: types.FrameType | None) -> bool:
    """The application's update is on the call stack, or ctxmgr's later retry of the
    removals it deferred (its own task)."""
    task = asyncio.current_task()
    if task is not None and task.get_name() == "ctxmgr.deferred_removals":
        return True
    while frame is not None:
        if frame.f_code.co_name in _APP_FUNCTIONS:
            return True
        frame = frame.f_back
    return False


@dataclass
class ChangeLog:
    """The creates and deletes of one schedule, by item id, with who asked for each."""

    delete_senders: dict[str, list[Culprit]] = field(default_factory=dict)
    """Who sent each delete of an id, in order."""
    before_update: list[Callable[[], None]] = field(default_factory=list)
    """Called as an update is about to replace an agent's context (the ledger's hook)."""
    created_by: dict[str, list[Culprit]] = field(default_factory=dict)
    """Who sent each create of an id, in order (the first one is the one that lands)."""
    app_deleted: set[str] = field(default_factory=set)
    """Ids whose delete was sent with the application's own update on the call stack
    (through a contender that guards updates, or straight through livekit)."""
    first_sent: dict[tuple[str, str], int] = field(default_factory=dict)
    """When the first ``("create", id)`` and the first ``("app_delete", id)`` were sent:
    their place among the client events the plugin sent."""
    deleted_in_generation: list[str] = field(default_factory=list)
    """Ids the contender deleted while the plugin had a response in progress (created,
    or asked for, and not done) or livekit was running a tool: DESIGN.md invariant 5
    forbids it."""
    activities: dict[int, Any] = field(default_factory=dict)
    """livekit's ``AgentActivity`` of each realtime session (by ``id``), seen in updates."""
    _sent: int = 0
    """Client events sent so far (the clock of ``first_sent``)."""

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Log the changes sent from this context (and the tasks it starts)."""
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)

    def record(self, event: Any, session: Any = None) -> None:
        """Called with each client event the plugin sends, and the plugin's session."""
        as_dict = event if isinstance(event, dict) else None
        type_ = as_dict.get("type") if as_dict is not None else getattr(event, "type", None)
        if type_ == "conversation.item.delete":
            item_id = as_dict.get("item_id") if as_dict is not None else event.item_id
            if item_id:
                culprit = _culprit(sys._getframe(2))
                self.delete_senders.setdefault(item_id, []).append(culprit)
                if _in_app_update(sys._getframe(2)):
                    self.app_deleted.add(item_id)
                    self._note_sent("app_delete", item_id)
                if culprit == "contender" and self._busy(session):
                    self.deleted_in_generation.append(item_id)
        elif type_ == "conversation.item.create":
            item = as_dict.get("item") if as_dict is not None else event.item
            item_id = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
            if item_id:
                self.created_by.setdefault(item_id, []).append(_culprit(sys._getframe(2)))
                self._note_sent("create", item_id)
        self._sent += 1

    def _note_sent(self, kind: str, item_id: str) -> None:
        self.first_sent.setdefault((kind, item_id), self._sent)

    @property
    def deleted_by(self) -> dict[str, Culprit]:
        """Who sent the first delete of each id."""
        return {item_id: senders[0] for item_id, senders in self.delete_senders.items()}

    def culprit_of(self, item_id: str, nth: int) -> Culprit | None:
        """Who sent the ``nth`` delete of ``item_id`` (0: the first), if it was sent."""
        senders = self.delete_senders.get(item_id, [])
        return senders[nth] if nth < len(senders) else None

    def _busy(self, session: Any) -> bool:
        """A response in progress on the plugin, or a tool running for its agent."""
        activity = self.activities.get(id(session))
        return bool(getattr(session, "has_active_generation", False)) or bool(
            getattr(activity, "_background_speeches", None)
        )

    def livekit_caused(
        self,
        violation: Violation,
        emulator: RealtimeServerEmulator,
        folded_ids: set[str],
        placed_by: dict[str, int] | None = None,
    ) -> LivekitPath | None:
        """The livekit path that explains ``violation``; None when the violation counts.

        ``placed_by``: which create of an id put it on the server (``Ledger.placed_by``).
        """
        if violation.kind == "order_changed":
            item_id = violation.item_ids[0]
            return self._placed_by_livekit(item_id, emulator, (placed_by or {}).get(item_id, 0))
        if violation.kind == "mirror_diverged" and violation.message.startswith("mirror content"):
            writers = self.created_by.get(violation.item_ids[0], [])
            return None if "contender" in writers else "livekit:mirror"
        deleted = self._deleted_item_behind(violation, emulator)
        if deleted is None or deleted in folded_ids:
            return None
        culprit = self.culprit_of(deleted, 0)
        if culprit in ("livekit:handoff", "livekit:interruption", "app"):
            return culprit  # type: ignore[return-value]
        return None

    def _placed_by_livekit(
        self, item_id: str, emulator: RealtimeServerEmulator, ordinal: int
    ) -> LivekitPath | None:
        """livekit's create (the ``ordinal``-th of the id) placed the item after one the
        contender never wrote: its own placement (a typed turn sent after the last local
        item while the server had more); or the contender sent the item again, refused the
        first time, with the anchor livekit's first create gave it. A later create of the
        id, rejected, is not judged."""
        creators = self.created_by.get(item_id, [])
        if len(creators) <= ordinal:
            return None
        if creators[ordinal] == "app":
            return "app"
        creates = [
            e
            for e in emulator.client_events
            if e.get("type") == "conversation.item.create" and e["item"].get("id") == item_id
        ]
        create = creates[ordinal] if len(creates) > ordinal else None
        anchor = create.get("previous_item_id") if create is not None else None
        if creators[ordinal] == "contender":
            # the contender sent again a turn livekit's first create had put there (the
            # server refused it): livekit's placement, restored as it was (seed 842)
            first = creates[0].get("previous_item_id") if creates else None
            if creators[0] == "contender" or first != anchor:
                return None
        if anchor is None or "contender" in self.created_by.get(anchor, []):
            return None
        return "livekit:placement"

    def _deleted_item_behind(
        self, violation: Violation, emulator: RealtimeServerEmulator
    ) -> str | None:
        ids = violation.item_ids
        if violation.kind in ("forbidden_delete", "summary_missing", "pair_split"):
            return next((i for i in ids if i in self.delete_senders), None)
        if violation.kind == "orphaned_previous_item_id" and len(ids) > 1:
            return ids[1]
        if violation.kind == "orphaned_function_call_output" and ids:
            return _call_item_id(emulator, ids[0])
        if violation.kind == "item_lost" and ids:
            if ids[0] in self.delete_senders:
                return ids[0]
            # it never reached the server: rejected because the item it was to follow was
            # deleted, whether a response chained it or the client created it after that item
            for server in emulator.server_sessions:
                for response in server.responses:
                    if ids[0] in response.item_ids:
                        return response.anchor
            for event in emulator.client_events:
                if (
                    event.get("type") == "conversation.item.create"
                    and event["item"].get("id") == ids[0]
                    and event.get("previous_item_id") in self.delete_senders
                ):
                    return str(event["previous_item_id"])
        return None


def _call_item_id(emulator: RealtimeServerEmulator, output_id: str) -> str | None:
    call_id = next((i.call_id for i in emulator.conversation if i.id == output_id), None)
    for event in emulator.server_events:
        item = event.get("item")
        if (
            event.get("type") == "conversation.item.added"
            and isinstance(item, dict)
            and item.get("type") == "function_call"
            and item.get("call_id") == call_id
        ):
            return str(item["id"])
    return None


def asyncio_with_short_update_wait(seconds: float) -> types.ModuleType:
    """An ``asyncio`` for the plugin's module whose ``wait_for`` turns the 5 s wait
    inside ``RealtimeSession.update_chat_ctx`` (and only there) into ``seconds``, so a
    dropped acknowledgement times out sooner; the logic is untouched."""
    from livekit.agents.llm._realtime import openai as realtime_engine

    target = realtime_engine.RealtimeSession.update_chat_ctx.__code__
    real_wait_for = asyncio.wait_for

    def wait_for(awaitable: Awaitable[Any], timeout: float | None) -> Awaitable[Any]:
        if timeout == 5.0 and sys._getframe(1).f_code is target:
            timeout = seconds
        return real_wait_for(awaitable, timeout)

    patched = types.ModuleType("asyncio")
    patched.__dict__.update(vars(asyncio))
    patched.wait_for = wait_for  # type: ignore[attr-defined]
    return patched


@contextlib.contextmanager
def shortened_update_wait(seconds: float) -> Iterator[None]:
    """Shorten the plugin's 5 s acknowledgement wait to ``seconds`` while inside."""
    from livekit.agents.llm._realtime import openai as realtime_engine

    original = realtime_engine.asyncio
    realtime_engine.asyncio = asyncio_with_short_update_wait(seconds)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        realtime_engine.asyncio = original  # type: ignore[attr-defined]


@contextlib.contextmanager
def instrument_plugin(update_wait_s: float) -> Iterator[None]:
    """Shorten the plugin's acknowledgement wait and log its deletes; restore both on exit."""
    from livekit.agents.llm._realtime import openai as realtime_engine
    from livekit.agents.voice.agent_activity import AgentActivity

    cls = realtime_engine.RealtimeSession
    original = cls.send_event
    original_update = AgentActivity.update_chat_ctx

    def send_event(self: Any, event: Any) -> None:
        if (log := _current.get()) is not None:
            log.record(event, self)
        original(self, event)

    async def update_chat_ctx(self: Any, chat_ctx: Any, **kwargs: Any) -> None:
        if (log := _current.get()) is not None:
            log.activities[id(self.realtime_llm_session)] = self
            for hook in log.before_update:
                hook()
        await original_update(self, chat_ctx, **kwargs)

    cls.send_event = send_event  # type: ignore[method-assign]
    AgentActivity.update_chat_ctx = update_chat_ctx  # type: ignore[method-assign]
    try:
        with shortened_update_wait(update_wait_s):
            yield
    finally:
        cls.send_event = original  # type: ignore[method-assign]
        AgentActivity.update_chat_ctx = original_update  # type: ignore[method-assign]
