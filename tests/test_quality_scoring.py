"""How ``make quality`` judges a summary, per fact: kept, wrong or missing; and that its
calls plant what they say they plant."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from quality_calls import (  # noqa: E402
    CALLS, FOLDS, HELD_OUT, KINDS, TRAINING, Fact, facts_after, fold_text, judge, score,
)

pytestmark = pytest.mark.unit

PARCEL = TRAINING[0]


def fact(kind: str, fold: int = FOLDS, call: object = PARCEL) -> Fact:
    (found,) = [f for f in facts_after(call, fold) if f.kind == kind]  # type: ignore[arg-type]
    return found


def test_a_fact_is_kept_whatever_the_spacing_case_and_punctuation() -> None:
    kept, wrong = score(
        "maria okafor (order 7731-K) lives at 14 alder road; call 0161-555-0199.\n"
        "Refund of 12.50 promised by thursday. Leave parcels at the Back Door.",
        facts_after(PARCEL, 1),
    )
    assert kept == ["name", "id", "address", "phone", "preference", "agent_promise"]
    assert wrong == []


def test_the_old_address_is_the_fact_before_the_correction_and_wrong_after() -> None:
    assert judge("Maria lives at 14 Alder Road.", fact("address", 1)) == "kept"
    assert judge("Maria lives at 14 Alder Road.", fact("address", 3)) == "wrong"


def test_the_old_address_beside_the_new_one_is_wrong_unless_marked_as_old() -> None:
    new = fact("address", 3)
    assert judge("Address: 3 Birch Lane, York.\nShe lives at 14 Alder Road.", new) == "wrong"
    assert judge("Address: 3 Birch Lane. She moved from 14 Alder Road.", new) == "kept"
    assert judge("Address: 3 Birch Lane (previously 14 Alder Road).", new) == "kept"
    assert judge("Address changed from 14 Alder Road to 3 Birch Lane.", new) == "kept"


def test_the_number_not_to_use_given_as_the_number_is_wrong_marked_so_it_is_not() -> None:
    phone = fact("phone")
    assert judge("Phone: 0113 496 0000.", phone) == "wrong"
    assert judge("Phone: 0161 555 0199 (work phone 0113 496 0000 not to use).", phone) == "kept"
    assert judge("Phone: 0161 555 0199. Work phone: 0113 496 0000.", phone) == "wrong"
    assert judge("Phone: 0161 555 0199. Don't call 0113 496 0000.", phone) == "kept"


def test_what_the_caller_promised_given_to_the_agent_is_wrong_to_nobody_missing() -> None:
    promise = fact("caller_promise")
    assert judge("Maria will email photos of the box by Monday.", promise) == "kept"
    assert judge("The agent will send photos by Monday.", promise) == "wrong"
    assert judge("Photos by Monday.", promise) == "missing"


def test_a_bullet_is_read_with_its_header() -> None:
    notes = "User promised:\n- email photos of the damaged box by Monday\nOpen: none"
    assert judge(notes, fact("caller_promise")) == "kept"
    notes = "Assistant promised:\n- send photos by Monday"
    assert judge(notes, fact("caller_promise")) == "wrong"


def test_a_promise_stated_as_done_is_wrong() -> None:
    promise = fact("agent_promise")
    assert judge("The assistant will refund the 12.50 fee by Thursday.", promise) == "kept"
    assert judge("The assistant refunded the 12.50 fee by Thursday.", promise) == "wrong"
    assert judge("The 12.50 fee has been refunded, by Thursday.", promise) == "wrong"


def test_every_call_plants_every_kind_and_scores_after_each_fold() -> None:
    for calls in CALLS.values():
        for call in calls:
            assert len(call.spans) == FOLDS
            assert [f.kind for f in facts_after(call, FOLDS)] == list(KINDS), call.name
            assert {f.kind for f in facts_after(call, 1)} < set(KINDS)


def _spoken(call: object, spans: range) -> str:
    return fold_text(" ".join(
        t[1] for n in spans for t in call.spans[n] if t[0] != "tool"  # type: ignore[attr-defined]
    ))


def _tool_outputs(call: object) -> str:
    return fold_text(" ".join(
        t[3] for span in call.spans for t in span if t[0] == "tool"  # type: ignore[attr-defined]
    ))


@pytest.mark.parametrize("call", TRAINING + HELD_OUT, ids=lambda c: c.name)
def test_each_fact_is_where_the_call_says_it_is(call: object) -> None:
    by_kind = {f.kind: f for f in facts_after(call, FOLDS)}  # type: ignore[arg-type]
    first = {f.kind: f for f in facts_after(call, 1)}  # type: ignore[arg-type]
    # planted in the first span, with its distractor
    for kind, planted in first.items():
        assert all(fold_text(p) in _spoken(call, range(1)) for p in planted.patterns), kind
        assert all(fold_text(w) in _spoken(call, range(5)) for w in planted.wrong), kind
    # the address is corrected in the third span, not before
    new = by_kind["address"]
    assert all(fold_text(p) not in _spoken(call, range(2)) for p in new.patterns)
    assert all(fold_text(p) in _spoken(call, range(2, 3)) for p in new.patterns)
    # the tool's fact is only in the tool's output
    tool = by_kind["tool_fact"]
    assert all(fold_text(p) in _tool_outputs(call) for p in tool.patterns)
    assert all(fold_text(p) not in _spoken(call, range(FOLDS)) for p in tool.patterns)


@pytest.mark.parametrize("call", TRAINING + HELD_OUT, ids=lambda c: c.name)
def test_recall_queries_are_not_the_facts_own_words(call: object) -> None:
    for f in call.facts:  # type: ignore[attr-defined]
        assert not any(fold_text(p) in fold_text(f.query) for p in f.patterns), f.query


def test_a_report_of_a_run_cut_short_by_folds_leaves_out_the_folds_not_run() -> None:
    from quality import Row, report  # the benchmark's own module, with livekit's plugin

    verdicts = {"name": "kept", "phone": "wrong"}
    rows = [Row("ctxmgr", "parcel", folds, verdicts, 2.0) for folds in (1, 3)]
    text = report(rows, [], calls="training", model="m", seconds=1.0)
    assert "| ctxmgr | 3 | 1/2 | 1 |" in text
    assert "| ctxmgr | 5 |" not in text
