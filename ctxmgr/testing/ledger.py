"""The ledger: every item ever seen, accounted for, judged from the server's side only.

A :class:`Ledger` watches an emulator (``emulator.observers``) and, at every
client event the server applies, reads the server's conversation, the
plugin's mirror and the agent's context. It never asks ctxmgr what it did; it
knows only what the harness itself owns: the texts its summarizer LLM
returned (``summaries``) and the items an applied compaction names
(``named``, from the public ``compaction_applied`` event, or the naive
summarizer's own list).

What it finds (as :class:`~ctxmgr.testing.checker.Violation`):

- ``item_lost``: an item left the server other than through a delete an
  applied compaction names, with its text in a summary that was on the server
  before that delete (or a trim that names it); whichever copy still holds it.
  Also a message the server ends with a strict prefix of a text it held before (a
  copy taken mid-reply, or before a transcript, written back over the full one).
- ``forbidden_delete``: the reference guard, written from DESIGN.md's
  invariants (not from ``ctxmgr.guard``), forbids a delete the client sent: the
  tail window, an item in flight (still generating, not yet acknowledged,
  remote-only or a placeholder, or after the oldest such item), instructions.
- ``pair_split``: a function call left the server without its output, or the
  other way round.
- ``summary_missing``: a folded item left the server while no summary holding
  it was there (a transient state: deleted before the summary was in).
- ``unarchived``: an item an applied compaction names left the server before the
  contender's archive (the harness's own) had received it: a failed archive write
  must stop the delete (the archive is where a folded item's words stay findable).
- ``misreported``: an applied compaction said it removed an item that the
  server still holds and never saw a delete of, or said it inserted a summary
  the server never held (DESIGN.md invariant 8: nothing misreported).
- ``order_changed``: the client placed a user message out of the order in
  which user messages were first seen (a new one before an earlier one, or one
  restored after a later one); only deletions and a summary's insertion may
  change what sits where; what the server generates goes after its response's
  anchor, not judged.

Each finding carries content fingerprints, so the per-seed control (the same
seed with nobody compacting) can be compared item by item although ids differ.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm

from .. import remote
from ._emulator_conversation import ServerItem
from ._emulator_session import EmulatedSession
from .checker import Fingerprint, Violation, ViolationKind, fingerprint
from .emulator import RealtimeServerEmulator

__all__ = ["Ledger"]

LocalState = Callable[[], tuple[llm.ChatContext | None, llm.ChatContext | None]]
"""Returns ``(plugin mirror, agent context)`` as they are right now."""

_INSTRUCTION_IDS = frozenset({"lk.agent_task.instructions", "lk.agent_task.instructions.dynamic"})


def _said(item: ServerItem) -> list[str]:
    """The texts a summary must hold for ``item`` to be represented in it."""
    if item.type == "message":
        return [item.text] if item.text else []
    if item.type == "function_call":
        return [item.call_id or "", item.arguments or ""]
    return [item.call_id or "", item.output or ""]


@dataclass
class _Delete:
    item: ServerItem
    at_event: int
    on_server_before: frozenset[str]
    session: int
    culprit: str | None = None
    unreconciled: tuple[str, ...] = ()
    """Items on the server, in the plugin's mirror, missing locally or placeholders there."""
    server_order: tuple[str, ...] = ()
    archived: bool | None = None
    """Whether the contender's archive had received the item then (``None``: no archive)."""


@dataclass
class Ledger:
    """Watches one emulator; :meth:`findings` judges what it saw.

    Args:
        emulator: The emulator to watch (the ledger adds itself to its observers).
        state: Returns the plugin's mirror and the agent's context right now.
        keep_last_turns: The tail window the compaction must leave alone (user turns).
        summaries: The texts the harness's summarizer returned (or wrote), so far.
        named: Ids an applied compaction removed on purpose, and whether it summarized
            them (``True``) or trimmed them (``False``).
        reported: What the applied compactions said they did: the ids they removed and
            the summary ids they inserted.
        culprit_of: Who sent the ``n``-th delete of an item (``(item_id, n)``), when the
            harness knows; a forbidden delete carries it.
        archived: Ids the contender's archive (the harness's own) has received so far;
            ``None`` when the contender keeps no archive.
        forgotten: Ids the application removed on purpose (an update without them): they
            may leave the server into no summary.
    """

    emulator: RealtimeServerEmulator
    state: LocalState
    keep_last_turns: int
    summaries: Callable[[], Sequence[str]]
    named: Callable[[], dict[str, bool]]
    reported: Callable[[], tuple[frozenset[str], frozenset[str]]] = lambda: (
        frozenset(),
        frozenset(),
    )
    culprit_of: Callable[[str, int], str | None] = lambda item_id, n: None
    archived: Callable[[], Collection[str]] | None = None
    forgotten: Callable[[], Collection[str]] = lambda: ()
    seen: dict[str, ServerItem] = field(default_factory=dict)
    deletes: list[_Delete] = field(default_factory=list)
    placed_by: dict[str, int] = field(default_factory=dict)
    """For each item a client create put on the server: which create of its id did
    (0: the first one sent; a create of an id already there is rejected)."""
    _creates: dict[str, int] = field(default_factory=dict)
    _before_updates: list[tuple[int, frozenset[str]]] = field(default_factory=list)
    _found: list[Violation] = field(default_factory=list)
    _events: int = 0
    _delete_sends: dict[str, int] = field(default_factory=dict)
    _refused_first: set[str] = field(default_factory=set)
    """Items whose first create the server refused (placed, if ever, by a later one)."""
    _first_seen: dict[str, int] = field(default_factory=dict)
    """When each item was first seen: on the server, or in a client create (even a refused one)."""
    _known_at_first_create: dict[str, frozenset[str]] = field(default_factory=dict)
    """For an item first seen in a client create: the ids the plugin's mirror held then."""
    _fullest: dict[str, ServerItem] = field(default_factory=dict)
    """Each message's version with the longest text the server held."""
    exercised: set[str] = field(default_factory=set)
    """What the race put in a compaction's way at some delete: ``in_flight``,
    ``pending_ack``, ``remote_only``, ``placeholder``, ``streaming``."""

    def __post_init__(self) -> None:
        self.emulator.observers.append(self._on_client_event)

    # --- watching -------------------------------------------------------------

    def _on_client_event(
        self, session: EmulatedSession, event: dict[str, Any], before: tuple[ServerItem, ...]
    ) -> None:
        self._events += 1
        for item in before:
            self.seen[item.id] = item
            self._first_seen.setdefault(item.id, len(self._first_seen))
        if event.get("type") == "conversation.item.create" and (event.get("item") or {}).get("id"):
            item_id = event["item"]["id"]
            if item_id not in self._first_seen:
                self._first_seen[item_id] = len(self._first_seen)
                mirror, _ = self.state()
                self._known_at_first_create[item_id] = frozenset(
                    i.id for i in (mirror.items if mirror is not None else ())
                )
        after = session.conversation.snapshot()
        if event.get("type") == "conversation.item.delete":
            item_id = event["item_id"]
            nth = self._delete_sends.get(item_id, 0)
            self._delete_sends[item_id] = nth + 1
            if all(i.id != item_id for i in after):  # not a refused one
                self._on_delete(session, item_id, before, self.culprit_of(item_id, nth))
        for item in after:
            self.seen.setdefault(item.id, item)
            self._first_seen.setdefault(item.id, len(self._first_seen))
        for item in (*before, *after):
            fullest = self._fullest.get(item.id)
            if fullest is None or len(item.text) > len(fullest.text):
                self._fullest[item.id] = item
        if event.get("type") == "conversation.item.create" and self._placed(event, before, after):
            self._check_order(event, after)

    def before_update(self) -> None:
        """Call right before an update replaces the agent's context (the race hooks it).

        Deletes reach the server after the agent's context already lost the items
        they remove, so only now can the ledger see which of them were still in flight.
        """
        mirror, local = self.state()
        if mirror is None or local is None:
            return
        unreconciled = frozenset(self._unreconciled(mirror, {i.id: i for i in local.items}))
        self._before_updates.append((self._events, unreconciled))

    def _unreconciled(
        self, mirror: llm.ChatContext, local_items: dict[str, llm.ChatItem]
    ) -> list[str]:
        """Mirror ids, in order, missing locally or held there as a placeholder with no text.

        An item the server refused to delete is gone locally by the client's own will, not
        in flight: sending its delete again is not deleting a remote-only item.
        """
        refused = set(self.emulator.refused)
        given_up = _given_up(mirror, local_items)
        return [
            i.id
            for i in mirror.items
            if (
                i.id not in local_items
                or (_is_placeholder(local_items[i.id]) and i.id not in given_up)
            )
            and i.id not in refused
        ]

    def _placed(
        self, event: dict[str, Any], before: tuple[ServerItem, ...], after: tuple[ServerItem, ...]
    ) -> bool:
        """Count a create of its id; True when this one put the item on the server."""
        item_id = (event.get("item") or {}).get("id")
        if not item_id:
            return False
        ordinal = self._creates.get(item_id, 0)
        self._creates[item_id] = ordinal + 1
        if any(i.id == item_id for i in before):
            return False  # already there: a rejected duplicate
        if all(i.id != item_id for i in after):
            if ordinal == 0:
                self._refused_first.add(item_id)
            return False  # refused
        self.placed_by[item_id] = ordinal
        return True

    def _on_delete(
        self,
        session: EmulatedSession,
        item_id: str,
        before: tuple[ServerItem, ...],
        culprit: str | None,
    ) -> None:
        item = next((i for i in before if i.id == item_id), None)
        if item is None:
            return  # the server refused it: nothing left
        index = self.emulator.server_sessions.index(session)
        archived = None if self.archived is None else item.id in self.archived()
        self.deletes.append(
            _Delete(
                item, self._events, frozenset(i.id for i in before), index, culprit,
                archived=archived,
            )
        )
        reasons = self._forbidding(session, item, before)
        if reasons:
            self._add(
                "forbidden_delete",
                f"the client deleted {item.type} {item.id} ({', '.join(reasons)})",
                [item],
                culprit=culprit,
            )

    def _forbidding(
        self, session: EmulatedSession, item: ServerItem, before: tuple[ServerItem, ...]
    ) -> list[str]:
        """Why the reference guard forbids deleting ``item`` now; empty when it may go."""
        mirror, local = self.state()
        mirror_ids = [i.id for i in mirror.items] if mirror is not None else []
        local_items = {i.id: i for i in local.items} if local is not None else {}
        reasons: list[str] = []
        if item.id in _INSTRUCTION_IDS or (
            item.type == "message" and item.role in ("system", "developer")
            and not self._is_summary(item)
        ):
            reasons.append("instructions")
        server_ids = [i.id for i in before]
        if item.id in _tail(before, self.keep_last_turns):
            reasons.append("tail window on the server")
        if local is not None and item.id in _tail_local(local, self.keep_last_turns):
            reasons.append("tail window in the agent's context")
        generating = any(
            item.id in r.item_ids and not r.done.is_set() for r in session.responses
        )
        if item.status == "in_progress" or generating:
            reasons.append("still generating")
        if streaming := [i for i in before if i.status == "in_progress"]:
            self.exercised.add("streaming")
            if server_ids.index(item.id) > server_ids.index(streaming[0].id):
                reasons.append("after a reply still streaming")
        if mirror is not None and item.id not in mirror_ids:
            reasons.append("not acknowledged to the plugin")
        if mirror is not None and local is not None:
            unreconciled = self._unreconciled(mirror, local_items)
            by_id = {i.id: i for i in before}
            on_server = [
                i for i in unreconciled if i in by_id and not self._is_summary(by_id[i])
            ]
            if on_server:
                self.exercised.add("remote_only")
                if any(_calls_in_flight(before, local_items, i) for i in on_server):
                    self.exercised.add("in_flight")
            # judged at the end: the update's own deletes are not remote-only, they are gone
            # locally because the update removes them (see _judge_remote_only)
            self.deletes[-1].unreconciled = tuple(on_server)
            self.deletes[-1].server_order = tuple(server_ids)
            if any(_is_placeholder(local_items[i]) for i in mirror_ids if i in local_items):
                self.exercised.add("placeholder")
        if self.emulator.dropped_acks or any(
            i.id not in mirror_ids for i in before if mirror is not None
        ):
            self.exercised.add("pending_ack")
        if item.type == "function_call" and not any(
            s.type == "function_call_output" and s.call_id == item.call_id
            for s in self.seen.values()
        ):
            reasons.append("a call without its output yet")
        return reasons

    def _judge_remote_only(self) -> None:
        """A delete at or after the oldest remote-only item or placeholder is forbidden.

        The deletes one update sends arrive back to back (a burst); an item the
        burst deletes is missing locally because the update removes it, so it
        does not count as remote-only for that burst. A new update begins a new
        burst, even when no other event came between the two (seed 163: a trim,
        then, once the race settled, the next compaction's trim).
        """
        starts = [at for at, _ in self._before_updates]
        bursts: list[list[_Delete]] = []
        for d in self.deletes:
            previous = bursts[-1][-1].at_event if bursts else None
            if (
                previous is not None
                and previous == d.at_event - 1
                and not any(previous <= at < d.at_event for at in starts)
            ):
                bursts[-1].append(d)
            else:
                bursts.append([d])
        for burst in bursts:
            going = {d.item.id for d in burst}
            # what was in flight when the update began, its own deletes included
            before = next(
                (ids for at, ids in reversed(self._before_updates) if at < burst[0].at_event),
                frozenset(),
            )
            for d in burst:
                protected = [i for i in d.unreconciled if i not in going]
                protected += [
                    i for i in before if i in d.server_order and not self._is_summary_id(i)
                ]
                if not protected:
                    continue
                oldest = min(d.server_order.index(i) for i in protected)
                if d.server_order.index(d.item.id) >= oldest:
                    self._add(
                        "forbidden_delete",
                        f"the client deleted {d.item.type} {d.item.id} (at or after"
                        f" {d.server_order[oldest]}, remote-only or a placeholder)",
                        [d.item],
                        culprit=d.culprit,
                    )

    def _check_order(self, event: dict[str, Any], after: tuple[ServerItem, ...]) -> None:
        """A user message the client creates sits where it was first seen among user
        messages (on the server, or in the client's first create of it, refused or not).

        A new message goes after every earlier one. A message created again (livekit
        deleted it, and a later update restored it from the agent's context) goes back
        between the ones that came before and after it. The server places what it
        generates after its response's anchor, and the client may insert a summary
        anywhere: neither is judged. Called only for the create that placed the item: a
        later create of the same id is rejected.
        """
        created = event["item"]
        if created.get("role") != "user":
            return
        users = [
            i for i in after if i.type == "message" and i.role == "user" and not self._is_summary(i)
        ]
        index = next((n for n, i in enumerate(users) if i.id == created["id"]), None)
        if index is None:
            return  # a summary
        # a turn the server refused at first was typed before what arrived meanwhile
        first_seen = self._first_seen
        new = users[index]
        # the client orders what it knows: an earlier message whose announcement had not
        # reached the plugin when the new one was first sent is not judged (seed 842: under
        # load the server had a spoken turn the client had not heard of yet)
        known = self._known_at_first_create.get(new.id)
        later = [
            i
            for i in users[index + 1 :]
            if first_seen[i.id] < first_seen[new.id] and (known is None or i.id in known)
        ]
        if later:
            self._add(
                "order_changed",
                f"the client created user message {new.id} before the earlier {later[0].id}",
                [new, later[0]],
            )
        # one the server refused at first may also go where it finally arrives
        earlier = [
            i
            for i in users[:index]
            if first_seen[i.id] > first_seen[new.id] and new.id not in self._refused_first
        ]
        if earlier:
            self._add(
                "order_changed",
                f"the client created user message {new.id} again after the later {earlier[-1].id}",
                [new, earlier[-1]],
            )

    # --- judging --------------------------------------------------------------

    def _is_summary_id(self, item_id: str) -> bool:
        item = self.seen.get(item_id)
        return item is not None and self._is_summary(item)

    def _is_summary(self, item: ServerItem) -> bool:
        body = _plain(item.text)
        return item.type == "message" and any(
            t and t in body for t in (_plain(s) for s in self.summaries())
        )

    def folded(self, item_id: str) -> bool:
        """True when the server deleted ``item_id`` while a summary holding its words was
        already there (the last delete of it, when it came back in between)."""
        d = next((d for d in reversed(self.deletes) if d.item.id == item_id), None)
        return d is not None and self._represented(d.item, d.on_server_before)

    def _represented(self, item: ServerItem, summary_ids: Collection[str]) -> bool:
        said = [s for s in _said(item) if s]
        for sid in summary_ids:
            summary = self.seen.get(sid)
            if summary is None or not self._is_summary(summary):
                continue
            body = _plain(summary.text)
            if all(_plain(s) in body for s in said):
                return True
        return False

    def _add(
        self,
        kind: ViolationKind,
        message: str,
        items: Sequence[ServerItem],
        *,
        culprit: str | None = None,
    ) -> None:
        finding = Violation(
            kind,
            message,
            tuple(i.id for i in items),
            frozenset(fingerprint(i) for i in items),
            culprit,
        )
        if (finding.key, culprit) not in {(f.key, f.culprit) for f in self._found}:
            self._found.append(finding)

    def _interrupted_replies(self) -> dict[str, str]:
        """The agent's interrupted replies and the text livekit kept of each (what was
        played out): any update writes that text back, livekit's own sync included."""
        _, local = self.state()
        return {
            item.id: item.text_content or ""
            for item in (local.items if local is not None else ())
            if isinstance(item, llm.ChatMessage) and item.role == "assistant" and item.interrupted
        }

    def findings(self) -> list[Violation]:
        """Everything found so far, plus the end-of-run accounting of every item seen."""
        final_session = self.emulator.server_sessions[-1] if self.emulator.server_sessions else None
        final = final_session.conversation.snapshot() if final_session is not None else ()
        for item in final:
            self.seen.setdefault(item.id, item)
        self._judge_remote_only()
        on_server = {i.id for i in final}
        named = self.named()
        forgotten = set(self.forgotten())
        # the last delete is the one it left by: after an earlier one it came back (an
        # update deletes and re-creates an item whose content it changes)
        deleted = {d.item.id: d for d in self.deletes}
        heard = self._interrupted_replies()
        for item in final:
            fullest = self._fullest.get(item.id, item)
            if heard.get(item.id) == item.text:
                continue  # livekit cut the agent's own reply to what was played out
            if len(item.text) < len(fullest.text) and fullest.text.startswith(item.text):
                self._add(
                    "item_lost",
                    f"{item.type} {item.id} was written back as an earlier, partial copy"
                    f" ({len(item.text)} of {len(fullest.text)} characters)",
                    [fullest],
                )
        for item_id, item in self.seen.items():
            if item_id in on_server:
                continue
            d = deleted.get(item_id)
            if d is None:
                self._add("item_lost", f"{item.type} {item_id} left with an old connection", [item])
                continue
            item = d.item  # as it was when deleted
            if item_id in named and d.archived is False:
                self._add(
                    "unarchived",
                    f"{item.type} {item_id} was removed before the archive had it",
                    [item],
                )
            if self._represented(item, d.on_server_before):
                continue  # folded: its words were on the server, in a summary, before it went
            if named.get(item_id) is False:
                continue  # trimmed: an applied compaction dropped it on purpose, by name
            if item_id in forgotten:
                continue  # the application removed it on purpose
            holder = self._represented(item, self.seen)
            self._add(
                "summary_missing" if holder else "item_lost",
                f"{item.type} {item_id} was deleted "
                + ("before its summary was on the server" if holder else "into no summary"),
                [item],
            )
        self._judge_reports(on_server, set(deleted))
        calls = {i.call_id: i for i in self.seen.values() if i.type == "function_call"}
        outputs = {i.call_id: i for i in self.seen.values() if i.type == "function_call_output"}
        for call_id, call in calls.items():
            output = outputs.get(call_id)
            if output is not None and (call.id in on_server) != (output.id in on_server):
                gone = call if call.id not in on_server else output
                self._add(
                    "pair_split",
                    f"{gone.type} {gone.id} left the server without its other half",
                    [call, output],
                )
        return list(self._found)


    def _judge_reports(self, on_server: set[str], deleted: set[str]) -> None:
        """An applied compaction's report must match the server: what it says it removed
        was deleted there, what it says it inserted was there."""
        removed, summaries = self.reported()
        for item_id in sorted(removed & on_server - deleted):
            item = self.seen[item_id]
            self._add(
                "misreported",
                f"{item.type} {item_id} was reported removed; the server never deleted it",
                [item],
            )
        for summary_id in sorted(summaries - set(self.seen)):
            self._found.append(
                Violation(
                    "misreported",
                    f"summary {summary_id} was reported inserted; the server never held it",
                    (summary_id,),
                    frozenset({("summary", summary_id)}),
                )
            )


def _plain(text: str) -> str:
    """Text with XML escapes undone (however many times) and whitespace stripped."""
    while (plain := html.unescape(text)) != text:
        text = plain
    return text.strip()


def _tail(items: Sequence[ServerItem], keep_last_turns: int) -> set[str]:
    users = [n for n, i in enumerate(items) if i.type == "message" and i.role == "user"]
    if keep_last_turns <= 0:
        return set()
    start = users[-keep_last_turns] if len(users) >= keep_last_turns else 0
    return {i.id for i in items[start:]}


def _tail_local(chat_ctx: llm.ChatContext, keep_last_turns: int) -> set[str]:
    items = chat_ctx.items
    users = [
        n
        for n, i in enumerate(items)
        if isinstance(i, llm.ChatMessage) and i.role == "user" and not i.extra.get("is_summary")
    ]
    if keep_last_turns <= 0:
        return set()
    start = users[-keep_last_turns] if len(users) >= keep_last_turns else 0
    return {i.id for i in items[start:]}


def _is_placeholder(item: llm.ChatItem) -> bool:
    return isinstance(item, llm.ChatMessage) and not item.text_content


def _given_up(mirror: llm.ChatContext, local: dict[str, llm.ChatItem]) -> set[str]:
    """Textless messages the conversation went a turn past, long ago: a user message the
    server holds after one has its text in the agent's context, and the mirror has held
    it for ``PLACEHOLDER_GIVE_UP_S``. Its text is not coming (transcription failed, a
    reply cut off before its first word): it is no longer in flight."""
    old = time.time() - remote.PLACEHOLDER_GIVE_UP_S  # read now: a test may change it
    given_up: set[str] = set()
    answered = False
    for item in reversed(mirror.items):
        held = local.get(item.id)
        if held is not None and _is_placeholder(held) and answered and item.created_at <= old:
            given_up.add(item.id)
        if isinstance(held, llm.ChatMessage) and held.role == "user" and held.text_content:
            answered = True
    return given_up


def _calls_in_flight(
    server: Sequence[ServerItem], local: dict[str, llm.ChatItem], item_id: str
) -> bool:
    item = next((i for i in server if i.id == item_id), None)
    return item is not None and item.type == "function_call" and item_id not in local
