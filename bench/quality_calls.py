"""Support calls with planted facts, and how a summary is scored against them.

Each call comes in three spans, folded one after the other (a rolling summary: the
second and third fold the summary so far), then scored after the first and the
third fold. Facts are planted in the first span, so they must survive three folds;
the address is corrected in the second span, so after it the old one must not
survive (after the first fold the old one is the fact); each
fact has a distractor near it (an old order number, a work phone not to be used).

A fact is *kept* when every one of its patterns is in the summary; *wrong* when a
pattern of its wrong version is there instead (the old address after the
correction, the work phone given and the callback phone not). Patterns are matched
on the summary with case and spacing folded, so "0161 555 0199" matches
"0161-555-0199".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fact:
    kind: str
    """``name``, ``order``, ``address``, ``phone``, ``promise``, ``preference``."""
    patterns: tuple[str, ...]
    """All must appear for the fact to count as kept."""
    wrong: tuple[str, ...] = ()
    """Any of these present, with the fact not kept, makes it wrong."""
    folds: tuple[int, int] = (1, 3)
    """The folds after which this is the fact (the old address until it is corrected)."""


@dataclass(frozen=True)
class Call:
    name: str
    spans: tuple[tuple[tuple[str, str], ...], ...]
    """Three spans of ``(role, text)`` turns, folded in order."""
    facts: tuple[Fact, ...] = field(default=())


def _fold(text: str) -> str:
    return re.sub(r"[\s\-–.,]+", " ", text.lower()).strip()


def facts_after(call: Call, fold: int) -> list[Fact]:
    """The call's facts as they stand after ``fold`` folds."""
    return [f for f in call.facts if f.folds[0] <= fold <= f.folds[1]]


def score(summary: str, facts: list[Fact]) -> tuple[list[str], list[str]]:
    """The kinds of the facts kept and of those wrong in ``summary``."""
    folded = _fold(summary)
    kept, wrong = [], []
    for fact in facts:
        if all(_fold(p) in folded for p in fact.patterns):
            kept.append(fact.kind)
        elif any(_fold(w) in folded for w in fact.wrong):
            wrong.append(fact.kind)
    return kept, wrong


_SMALL_TALK = (
    ("user", "Sorry, the line is a bit noisy, I'm on the bus."),
    ("assistant", "No problem, I can hear you fine."),
    ("user", "Also the app keeps logging me out, is that normal?"),
    ("assistant", "That can happen after an update; logging in again usually fixes it."),
)

CALLS: tuple[Call, ...] = (
    Call(
        "parcel",
        (
            (
                ("user", "Hi, this is Maria Okafor, I'm calling about a parcel that never arrived."),
                ("assistant", "Sorry to hear that, Maria. Can you give me the order number?"),
                ("user", "It's order 7731-K. Not the old one, 6620-B, that one arrived fine."),
                ("assistant", "Thanks. I see 7731-K going to 14 Alder Road, Leeds."),
                ("user", "Please don't call my work phone, 0113 496 0000. Use 0161 555 0199."),
                ("assistant", "Noted, I'll call 0161 555 0199. I will refund the 12.50 pound delivery fee by Thursday the 9th."),
                ("user", "Thanks. And never ring before nine in the morning, I work nights."),
                ("assistant", "Understood, no calls before nine."),
                *_SMALL_TALK,
            ),
            (
                ("user", "Actually, I moved last week. The new address is 3 Birch Lane, York."),
                ("assistant", "Thanks, I've changed the delivery address to 3 Birch Lane, York."),
                ("user", "Will the replacement come with the same carrier?"),
                ("assistant", "Yes, with DHL, tracked, in two to three days."),
                *_SMALL_TALK,
            ),
            (
                ("user", "Can I get an email confirmation too?"),
                ("assistant", "Yes, I'll send it to the address on your account."),
                ("user", "Do you deliver on Sundays?"),
                ("assistant", "Not in your area, sorry; Monday to Saturday only."),
                *_SMALL_TALK,
            ),
        ),
        (
            Fact("name", ("Maria Okafor",)),
            Fact("order", ("7731-K",)),
            Fact("address", ("14 Alder Road",), folds=(1, 1)),
            Fact("address", ("3 Birch Lane",), wrong=("14 Alder Road",), folds=(2, 3)),
            Fact("phone", ("0161 555 0199",), wrong=("0113 496 0000",)),
            Fact("promise", ("12.50", "Thursday")),
            Fact("preference", ("nine",)),
        ),
    ),
    Call(
        "broadband",
        (
            (
                ("user", "Hello, Dev Sharma here, account number AC-55810. My broadband drops every evening."),
                ("assistant", "Hi Dev. I can see AC-55810. There was an older account, AC-41002, closed last year, so I'll use the new one."),
                ("user", "Right. The router is at 22 Quay Street, Bristol."),
                ("assistant", "Thanks, 22 Quay Street. What's the best number to reach you?"),
                ("user", "My mobile, 07700 900461. My wife's number on file, 07700 900999, is wrong, don't use it."),
                ("assistant", "Got it, 07700 900461. I'll book an engineer for Tuesday the 14th and credit 20 pounds to the account."),
                ("user", "Good. Please tell the engineer to use the side gate, the dog is in the front."),
                ("assistant", "I'll note: use the side gate."),
                *_SMALL_TALK,
            ),
            (
                ("user", "Sorry, I gave you the wrong street: the router is at 41 Quay Street, not 22."),
                ("assistant", "Corrected to 41 Quay Street, Bristol."),
                ("user", "What speed should I be getting?"),
                ("assistant", "Up to 150 megabits on your plan."),
                *_SMALL_TALK,
            ),
            (
                ("user", "Does the engineer need me to be home all day?"),
                ("assistant", "They'll call you 30 minutes before they arrive."),
                ("user", "And the router lights, which ones matter?"),
                ("assistant", "The internet light should be solid white."),
                *_SMALL_TALK,
            ),
        ),
        (
            Fact("name", ("Dev Sharma",)),
            Fact("order", ("AC-55810",)),
            Fact("address", ("22 Quay Street",), folds=(1, 1)),
            Fact("address", ("41 Quay Street",), wrong=("22 Quay Street",), folds=(2, 3)),
            Fact("phone", ("07700 900461",), wrong=("07700 900999",)),
            Fact("promise", ("Tuesday", "20 pounds")),
            Fact("preference", ("side gate",)),
        ),
    ),
    Call(
        "clinic",
        (
            (
                ("user", "Hi, it's Ana Lopez, patient number P-20417, about moving my physio appointment."),
                ("assistant", "Hello Ana. I have P-20417; there's also a P-20471 with a similar name, so let me confirm your date of birth."),
                ("user", "Fifth of March 1984. I live at 9 Mill Road, Cambridge."),
                ("assistant", "Confirmed. What number should the clinic use?"),
                ("user", "01223 760 114 please, not my landline 01223 760 000, nobody answers it."),
                ("assistant", "Noted, 01223 760 114. I'll move you to Friday the 17th at 10 am and waive the 15 pound late-change fee."),
                ("user", "Thank you. I'd prefer a female physiotherapist if possible."),
                ("assistant", "I'll add that preference."),
                *_SMALL_TALK,
            ),
            (
                ("user", "Oh, I should say I've moved: I'm now at 27 Hills Road, Cambridge."),
                ("assistant", "Updated to 27 Hills Road."),
                ("user", "Is there parking at the clinic?"),
                ("assistant", "Yes, two hours free at the back."),
                *_SMALL_TALK,
            ),
            (
                ("user", "Should I bring anything?"),
                ("assistant", "Comfortable clothes and your exercise sheet."),
                ("user", "How long is the session?"),
                ("assistant", "Forty-five minutes."),
                *_SMALL_TALK,
            ),
        ),
        (
            Fact("name", ("Ana Lopez",)),
            Fact("order", ("P-20417",)),
            Fact("address", ("9 Mill Road",), folds=(1, 1)),
            Fact("address", ("27 Hills Road",), wrong=("9 Mill Road",), folds=(2, 3)),
            Fact("phone", ("01223 760 114",), wrong=("01223 760 000",)),
            Fact("promise", ("Friday", "15 pound")),
            Fact("preference", ("female",)),
        ),
    ),
)
