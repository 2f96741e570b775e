"""How ``make quality`` scores a summary: per fact, kept or wrong, as of each fold."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from quality_calls import CALLS, facts_after, score  # noqa: E402

pytestmark = pytest.mark.unit

PARCEL = CALLS[0]


def test_a_fact_is_kept_whatever_the_spacing_and_case() -> None:
    kept, wrong = score(
        "maria okafor (7731-K) at 14 alder road; call 0161-555-0199; refund of 12.50 by"
        " thursday; no calls before nine.",
        facts_after(PARCEL, 1),
    )
    assert kept == ["name", "order", "address", "phone", "promise", "preference"]
    assert wrong == []


def test_the_old_address_is_the_fact_before_the_correction_and_wrong_after() -> None:
    old = "Maria Okafor lives at 14 Alder Road."
    assert "address" in score(old, facts_after(PARCEL, 1))[0]
    kept, wrong = score(old, facts_after(PARCEL, 3))
    assert "address" not in kept and "address" in wrong


def test_the_number_not_to_use_given_instead_is_wrong_beside_it_is_not() -> None:
    facts = facts_after(PARCEL, 3)
    assert "phone" in score("Call 0113 496 0000.", facts)[1]
    kept, wrong = score("Call 0161 555 0199, not the work phone 0113 496 0000.", facts)
    assert "phone" in kept and "phone" not in wrong


def test_every_call_plants_the_same_kinds_of_fact() -> None:
    kinds = [[f.kind for f in facts_after(c, 3)] for c in CALLS]
    assert all(k == kinds[0] for k in kinds) and len(kinds[0]) == 6
