"""The invariant checker names each way server, mirror and local context can disagree."""

from __future__ import annotations

import pytest
from livekit.agents import llm

from ctxmgr.testing.checker import check_realtime_invariants
from ctxmgr.testing.emulator import ServerItem

pytestmark = pytest.mark.unit


def _server() -> list[ServerItem]:
    return [
        ServerItem(id="u1", type="message", role="user", text="hi"),
        ServerItem(id="a1", type="message", role="assistant", text="hello", previous_item_id="u1"),
        ServerItem(
            id="fc",
            type="function_call",
            call_id="c1",
            name="lookup",
            arguments="{}",
            previous_item_id="a1",
        ),
        ServerItem(
            id="fo", type="function_call_output", call_id="c1", output="42", previous_item_id="fc"
        ),
    ]


def _chat_ctx(
    *, skip: tuple[str, ...] = (), order: tuple[str, ...] | None = None
) -> llm.ChatContext:
    items: dict[str, llm.ChatItem] = {
        "u1": llm.ChatMessage(id="u1", role="user", content=["hi"]),
        "a1": llm.ChatMessage(id="a1", role="assistant", content=["hello"]),
        "fc": llm.FunctionCall(id="fc", call_id="c1", name="lookup", arguments="{}"),
        "fo": llm.FunctionCallOutput(id="fo", call_id="c1", output="42", is_error=False),
    }
    ids = order or tuple(items)
    return llm.ChatContext([items[i] for i in ids if i not in skip])


def test_three_agreeing_copies_have_no_violations() -> None:
    local = _chat_ctx()
    local.items.insert(0, llm.AgentConfigUpdate(id="cfg", instructions="be brief"))

    assert check_realtime_invariants(_server(), _chat_ctx(), local) == []


def test_local_item_missing_on_the_server_is_lost() -> None:
    server = [i for i in _server() if i.id != "fc"]

    violations = check_realtime_invariants(server, None, _chat_ctx(), deleted_ids=["fc"])

    assert [(v.kind, v.item_ids) for v in violations] == [
        ("orphaned_function_call_output", ("fo",)),
        ("item_lost", ("fc",)),
    ]
    assert "deleted on the server" in violations[1].message


def test_item_placed_after_a_deleted_anchor_is_flagged() -> None:
    server = [
        *_server(),
        ServerItem(
            id="a2",
            type="message",
            role="assistant",
            text="late",
            previous_item_id="gone",
            stale_anchor=True,
        ),
    ]

    [violation] = check_realtime_invariants(server, None, None)

    assert (violation.kind, violation.item_ids) == ("orphaned_previous_item_id", ("a2", "gone"))


def test_mirror_missing_extra_reordered_or_different_is_diverged() -> None:
    mirror = _chat_ctx(skip=("fo",), order=("a1", "u1", "fc", "fo"))
    mirror.items.append(llm.ChatMessage(id="x", role="user", content=["extra"]))
    mirror.items[0] = llm.ChatMessage(id="a1", role="assistant", content=["changed"])

    messages = [v.message for v in check_realtime_invariants(_server(), mirror, None)]

    assert [m.split(" ")[1] for m in messages] == ["lacks", "has", "order", "content"]


def test_local_order_diverging_from_the_server_is_flagged() -> None:
    local = _chat_ctx(order=("u1", "fc", "a1", "fo"))

    [violation] = check_realtime_invariants(_server(), None, local)

    assert violation.kind == "order_diverged"
    assert violation.item_ids == ("fc", "a1", "fo")
