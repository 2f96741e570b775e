import pytest
from livekit.agents import llm

from ctxmgr.compose import live_union, weave

pytestmark = pytest.mark.unit


def _m(i: str) -> llm.ChatMessage:
    return llm.ChatMessage(id=i, role="user", content=[i])


def _ids(items: list[llm.ChatItem]) -> list[str]:
    return [i.id for i in items]


def test_weave_keeps_primary_order_and_anchors_extras_after_their_predecessor() -> None:
    primary = [_m("a"), _m("c"), _m("e")]
    secondary = [_m("x"), _m("a"), _m("b"), _m("b2"), _m("c"), _m("d"), _m("e"), _m("f")]
    assert _ids(weave(primary, secondary)) == ["x", "a", "b", "b2", "c", "d", "e", "f"]


def test_an_extra_never_lands_before_what_preceded_it_when_the_orders_differ() -> None:
    # chaos seed 503: livekit's copy holds a late reply after turn 50 (creation time), the
    # server before it; the refused turn 99 goes after turn 50 and its reply, not after
    # its local predecessor
    server = [_m("found"), _m("late_reply"), _m("turn50"), _m("reply50"), _m("reply50b")]
    local = [_m("found"), _m("turn50"), _m("reply50"), _m("late_reply"), _m("turn99"),
             _m("reply50b")]
    assert _ids(weave(server, local)) == [
        "found", "late_reply", "turn50", "reply50", "turn99", "reply50b"
    ]


def test_weave_only_adds_the_named_extras() -> None:
    primary = [_m("a"), _m("c")]
    secondary = [_m("a"), _m("b"), _m("c"), _m("d")]
    assert _ids(weave(primary, secondary, only={"d"})) == ["a", "c", "d"]


def test_live_union_uses_server_order_local_objects_and_keeps_remote_only_items() -> None:
    sys_msg = llm.ChatMessage(id="sys", role="system", content=["be brief"])
    a, b = _m("a"), _m("b")
    local = llm.ChatContext([sys_msg, b, a])  # local order differs from the server's
    remote_a = _m("a")
    call = llm.FunctionCall(id="fc", call_id="c1", name="lookup", arguments="{}")
    remote = llm.ChatContext([remote_a, _m("b"), call])
    union = live_union(local, remote)
    assert _ids(union) == ["sys", "a", "b", "fc"]
    assert union[1] is a and union[3] is call


def test_live_union_without_remote_is_the_local_context() -> None:
    local = llm.ChatContext([_m("a"), _m("b")])
    assert live_union(local, None) == local.items


def test_a_local_only_item_goes_after_remote_items_that_arrived_before_it_was_made() -> None:
    # chaos seed 538: a spoken turn reached the server (and the mirror) before the user
    # typed; the typed turn was refused, and livekit's copy holds it before the spoken
    # one (ordered by the speech's start). Sent again, it goes after the spoken turn,
    # where livekit's own create had anchored it.
    def at(i: str, t: float) -> llm.ChatMessage:
        return llm.ChatMessage(id=i, role="user", content=[i], created_at=t)

    local = llm.ChatContext([at("a", 1.0), at("typed", 10.0), at("spoken", 9.5)])
    remote = llm.ChatContext([at("a", 1.0), at("spoken", 9.0), at("reply", 11.0)])
    assert _ids(live_union(local, remote)) == ["a", "spoken", "typed", "reply"]
