"""Invariant checker over the three copies of a realtime conversation.

Given the emulator's server conversation, the plugin's remote mirror and the
agent's local context, list what is wrong::

    violations = check_realtime_invariants(
        emulator.conversation,
        rt_session.chat_ctx,          # the plugin's mirror
        agent.chat_ctx,
        deleted_ids=emulator.deleted_ids,
    )
    assert violations == []

Run it at a quiet point (no response streaming, no update in flight): while an
item is still travelling, the copies legitimately differ.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from livekit.agents import llm
from livekit.agents.llm.remote_chat_context import RemoteChatContext

from ._emulator_conversation import ServerItem

ViolationKind = Literal[
    "item_lost",
    "forbidden_delete",
    "pair_split",
    "summary_missing",
    "order_changed",
    "orphaned_function_call_output",
    "orphaned_previous_item_id",
    "mirror_diverged",
    "order_diverged",
    "misreported",
    "unarchived",
    "item_revived",
]
"""What kind of invariant a violation breaks."""

Fingerprint = tuple[str, ...]
"""What an item says, stable across runs of one seed (ids are not)."""

_LOCAL_ONLY_TYPES = frozenset({"agent_config_update", "agent_handoff"})
_INSTRUCTION_IDS = frozenset({"lk.agent_task.instructions", "lk.agent_task.instructions.dynamic"})


@dataclass(frozen=True)
class Violation:
    """One broken invariant."""

    kind: ViolationKind
    """Which invariant."""
    message: str
    """What is wrong, naming item ids only (never chat content)."""
    item_ids: tuple[str, ...] = ()
    """The items involved."""
    fingerprints: frozenset[Fingerprint] = frozenset()
    """What the items say (see :func:`fingerprint`): stable across runs of one seed."""
    culprit: str | None = None
    """Who sent the change behind it (a forbidden delete), when the harness knows."""

    @property
    def key(self) -> tuple[str, frozenset[Fingerprint]]:
        """What the per-seed control compares: the kind and what the items say."""
        return (self.kind, self.fingerprints)


def check_realtime_invariants(
    server_items: Sequence[ServerItem],
    remote_chat_ctx: llm.ChatContext | RemoteChatContext | None,
    local_chat_ctx: llm.ChatContext | None,
    *,
    deleted_ids: Collection[str] = (),
) -> list[Violation]:
    """List the violations between server, remote mirror and local context.

    Args:
        server_items: The server conversation in order (``emulator.conversation``).
        remote_chat_ctx: The plugin's mirror (``rt_session.chat_ctx``); None skips
            the mirror checks.
        local_chat_ctx: The agent's context (``agent.chat_ctx``); None skips the
            local checks.
        deleted_ids: Ids the server deleted (``emulator.deleted_ids``), to tell a
            deleted item from one that never arrived.

    Returns:
        The violations, server-side ones first; empty when all three agree.
    """
    violations = _server_violations(server_items)
    if remote_chat_ctx is not None:
        if isinstance(remote_chat_ctx, RemoteChatContext):
            remote_chat_ctx = remote_chat_ctx.to_chat_ctx()
        violations += _mirror_violations(server_items, remote_chat_ctx)
    if local_chat_ctx is not None:
        violations += _local_violations(server_items, local_chat_ctx, set(deleted_ids))
    return violations


def _server_violations(server_items: Sequence[ServerItem]) -> list[Violation]:
    found: list[Violation] = []
    calls = {i.call_id for i in server_items if i.type == "function_call"}
    for item in server_items:
        if item.stale_anchor:
            found.append(
                Violation(
                    "orphaned_previous_item_id",
                    f"{item.id} was placed after {item.previous_item_id}, "
                    "which the server had already deleted",
                    (item.id, item.previous_item_id or ""),
                )
            )
        if item.type == "function_call_output" and item.call_id not in calls:
            found.append(
                Violation(
                    "orphaned_function_call_output",
                    f"{item.id} answers call {item.call_id}, whose function_call "
                    "is not on the server",
                    (item.id,),
                )
            )
    return found


def fingerprint(item: ServerItem | llm.ChatItem) -> Fingerprint:
    """What an item says: role and text, call name and arguments, or output."""
    if isinstance(item, ServerItem):
        text = item.text
    elif isinstance(item, llm.ChatMessage):
        text = "".join(c for c in item.content if isinstance(c, str))
    else:
        text = ""
    if item.type == "message":
        return (item.type, str(item.role or ""), text[:80])
    if item.type == "function_call":
        return (item.type, str(item.name), str(item.arguments))
    if item.type == "function_call_output":
        return (item.type, str(item.output))
    return (item.type,)


def _fingerprint(item: ServerItem | llm.ChatItem) -> tuple[object, ...]:
    if isinstance(item, ServerItem):
        if item.type == "message":
            return (item.type, item.role, item.text)
        if item.type == "function_call":
            return (item.type, item.call_id, item.name, item.arguments)
        return (item.type, item.call_id, item.output)
    if item.type == "message":
        text = "".join(c for c in item.content if isinstance(c, str))
        return (item.type, item.role, text)
    if item.type == "function_call":
        return (item.type, item.call_id, item.name, item.arguments)
    if item.type == "function_call_output":
        return (item.type, item.call_id, item.output)
    return (item.type,)


def _mirror_violations(
    server_items: Sequence[ServerItem], mirror: llm.ChatContext
) -> list[Violation]:
    server_ids = [i.id for i in server_items]
    mirror_ids = [i.id for i in mirror.items]
    found: list[Violation] = []
    missing = [i for i in server_ids if i not in set(mirror_ids)]
    extra = [i for i in mirror_ids if i not in set(server_ids)]
    if missing:
        found.append(
            Violation("mirror_diverged", f"mirror lacks server items {missing}", tuple(missing))
        )
    if extra:
        found.append(
            Violation(
                "mirror_diverged", f"mirror has items not on the server {extra}", tuple(extra)
            )
        )
    shared = set(server_ids) & set(mirror_ids)
    server_order = [i for i in server_ids if i in shared]
    mirror_order = [i for i in mirror_ids if i in shared]
    if server_order != mirror_order:
        found.append(
            Violation(
                "mirror_diverged",
                f"mirror order {mirror_order} differs from server order {server_order}",
                tuple(mirror_order),
            )
        )
    by_id = {i.id: i for i in mirror.items}
    for item in server_items:
        if item.id in by_id and _fingerprint(item) != _fingerprint(by_id[item.id]):
            found.append(
                Violation("mirror_diverged", f"mirror content of {item.id} differs", (item.id,))
            )
    return found


def _belongs_on_server(item: llm.ChatItem) -> bool:
    if item.type in _LOCAL_ONLY_TYPES or item.id in _INSTRUCTION_IDS:
        return False
    # an empty message is never sent (the plugin filters it out of every update)
    return not (item.type == "message" and not item.content)


def _local_violations(
    server_items: Sequence[ServerItem], local: llm.ChatContext, deleted: set[str]
) -> list[Violation]:
    server_ids = [i.id for i in server_items]
    on_server = set(server_ids)
    found: list[Violation] = []
    for item in local.items:
        if _belongs_on_server(item) and item.id not in on_server:
            where = (
                "was deleted on the server" if item.id in deleted else "never reached the server"
            )
            found.append(Violation("item_lost", f"local {item.type} {item.id} {where}", (item.id,)))
    local_order = [i.id for i in local.items if i.id in on_server]
    shared = set(local_order)
    server_order = [i for i in server_ids if i in shared]
    if local_order != server_order:
        first = next(
            n for n, (a, b) in enumerate(zip(local_order, server_order, strict=False)) if a != b
        )
        found.append(
            Violation(
                "order_diverged",
                f"local order differs from server order from position {first}: "
                f"local {local_order[first:]} vs server {server_order[first:]}",
                tuple(local_order[first:]),
            )
        )
    return found
