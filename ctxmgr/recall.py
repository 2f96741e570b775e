"""The recall tool: the agent looks up what a compaction folded away, word for word.

Off by default (``recall = true`` in settings): it changes the agent's tools.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from livekit.agents import llm

from .archive import Archive, ArchivedItem, query_terms
from .tokens import TokenCounter

__all__ = [
    "MAX_QUERY_CHARS", "RECALL_NOTE", "RECALL_TOOL_NAME", "recall_tool", "render_hits",
    "with_replies",
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
    """Earlier turns, oldest first, as lines the model can read, within ``max_tokens``."""
    lines: list[str] = []
    used = 0
    for hit in sorted(hits, key=lambda h: h.position):
        minutes = max(0, round((now - hit.created_at) / 60))
        line = f"[#{hit.position}, about {minutes} min ago] {hit.kind}: {hit.text}"
        tokens = counter.count_text(line)
        if used + tokens > max_tokens:
            if not lines:  # a single long turn is cut, never dropped
                budget_chars = max(40, len(line) * max_tokens // max(tokens, 1))
                lines.append(line[:budget_chars] + " [...]")
            break
        lines.append(line)
        used += tokens
    return "\n".join(lines)


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
        hits = archive.search(session_id(), query, limit=limit)
        if not hits:
            return "Nothing earlier in this conversation matches that."
        hits = with_replies(hits, archive.items(session_id()))
        return render_hits(hits, counter=counter, max_tokens=max_tokens, now=time.time())

    return llm.function_tool(
        recall_earlier_conversation, name=RECALL_TOOL_NAME, description=_DESCRIPTION
    )
