"""A tally: what each item of one list costs and is, in order, as tuples of plain values.

``TokenCounter.tally`` makes one from its per-item cache. The policy and the guard
read its tuples instead of the items: reading a field of a livekit item costs about
50 ns (pydantic), so a plan over ten thousand items that asked each item what it is
would spend milliseconds on it. A tally learns what an item is once, when the counter
first sees the object (its type, role, ids and ``extra``: livekit sets them when it
makes an item, and replaces an item rather than change them); its content, which
livekit fills in place, is compared again on each tally, at C speed.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, chain, compress, islice, repeat
from operator import add, and_, attrgetter, is_, is_not, itemgetter, ne, not_, sub
from typing import Any, Final

from livekit.agents import llm

from .chat_items import CALL, INSTRUCTION, MESSAGE, OUTPUT, RUNNING, STRUCTURAL, SUMMARY, kind_of

__all__ = ["Entry", "Tally", "content_key", "entry", "holds"]


Entry = tuple[int, int, int, int, "tuple[str, str | None] | None"]
"""What the counter keeps of one item: ``(id(item), content_key(item), tokens, kind,
(call_id, group_id) or None)``. Plain values, no reference to the item: the garbage
collector leaves tuples of plain values alone, and a worker holds thousands of them."""

# where each fact sits in an ``Entry``
OBJECT: Final = 0
KEY: Final = 1
TOKENS: Final = 2
KIND: Final = 3
CALL_IDS: Final = 4


def entry(item: llm.ChatItem, key: int, tokens: int) -> Entry:
    """The entry of ``item``, whose content key is ``key`` and count ``tokens``."""
    call: tuple[str, str | None] | None = None
    if isinstance(item, llm.FunctionCall):
        call = (item.call_id, item.group_id)
    elif isinstance(item, llm.FunctionCallOutput):
        call = (item.call_id, None)
    return (id(item), key, tokens, kind_of(item), call)


def content_key(item: llm.ChatItem) -> int:
    """A hash of what an item's count depends on: a message's role and parts (a part that
    is not text by identity), a call's or output's name and text."""
    if isinstance(item, llm.ChatMessage):
        content = item.content
        if len(content) == 1 and isinstance(content[0], str):
            return hash((item.role, content[0]))
        return hash((item.role, *(p if isinstance(p, str) else id(p) for p in content)))
    if isinstance(item, llm.FunctionCall):
        return hash((item.name, item.arguments))
    if isinstance(item, llm.FunctionCallOutput):
        return hash((item.name, item.output))
    return hash(item.type)


def holds(known: Entry, item: llm.ChatItem) -> bool:
    """``known`` is still true of ``item``: the same object, its content unchanged since.

    An object is known by its id(), which a new object may take once the old one is
    gone: one that also has the old one's item id and content costs what it did, and
    is what it was (livekit's copies of an item share its every field)."""
    return known[OBJECT] == id(item) and known[KEY] == content_key(item)


@dataclass(frozen=True, eq=False)
class Tally:
    """Per-item counts and facts of one list of items, index for index. Never mutated."""

    items: tuple[llm.ChatItem, ...]
    """The objects tallied."""
    ids: tuple[str, ...]
    counts: tuple[int, ...]
    """Tokens of each item (no reply priming)."""
    kinds: tuple[int, ...]
    """``chat_items.kind_of`` of each item."""
    pairs: tuple[int, ...]
    """Indices of the calls and outputs, in order."""
    marked: tuple[int, ...]
    """Indices of the instructions, bookkeeping and summaries, in order: the items a
    policy rule may keep (few, so the rules are checked on them alone)."""
    calls: tuple[tuple[str, str | None], ...]
    """``(call_id, group_id)`` of each of ``pairs`` (an output's group is ``None``)."""
    messages: tuple[int, ...]
    """Indices of the chat messages, in order."""
    sizes: tuple[int, ...]
    """How many parts each message's content had when it was counted."""
    parts: tuple[Any, ...]
    """Those parts, message after message (copies in tuples: livekit fills a message's
    list in place, and a tuple of text holds nothing the garbage collector visits)."""
    others: tuple[int, ...]
    """Indices of the other items, in order."""
    fields: tuple[str, ...]
    """The attribute that holds each other item's content (a call's arguments...)."""
    values: tuple[str, ...]
    """That content when it was counted."""

    @classmethod
    def of(cls, items: Sequence[llm.ChatItem], entries: Sequence[Entry]) -> Tally:
        """The tally of ``items``, whose entries are ``entries``."""
        calls = tuple(map(_CALL, entries))
        kinds = tuple(map(_KIND, entries))
        everywhere = range(len(entries))
        # the indices where a call is set, where a kind is marked... (at C speed)
        messages = tuple(compress(everywhere, map(and_, kinds, repeat(MESSAGE))))
        others = tuple(compress(everywhere, map(not_, map(and_, kinds, repeat(MESSAGE)))))
        contents = list(map(_CONTENT, map(items.__getitem__, messages)))
        other_items = [items[i] for i in others]
        fields = tuple(map(_content_field, other_items))
        return cls(
            items=tuple(items),
            ids=tuple(map(_ID, items)),
            counts=tuple(map(_TOKENS, entries)),
            kinds=kinds,
            pairs=tuple(compress(everywhere, calls)),
            marked=tuple(compress(everywhere, map(and_, kinds, repeat(_MARKED)))),
            calls=tuple(filter(None, calls)),
            messages=messages,
            sizes=tuple(map(len, contents)),
            parts=tuple(chain.from_iterable(contents)),
            others=others,
            fields=fields,
            values=tuple(map(getattr, other_items, fields)),
        )

    def unchanged(self, items: Sequence[llm.ChatItem]) -> bool:
        """Whether ``items`` starts with this tally's items, content unchanged (at C speed)."""
        if len(items) < len(self.items) or not all(map(is_, items, self.items)):
            return False
        at = items.__getitem__
        contents = list(map(_CONTENT, map(at, self.messages)))
        return (
            tuple(map(len, contents)) == self.sizes
            and tuple(chain.from_iterable(contents)) == self.parts
            and tuple(map(getattr, map(at, self.others), self.fields)) == self.values
        )

    def stale(self, items: Sequence[llm.ChatItem]) -> list[int]:
        """The indices, below the shorter length, where ``items`` holds another object than
        this tally's, or the same one with other content (at C speed)."""
        n = min(len(items), len(self.items))
        at = items.__getitem__
        messages = self.messages[: bisect_left(self.messages, n)]
        others = self.others[: bisect_left(self.others, n)]
        # another object there may have no such attribute: it is stale anyway
        now_contents = map(tuple, map(getattr, map(at, messages), repeat("content"), repeat(())))
        now_values = map(getattr, map(at, others), self.fields, repeat(None))
        return sorted(
            {
                *compress(range(n), map(is_not, items, self.items)),
                *compress(messages, map(ne, now_contents, self._contents())),
                *compress(others, map(ne, now_values, self.values)),
            }
        )

    def _contents(self) -> Iterator[tuple[Any, ...]]:
        """Each message's parts when it was counted, message after message."""
        parts = iter(self.parts)
        return map(tuple, map(islice, repeat(parts), self.sizes))

    def part(self, start: int, stop: int) -> Tally:
        """The tally of ``items[start:stop]``."""
        if start == 0 and stop >= len(self.items):
            return self

        def within(indices: tuple[int, ...]) -> slice:
            return slice(bisect_left(indices, start), bisect_left(indices, stop))

        def shifted(indices: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(map(sub, indices[within(indices)], repeat(start)))

        pairs, messages, others = within(self.pairs), within(self.messages), within(self.others)
        offsets = list(accumulate(self.sizes, initial=0))
        return Tally(
            items=self.items[start:stop],
            ids=self.ids[start:stop],
            counts=self.counts[start:stop],
            kinds=self.kinds[start:stop],
            pairs=shifted(self.pairs),
            marked=shifted(self.marked),
            calls=self.calls[pairs],
            messages=shifted(self.messages),
            sizes=self.sizes[messages],
            parts=self.parts[offsets[messages.start] : offsets[messages.stop]],
            others=shifted(self.others),
            fields=self.fields[others],
            values=self.values[others],
        )

    @classmethod
    def joined(cls, parts: Sequence[Tally]) -> Tally:
        """The tally of ``parts``' items one after the other."""
        parts = [part for part in parts if part.items]
        if len(parts) == 1:
            return parts[0]
        starts = list(accumulate((len(part.items) for part in parts), initial=0))

        def shifted(indices: Callable[[Tally], tuple[int, ...]]) -> tuple[int, ...]:
            return tuple(
                chain.from_iterable(
                    map(add, indices(part), repeat(start)) for part, start in zip(parts, starts)
                )
            )

        def chained(field: Callable[[Tally], tuple[Any, ...]]) -> tuple[Any, ...]:
            return tuple(chain.from_iterable(map(field, parts)))

        return cls(
            items=chained(_ITEMS),
            ids=chained(_IDS),
            counts=chained(_COUNTS),
            kinds=chained(_KINDS),
            pairs=shifted(_PAIRS),
            marked=shifted(_MARKED_AT),
            calls=chained(_CALLS),
            messages=shifted(_MESSAGES),
            sizes=chained(_SIZES),
            parts=chained(_PARTS),
            others=shifted(_OTHERS),
            fields=chained(_FIELDS),
            values=chained(_VALUES),
        )

    def scaled(self, factor: float) -> Tally:
        """This tally with every count multiplied by ``factor`` (rounded up)."""
        return replace(self, counts=tuple(math.ceil(c * factor) for c in self.counts))

    def oldest_in_progress(self) -> int | None:
        """``chat_items.oldest_in_progress_index`` of the items."""
        kinds = self.kinds
        pairs = tuple(zip(self.pairs, self.calls))
        answered = {call_id for i, (call_id, _) in pairs if kinds[i] & OUTPUT}
        for i, (call_id, _) in pairs:
            if kinds[i] & CALL and (kinds[i] & RUNNING or call_id not in answered):
                return i
        return None

    def members(self) -> dict[str, list[int]]:
        """The calls and outputs that go together (``chat_items.pair_key``; parallel calls
        sharing a ``group_id`` with their outputs): each unit's indices, in order, under
        the call id of one of its calls."""
        units: dict[str, list[int]] = {}
        for i, (call_id, _) in zip(self.pairs, self.calls):
            units.setdefault(call_id, []).append(i)
        # parallel calls sharing a group_id are one unit (union-find over call ids)
        parent: dict[str, str] = {}

        def find(call_id: str) -> str:
            while parent.setdefault(call_id, call_id) != call_id:
                parent[call_id] = parent[parent[call_id]]
                call_id = parent[call_id]
            return call_id

        groups: dict[str, str] = {}
        for call_id, group_id in self.calls:
            if group_id:
                a, b = find(call_id), find(groups.setdefault(group_id, call_id))
                if a != b:
                    parent[a] = b
        if not groups:
            return units
        joined: dict[str, list[int]] = {}
        for call_id, indices in units.items():
            joined.setdefault(find(call_id), []).extend(indices)
        return {unit: sorted(indices) for unit, indices in joined.items()}


def _content_field(item: llm.ChatItem) -> str:
    """The attribute that holds the content of an item other than a message."""
    if isinstance(item, llm.FunctionCall):
        return "arguments"
    if isinstance(item, llm.FunctionCallOutput):
        return "output"
    return "type"


_MARKED = INSTRUCTION | STRUCTURAL | SUMMARY
_ID = attrgetter("id")
_TOKENS = itemgetter(TOKENS)
_KIND = itemgetter(KIND)
_CALL = itemgetter(CALL_IDS)
# a tally's fields, to join tallies
_ITEMS = attrgetter("items")
_IDS = attrgetter("ids")
_COUNTS = attrgetter("counts")
_KINDS = attrgetter("kinds")
_PAIRS = attrgetter("pairs")
_MARKED_AT = attrgetter("marked")
_CALLS = attrgetter("calls")
_MESSAGES = attrgetter("messages")
_SIZES = attrgetter("sizes")
_PARTS = attrgetter("parts")
_OTHERS = attrgetter("others")
_FIELDS = attrgetter("fields")
_VALUES = attrgetter("values")
_CONTENT = attrgetter("content")
