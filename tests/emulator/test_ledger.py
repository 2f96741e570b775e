"""The ledger judges from the server's side: each check is seen failing on a real session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from emulator_support import Live
from livekit.agents import llm

from ctxmgr.testing.emulator import RealtimeServerEmulator
from ctxmgr.testing.ledger import Ledger

pytestmark = pytest.mark.emulator


def _ledger(
    live: Live,
    emulator: RealtimeServerEmulator,
    *,
    summaries: list[str] | None = None,
    named: dict[str, bool] | None = None,
    keep_last_turns: int = 1,
    reported: tuple[set[str], set[str]] = (set(), set()),
    culprit_of: Callable[[str, int], str | None] = lambda item_id, nth: None,
) -> Ledger:
    return Ledger(
        emulator,
        state=lambda: (live.rt_session.chat_ctx, live.agent.chat_ctx),
        keep_last_turns=keep_last_turns,
        summaries=lambda: summaries or [],
        named=lambda: named or {},
        reported=lambda: (frozenset(reported[0]), frozenset(reported[1])),
        culprit_of=culprit_of,
    )


async def _turns(live: Live, n: int) -> None:
    for t in range(n):
        await live.session.run(user_input=f"Turn {t}: my order is {4400 + t}.")


def _kinds(ledger: Ledger) -> list[str]:
    return sorted(f.kind for f in ledger.findings())


async def test_an_item_removed_from_both_copies_is_lost(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    ledger = _ledger(live, emulator)
    await _turns(live, 3)
    first_user = next(i for i in live.agent.chat_ctx.items if i.type == "message")
    kept = [i for i in live.agent.chat_ctx.items if i.id != first_user.id]

    await live.agent.update_chat_ctx(llm.ChatContext(kept))

    # gone from the server and from the agent: the three-copy checker sees nothing
    assert live.violations() == []
    lost = [f for f in ledger.findings() if f.kind == "item_lost"]
    assert [f.item_ids for f in lost] == [(first_user.id,)]


async def _fold_of_the_first_turns(
    live: Live, emulator: RealtimeServerEmulator
) -> tuple[list[llm.ChatItem], llm.ChatMessage, Ledger]:
    """Three turns; a summary of the first items, and a ledger that knows its text."""
    await _turns(live, 3)
    items = live.agent.chat_ctx.copy().items
    old = [i for i in items[:3] if i.type == "message"]
    body = " ".join(i.text_content or "" for i in old)
    summary = llm.ChatMessage(role="system", content=[f"Summary: {body}"])
    return items, summary, _ledger(live, emulator, summaries=[body])


async def test_a_fold_into_a_summary_on_the_server_first_is_accounted_for(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    items, summary, ledger = await _fold_of_the_first_turns(live, emulator)

    await live.agent.update_chat_ctx(llm.ChatContext([summary, *items]))
    await live.agent.update_chat_ctx(llm.ChatContext([summary, *items[3:]]))

    assert _kinds(ledger) == []
    assert emulator.observer_errors == []


async def test_deleting_before_the_summary_is_in_is_caught(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    items, summary, ledger = await _fold_of_the_first_turns(live, emulator)

    await live.agent.update_chat_ctx(llm.ChatContext(items[3:]))  # the deletes first
    await live.agent.update_chat_ctx(llm.ChatContext([summary, *items[3:]]))

    assert set(_kinds(ledger)) == {"summary_missing"}


async def test_the_reference_guard_forbids_deleting_the_tail(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    await _turns(live, 3)
    ledger = _ledger(live, emulator, keep_last_turns=1)
    items = live.agent.chat_ctx.copy().items

    await live.agent.update_chat_ctx(llm.ChatContext(items[:-1]))  # the last reply

    forbidden = [f for f in ledger.findings() if f.kind == "forbidden_delete"]
    assert [f.item_ids for f in forbidden] == [(items[-1].id,)]
    assert "tail window" in forbidden[0].message


async def test_a_user_turn_placed_before_an_earlier_one_is_an_order_change(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    await _turns(live, 2)
    ledger = _ledger(live, emulator)
    late = llm.ChatMessage(role="user", content=["A late turn."])
    items = live.agent.chat_ctx.copy().items

    await live.agent.update_chat_ctx(llm.ChatContext([late, *items]))

    assert _kinds(ledger) == ["order_changed"]


async def test_deleting_the_one_item_in_flight_is_forbidden(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """The update that deletes it has already taken it out of the agent's context when
    the delete reaches the server: only a look before the update sees it in flight."""
    ledger = _ledger(live, emulator, keep_last_turns=0)
    await _turns(live, 2)
    heard = emulator.server_session.add_user_item({"type": "input_audio", "transcript": None})
    await emulator.wait_until(lambda: live.rt_session.chat_ctx.get_by_id(heard) is not None)
    # on the server and in the mirror, not (yet) in the agent's context: remote-only
    live.agent._chat_ctx.items[:] = [i for i in live.agent._chat_ctx.items if i.id != heard]
    stale = live.agent.chat_ctx.copy()

    ledger.before_update()  # what the chaos runs hook into every update
    await live.agent.update_chat_ctx(stale)

    assert heard in emulator.deleted_ids
    forbidden = [f for f in ledger.findings() if f.kind == "forbidden_delete"]
    assert [f.item_ids for f in forbidden] == [(heard,)], forbidden


async def test_an_item_edited_then_folded_is_judged_by_the_delete_it_left_by(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """Seed 77: livekit's interruption path truncates a reply (delete, then create under
    the same id); a later fold of the truncated reply is not a loss at the first delete."""
    await _turns(live, 3)
    texts: list[str] = []
    ledger = _ledger(live, emulator, summaries=texts)
    items = live.agent.chat_ctx.copy().items
    reply = next(i for i in items[:3] if isinstance(i, llm.ChatMessage) and i.role == "assistant")
    cut = reply.model_copy(update={"content": ["You said"]})
    edited = [cut if i.id == reply.id else i for i in items]
    await live.agent.update_chat_ctx(llm.ChatContext(edited))  # delete + create, same id
    assert reply.id in emulator.deleted_ids and reply.id in emulator.item_ids

    old = [i for i in edited[:3] if i.type == "message"]
    body = " ".join(i.text_content or "" for i in old)
    summary = llm.ChatMessage(role="system", content=[f"Summary: {body}"])
    texts.append(body)
    await live.agent.update_chat_ctx(llm.ChatContext([summary, *edited]))
    await live.agent.update_chat_ctx(llm.ChatContext([summary, *edited[3:]]))

    assert _kinds(ledger) == []


async def test_a_user_turn_restored_at_its_place_is_not_an_order_change(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """Seed 257: livekit's handoff deletes a turn the new agent's context later holds;
    the next update creates it again, between the turns around it: the order stands."""
    await _turns(live, 3)
    ledger = _ledger(live, emulator, keep_last_turns=0)
    items = live.agent.chat_ctx.copy().items
    second = [i for i in items if i.type == "message" and i.role == "user"][1]
    await live.agent.update_chat_ctx(llm.ChatContext([i for i in items if i.id != second.id]))

    await live.agent.update_chat_ctx(llm.ChatContext(items))  # back between turns 0 and 2

    assert second.id in emulator.item_ids
    assert "order_changed" not in _kinds(ledger)


async def test_a_user_turn_restored_after_a_later_one_is_an_order_change(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    await _turns(live, 3)
    ledger = _ledger(live, emulator, keep_last_turns=0)
    items = live.agent.chat_ctx.copy().items
    second = [i for i in items if i.type == "message" and i.role == "user"][1]
    rest = [i for i in items if i.id != second.id]
    await live.agent.update_chat_ctx(llm.ChatContext(rest))

    await live.agent.update_chat_ctx(llm.ChatContext([*rest, second]))  # after turn 2

    order = [f for f in ledger.findings() if f.kind == "order_changed"]
    assert [f.item_ids[0] for f in order] == [second.id], order


async def test_a_removal_reported_but_refused_by_the_server_is_misreported(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """The plugin only logs a refused delete: a compaction that trusts the call reports
    a removal the server never made (DESIGN.md invariant 8)."""
    await _turns(live, 3)
    items = live.agent.chat_ctx.copy().items
    first = next(i for i in items if i.type == "message")
    never_sent = llm.ChatMessage(role="system", content=["Summary: nothing"])
    ledger = _ledger(
        live, emulator, keep_last_turns=0, reported=({first.id}, {never_sent.id})
    )
    emulator.refuse_changes("delete", count=1)

    # returns as if it had worked
    await live.agent.update_chat_ctx(llm.ChatContext([i for i in items if i.id != first.id]))

    assert emulator.refused == [first.id] and first.id in emulator.item_ids
    misreported = sorted(f.item_ids for f in ledger.findings() if f.kind == "misreported")
    assert misreported == sorted([(first.id,), (never_sent.id,)])


async def test_a_turn_refused_once_may_go_where_it_finally_arrives(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """A typed turn whose first create the server refused was typed before what the server
    received meanwhile: created again later, after that, the order stands; before a turn
    the server already held when it was typed, it does not."""
    await _turns(live, 2)
    ledger = _ledger(live, emulator, keep_last_turns=0)
    typed = llm.ChatMessage(role="user", content=["Typed while the server failed."])
    emulator.refuse_changes("create", count=1)
    await live.agent.update_chat_ctx(llm.ChatContext([*live.agent.chat_ctx.copy().items, typed]))
    assert emulator.refused == [typed.id]
    spoken = emulator.server_session.add_user_item({"type": "input_audio", "transcript": "Hi."})
    await emulator.wait_until(lambda: live.rt_session.chat_ctx.get_by_id(spoken) is not None)
    server = live.rt_session.chat_ctx.copy().items

    # before the spoken turn (where it was typed), then after it (where it arrives)
    await live.agent.update_chat_ctx(llm.ChatContext([*server[:-1], typed, server[-1]]))
    assert emulator.item_ids[-2:] == [typed.id, spoken]
    await live.agent.update_chat_ctx(llm.ChatContext(server))
    await live.agent.update_chat_ctx(llm.ChatContext([*server, typed]))
    assert emulator.item_ids[-2:] == [spoken, typed.id]
    assert "order_changed" not in _kinds(ledger)

    await live.agent.update_chat_ctx(llm.ChatContext(server))
    second = [n for n, i in enumerate(server) if i.type == "message" and i.role == "user"][1]
    await live.agent.update_chat_ctx(
        llm.ChatContext([*server[:second], typed, *server[second:]])
    )  # before the second turn, which the server held when it was typed
    order = [f for f in ledger.findings() if f.kind == "order_changed"]
    assert [f.item_ids[0] for f in order] == [typed.id], order


async def test_a_delete_sent_while_a_response_is_in_progress_is_recorded(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """DESIGN.md invariant 5, judged from the plugin's state at the send: the contender's
    delete during a generation is recorded; livekit's own sends are not the contender's."""
    from ctxmgr.testing._chaos_blame import ChangeLog, instrument_plugin
    from ctxmgr.testing._chaos_contenders import naive_summarize
    from ctxmgr.testing.emulator import ResponsePlan, Say

    await _turns(live, 3)
    changes = ChangeLog()
    with instrument_plugin(1.0), changes.active():
        slow = Say("Let me explain this slowly.", chunks=8, chunk_delay=0.1)
        response = emulator.commit_response(ResponsePlan(outputs=(slow,)))
        await emulator.wait_until(lambda: live.rt_session.has_active_generation)
        await naive_summarize(live.agent, summarizing_for=0.0, keep_last=2)
        await response.wait_done()
        during = list(changes.deleted_in_generation)
        await live.session.wait_for_idle()
        await naive_summarize(live.agent, summarizing_for=0.0, keep_last=2)

    assert during and set(during) <= set(emulator.deleted_ids)
    assert changes.deleted_in_generation == during  # the quiet second fold adds nothing
    assert all(changes.deleted_by[i] == "contender" for i in during)


async def test_a_forbidden_delete_carries_who_sent_that_delete(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """Seed 191: livekit's handoff moved an item (delete, create) while another was in
    flight, and the contender folded it later: each delete is judged with its own sender."""
    await _turns(live, 3)
    senders = {0: "livekit:handoff"}
    ledger = _ledger(live, emulator, culprit_of=lambda item_id, nth: senders.get(nth))
    items = live.agent.chat_ctx.copy().items
    await live.agent.update_chat_ctx(llm.ChatContext(items[:-1]))  # the tail: forbidden
    await live.agent.update_chat_ctx(llm.ChatContext(items))  # back
    await live.agent.update_chat_ctx(llm.ChatContext(items[:-1]))  # and again, by someone else

    forbidden = [f for f in ledger.findings() if f.kind == "forbidden_delete"]
    assert [(f.item_ids, f.culprit) for f in forbidden] == [
        ((items[-1].id,), "livekit:handoff"),
        ((items[-1].id,), None),
    ]


async def test_a_message_written_back_as_an_earlier_partial_copy_is_lost(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """A copy taken mid-reply written back over the whole reply: the plugin deletes the
    reply and creates it again with the copy's text. Both copies agree afterwards; the
    ledger remembers the longer text the server held."""
    ledger = _ledger(live, emulator)
    await _turns(live, 2)
    items = live.agent.chat_ctx.copy().items
    reply = next(i for i in items if isinstance(i, llm.ChatMessage) and i.role == "assistant")
    partial = reply.model_copy(update={"content": [(reply.text_content or "")[:8]]})
    await live.agent.update_chat_ctx(
        llm.ChatContext([partial if i.id == reply.id else i for i in items])
    )
    assert reply.id in emulator.item_ids and live.violations() == []
    lost = [f for f in ledger.findings() if f.kind == "item_lost"]
    assert [f.item_ids for f in lost] == [(reply.id,)] and "partial copy" in lost[0].message


@pytest.mark.parametrize("played_out", [True, False])
async def test_an_interrupted_reply_cut_to_what_was_played_is_not_lost(
    live: Live, emulator: RealtimeServerEmulator, played_out: bool
) -> None:
    """livekit cuts an interrupted reply in the agent's context to the text played out;
    any update then writes that text back (its own sync does). The cut is no loss; a
    shorter copy than the one the agent keeps still is."""
    ledger = _ledger(live, emulator)
    await _turns(live, 2)
    items = live.agent.chat_ctx.copy().items
    reply = next(i for i in items if isinstance(i, llm.ChatMessage) and i.role == "assistant")
    heard = (reply.text_content or "")[:12]
    cut = reply.model_copy(update={"content": [heard], "interrupted": True})
    await live.agent.update_chat_ctx(
        llm.ChatContext([cut if i.id == reply.id else i for i in items])
    )
    if not played_out:  # a copy with less than the agent kept, written back over it
        shorter = cut.model_copy(update={"content": [heard[:6]]})
        agent_items = live.agent.chat_ctx.items
        await live.rt_session.update_chat_ctx(
            llm.ChatContext([shorter if i.id == reply.id else i for i in agent_items])
        )

    lost = [f for f in ledger.findings() if f.kind == "item_lost"]
    assert [f.item_ids for f in lost] == ([] if played_out else [(reply.id,)])
