"""The default summary's form: parsed from what a model writes, folded field by field."""

from __future__ import annotations

import pytest

from ctxmgr.handover import FIELDS, Handover, parse_handover, tool_ledger

pytestmark = pytest.mark.unit


def test_a_sloppy_answer_is_read_bullets_bold_echoed_tags_and_all() -> None:
    parsed = parse_handover(
        "Summary so far:\n<summary_so_far>\n**User's name:** Dev Sharma\n"
        "- Ids and amounts (orders, accounts):\n  - AC-55810\n  - 20 pounds credit\n"
        "Current address: N/A\nWhat happened (two sentences): Dev called.\n"
        "He was upset.\n</summary_so_far>"
    )
    assert parsed is not None
    assert parsed.values == {
        "User's name": ["Dev Sharma"],
        "Ids and amounts": ["AC-55810", "20 pounds credit"],
        "What happened": ["Dev called. He was upset."],
    }


def test_text_with_no_field_is_not_a_handover() -> None:
    assert parse_handover("Dev called about his broadband. Ticket FT-88213.") is None


def test_a_list_entry_is_dropped_only_when_the_new_answer_holds_its_ids() -> None:
    old = Handover({"Ids and amounts": ["AC-55810, AC-41002 (closed)", "20 pounds"]})
    new = Handover({"Ids and amounts": ["AC-55810; 20 pounds credit"]})
    merged = old.merge(parse_handover("Ids and amounts: AC-55810; 20 pounds credit") or new)
    assert merged.values["Ids and amounts"] == [
        "AC-55810, AC-41002 (closed)", "AC-55810", "20 pounds credit",
    ]


def test_a_single_field_takes_the_new_value_or_keeps_the_old() -> None:
    old = Handover({"Current address": ["22 Quay Street"], "User's name": ["Dev"]})
    merged = old.merge(Handover({"Current address": ["41 Quay Street"]}))
    assert merged.values == {"User's name": ["Dev"], "Current address": ["41 Quay Street"]}


def test_a_rendered_handover_reads_back_the_same() -> None:
    handover = Handover({f.label: [f"{f.label} value"] for f in FIELDS})
    assert parse_handover(handover.render()) == handover
    assert "Open tasks: none" in Handover({}).render()


def test_what_a_tool_returned_is_kept_whatever_the_model_wrote() -> None:
    ledger = tool_ledger([
        ("lookup_parcel", '{"carrier": "DPD", "tracking": "JD0142-7733", "late": true, "days": 3}'),
        ("note", "Refund RF-2231 issued for 12.50"),
        ("weather", '{"sky": "clear"}'),
    ])
    assert ledger == ["lookup_parcel: tracking JD0142-7733, days 3", "note: RF-2231, 12.50"]


def test_what_happened_is_cut_to_two_sentences_an_echoed_transcript_with_it() -> None:
    parsed = parse_handover(
        "User's name: Maria\nWhat happened: Maria called. Her parcel is late. Can you see"
        " where the parcel is now? {\"order\": \"7731-K\"} It's held at a depot."
    )
    assert parsed is not None
    assert parsed.values["What happened"] == ["Maria called. Her parcel is late."]
