"""The recall tool: the agent looks up what a compaction folded away, word for word.

Off by default (``recall = true`` in settings): it changes the agent's tools.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from livekit.agents import llm

from .archive import Archive, ArchivedItem, query_terms
from .handover import addresses, gives_name, phones
from .tokens import TokenCounter

__all__ = [
    "MAX_QUERY_CHARS", "RECALL_NOTE", "RECALL_TOOL_NAME", "best_hits", "recall_tool",
    "render_hits", "with_replies",
]

RECALL_TOOL_NAME = "recall_earlier_conversation"
RECALL_NOTE = (
    "Earlier parts of this conversation were condensed; their exact wording can be looked"
    f" up with {RECALL_TOOL_NAME}."
)
"""Appended to a summary when recall is on, so the model knows it can look details up."""
MAX_QUERY_CHARS = 500

_DESCRIPTION = (
    "Look up what was said earlier in this conversation, word for word, when it is no longer"
    " in your context (older turns are condensed into a summary). Use it before asking the"
    " user to repeat something: names, numbers, order ids, addresses, dates, promises made."
    " Returns the best-matching earlier turns, each with the turn that followed it, with"
    " their approximate time."
)


_ASKS_NAME = re.compile(r"\b(?:name|who|whose|on the (?:line|phone)|rang|phoned)\b", re.I)
_ASKS_PHONE = re.compile(
    r"\b(?:phone|mobile|cell|landline|handphone|telephone|ring|call|reach|contact|text|"
    r"get hold)\b",
    re.I,
)
_ASKS_ADDRESS = re.compile(
    r"\b(?:address|where|location|street|residence|premises|venue|destination|flat|property)\b",
    re.I,
)
_LONG_NUMBER = re.compile(r"(?<![\w-])\d(?:[ -]?\d){6,12}(?![\w-])")
"""Seven to thirteen digits, grouped or not: a phone, whatever its country's length."""
KIND_SLOTS = 2
"""Of a search's best matches, how many may be turns that hold what the query asks for."""


def _asked_for(query: str) -> tuple[Callable[[ArchivedItem], bool], bool] | None:
    """A test of an archived turn for what ``query`` asks for, and whether the latest such
    turn comes first: a name the user gives ("who is on the line", "the customer's
    name"; the first one first), else a phone ("how to reach her") or an address ("where
    her post goes"; the latest first, as a correction comes later); ``None`` for
    anything else."""
    if _ASKS_NAME.search(query):
        return (lambda item: item.kind == "user" and gives_name(item.text)), False
    phone, address = _ASKS_PHONE.search(query), _ASKS_ADDRESS.search(query)
    if not (phone or address):
        return None

    def holds(item: ArchivedItem) -> bool:
        if item.kind not in ("user", "assistant"):
            return False
        return bool(
            phone and (phones(item.text) or _LONG_NUMBER.search(item.text))
            or address and addresses(item.text)
        )

    return holds, True


def best_hits(
    archive: Archive, session_id: str, query: str, items: list[ArchivedItem], *, limit: int = 3
) -> list[ArchivedItem]:
    """The ``limit`` best matches for ``query`` among the session's archived ``items``.

    A query in the model's own words often shares no word with the turn that holds the
    answer ("how to get hold of her" for "ring me on 07700 900461"): when it asks for a
    name, a phone or an address, up to ``KIND_SLOTS`` of the matches are turns that give
    one (by the search's rank when it found them, then by time), and the search's own
    best fill the rest."""
    hits = archive.search(session_id, query, limit=limit * 4)
    asked = _asked_for(query)
    if asked is None:
        return hits[:limit]
    holds, latest_first = asked
    holding = [item for item in items if holds(item)]
    ranked = [hit for hit in hits if hit in holding]
    by_time = [item for item in holding if item not in ranked]
    picked = (ranked + (by_time[::-1] if latest_first else by_time))[:KIND_SLOTS]
    return (picked + [hit for hit in hits if hit not in picked])[:limit]


def with_replies(hits: list[ArchivedItem], items: list[ArchivedItem]) -> list[ArchivedItem]:
    """``hits`` (best first), each followed by the archived item after it when that is not
    a hit itself: a question the query matches ("What number should we use?") comes with
    its answer, which shares no word with the query."""
    after = {item.position - 1: item for item in items}
    found: list[ArchivedItem] = []
    seen = {hit.position for hit in hits}
    for hit in hits:
        found.append(hit)
        reply = after.get(hit.position)
        if reply is not None and reply.position not in seen:
            found.append(reply)
            seen.add(reply.position)
    return found


def render_hits(hits: list[ArchivedItem], *, counter: TokenCounter, max_tokens: int, now: float) -> str:
    """Earlier turns as lines the model can read, within ``max_tokens``: ``hits`` are
    taken best first (as given) while they fit, and shown oldest first."""
    lines: list[tuple[int, str]] = []
    used = 0
    for hit in hits:
        minutes = max(0, round((now - hit.created_at) / 60))
        line = f"[#{hit.position}, about {minutes} min ago] {hit.kind}: {hit.text}"
        tokens = counter.count_text(line)
        if used + tokens > max_tokens:
            if not lines:  # a single long turn is cut, never dropped
                budget_chars = max(40, len(line) * max_tokens // max(tokens, 1))
                lines.append((hit.position, line[:budget_chars] + " [...]"))
            break
        lines.append((hit.position, line))
        used += tokens
    return "\n".join(line for _, line in sorted(lines))


def recall_tool(
    archive: Archive,
    session_id: Callable[[], str],
    *,
    counter: TokenCounter,
    max_tokens: int = 600,
    limit: int = 3,
) -> llm.FunctionTool:
    """A function tool that searches this session's archive.

    Args:
        archive: where compactions wrote the items they removed.
        session_id: returns the session whose items may be searched (never another's).
        counter: counts the reply's tokens.
        max_tokens: cap on the reply.
        limit: best matches returned.
    """

    async def recall_earlier_conversation(query: str) -> str:
        """Search the earlier conversation.

        Args:
            query: Words to look for, e.g. an order number, a name or an address.
        """
        if len(query) > MAX_QUERY_CHARS:
            raise llm.ToolError(
                f"The query is too long ({len(query)} characters; at most {MAX_QUERY_CHARS})."
                " Search with a few distinctive words."
            )
        if not query_terms(query):
            raise llm.ToolError("The query has no words to search for. Give a few keywords.")
        items = archive.items(session_id())
        hits = best_hits(archive, session_id(), query, items, limit=limit)
        if not hits:
            return "Nothing earlier in this conversation matches that."
        hits = with_replies(hits, items)
        return render_hits(hits, counter=counter, max_tokens=max_tokens, now=time.time())

    return llm.function_tool(
        recall_earlier_conversation, name=RECALL_TOOL_NAME, description=_DESCRIPTION
    )
