"""Support calls with planted facts, and how a summary is scored against them.

Each call comes in five spans, folded one after the other as a rolling summary
(each fold summarizes the next span with the summary so far), and is scored after
the first, third and fifth fold. Eight kinds of fact, each with a distractor near it:

- ``name``: the caller's name (another person is named beside it);
- ``id``: an order, account, patient, policy or card id (an old one is named too);
- ``address``: given in span 1, **corrected in span 3**: from fold 3 on, the old one
  stated as current is *wrong*;
- ``phone``: the callback number (another number the caller says not to use);
- ``preference``: a wish with no number in it ("use the side gate");
- ``agent_promise``: what the agent promised, with an amount and a date (stating it
  as already done is *wrong*);
- ``caller_promise``: what the caller promised (giving it to the agent is *wrong*);
- ``tool_fact``: an id that only a tool's output holds, never said aloud.

Scoring is per fact, on the summary's units (sentences, lines, ``;``-separated
parts; a bullet is read with the header line above it), with case, spacing and
punctuation folded so "0161 555 0199" matches "0161-555-0199":

- *kept*: one unit holds all of the fact's patterns (and, for an attributed fact,
  names its party);
- *wrong*: a unit gives the distractor as if it were the fact (no correction or
  negation word such as "old", "previous", "not", "don't", "instead" beside it,
  and not the fact itself), or attributes the fact to the other party, or states a
  promise as done. A wrong fact is never counted as kept: it is worse than a
  missing one.

``TRAINING`` calls are the ones the summarizer was tuned on; ``HELD_OUT`` ones are
reported. A held-out call serves once: once a report has shown how the summarizer does
on it, it joins the training calls and fresh ones are written for the next change (the
six calls after pharmacy were held out until 8ccd6aa's report, vet, council and gym
until 28e2546's, water, garage and phone_plan until 3ab75cc's, furniture, boiler and
hearing until 5d29d01's, solar, movers and hotel until 80b175f's, car_rental, pension
and wedding_venue until 3b36437's; pest_control, self_storage and laptop_repair joined
the training calls unrun, their turns having been read while a change was designed;
skip_bin, laundry and catering were reported at ff0c88a).
Since water, the held-out calls are written by a helper that cannot see ctxmgr's code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FOLDS = 5
FOLDS_SCORED = (1, 3, 5)

KINDS = (
    "name", "id", "address", "phone", "preference", "agent_promise", "caller_promise",
    "tool_fact",
)

Turn = tuple[str, ...]
"""``("user", text)``, ``("assistant", text)``, or ``("tool", name, arguments, output)``."""


@dataclass(frozen=True)
class Fact:
    kind: str
    patterns: tuple[str, ...]
    """All must appear in one unit of the summary for the fact to count as kept."""
    query: str
    """How an agent would look it up in the archive, in its own words."""
    wrong: tuple[str, ...] = ()
    """Distractor values: given as the fact (unexcused, see the module doc), the fact is wrong."""
    who: tuple[str, ...] = ()
    """For an attributed fact: one of these words must be in the unit with the patterns."""
    not_who: tuple[str, ...] = ()
    """The other party: named with the patterns and none of ``who``, the fact is wrong."""
    done: str | None = None
    """A regex that, in a unit with the patterns, states a promise as already done."""
    folds: tuple[int, int] = (1, FOLDS)
    """The folds after which this is the fact (the old address until it is corrected)."""


@dataclass(frozen=True)
class Call:
    name: str
    spans: tuple[tuple[Turn, ...], ...]
    facts: tuple[Fact, ...] = field(default=())


_EXCUSE = re.compile(
    r"\b(old|older|previous|previously|former|formerly|earlier|moved|changed|changing|"
    r"correct|corrected|correction|updated|no longer|instead|originally|initially|not|"
    r"don t|do not|never|avoid|wrong|incorrect|replaced|closed|cancelled|lapsed|other|"
    # another person named beside the caller is not the caller's name
    r"neighbour|husband|wife|landlord|plumber|flatmate|sister|brother|mum|friend)\b"
)
_UNIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def fold_text(text: str) -> str:
    return re.sub(r"[\s\-–.,:()'\"’*#/]+", " ", text.lower()).strip()


def units(summary: str) -> list[str]:
    """The summary's units, folded; a bullet carries the header line above it."""
    found: list[str] = []
    header = ""
    for line in summary.splitlines():
        if not line.strip():
            continue
        bullet = bool(_BULLET.match(line))
        for part in _UNIT.split(line):
            if part.strip():
                found.append(fold_text(f"{header} {part}" if bullet else part))
        if not bullet:
            header = line
    return found


def _has_word(words: tuple[str, ...], unit: str) -> bool:
    return any(re.search(rf"\b{re.escape(fold_text(w))}\b", unit) for w in words)


def facts_after(call: Call, fold: int) -> list[Fact]:
    """The call's facts as they stand after ``fold`` folds."""
    return [f for f in call.facts if f.folds[0] <= fold <= f.folds[1]]


def judge(summary: str, fact: Fact) -> str:
    """``kept``, ``wrong`` or ``missing``."""
    all_units = units(summary)
    patterns = [fold_text(p) for p in fact.patterns]
    holding = [u for u in all_units if all(p in u for p in patterns)]
    for unit in holding:
        if fact.done and re.search(fact.done, unit):
            return "wrong"
        if fact.not_who and _has_word(fact.not_who, unit) and not _has_word(fact.who, unit):
            return "wrong"
    for unit in all_units:
        gives_distractor = any(fold_text(w) in unit for w in fact.wrong)
        if gives_distractor and unit not in holding and not _EXCUSE.search(unit):
            return "wrong"
    if any(not fact.who or _has_word(fact.who, u) for u in holding):
        return "kept"
    return "missing"


def score(summary: str, facts: list[Fact]) -> tuple[list[str], list[str]]:
    """The kinds of the facts kept and of those wrong in ``summary``."""
    verdicts = [(fact.kind, judge(summary, fact)) for fact in facts]
    return [k for k, v in verdicts if v == "kept"], [k for k, v in verdicts if v == "wrong"]


_AGENT = ("agent", "assistant", "we", "support", "the company", "clinic", "insurer", "bank")
_PROMISED = r"\b(has|have|was|were|had) (been )?(refunded|credited|waived|paid|booked|sent)\b|\b(agent|assistant) (refunded|credited|waived|paid)\b"


def _filler(*pairs: tuple[str, str]) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for question, answer in pairs:
        turns += [("user", question), ("assistant", answer)]
    return tuple(turns)


_NOISE = _filler(
    ("Sorry, the line is a bit noisy, I'm on the bus.", "No problem, I can hear you fine."),
    ("The app keeps logging me out, is that normal?", "That can happen after an update; logging in again usually fixes it."),
)
_HOURS = _filler(
    ("What are your opening hours, in case I need to call back?", "We're open 8 am to 8 pm, Monday to Saturday."),
    ("Is there a number for complaints?", "Yes, 0800 040 7766, but I can help with most things here."),
)
_CHAT = _filler(
    ("Sorry, my kettle just boiled. Where were we?", "No worries, we were just going over the details."),
    ("Do you get a lot of calls like this?", "Quite a few on Mondays, it's usually quieter by the afternoon."),
)

TRAINING: tuple[Call, ...] = (
    Call(
        "parcel",
        (
            (
                ("user", "Hi, this is Maria Okafor, I'm calling about a parcel that never arrived. My neighbour Tom Briggs said nothing came."),
                ("assistant", "Sorry to hear that, Maria. Can you give me the order number?"),
                ("user", "It's order 7731-K. Not the old one, 6620-B, that one arrived fine."),
                ("assistant", "Thanks. I see 7731-K going to 14 Alder Road, Leeds."),
                ("user", "Please don't call my work phone, 0113 496 0000. Use my mobile, 0161 555 0199."),
                ("assistant", "Noted, I'll use 0161 555 0199. I will refund the 12.50 pound delivery fee by Thursday the 9th."),
                ("user", "Thanks. And please leave parcels at the back door, never with the neighbours."),
                ("assistant", "Understood: the back door, not the neighbours."),
                *_NOISE,
            ),
            (
                ("user", "Can you see where the parcel is now?"),
                ("tool", "lookup_parcel", '{"order": "7731-K"}', '{"carrier": "DPD", "tracking": "JD0142-7733", "status": "held at depot", "depot": "Wakefield"}'),
                ("assistant", "It's held at a depot, so it hasn't been lost."),
                ("user", "The box it came in last time was damaged, I'll email you photos of it by Monday."),
                ("assistant", "Thank you, photos by Monday would help the claim."),
                *_HOURS,
            ),
            (
                ("user", "Actually, I moved last week. The new address is 3 Birch Lane, York."),
                ("assistant", "Thanks, I've changed the delivery address to 3 Birch Lane, York."),
                ("user", "Will the replacement come with the same carrier?"),
                ("assistant", "Yes, tracked, in two to three days."),
                *_CHAT,
            ),
            (
                ("user", "Can I get an email confirmation too?"),
                ("assistant", "Yes, to the email on your account."),
                ("user", "My sister ordered the same kettle, order 7790-K, is hers fine?"),
                ("assistant", "I can only look at your own orders, sorry."),
                *_NOISE,
            ),
            (
                ("user", "Do you deliver on Sundays?"),
                ("assistant", "Not in your area, sorry; Monday to Saturday only."),
                ("user", "And if it's late again?"),
                ("assistant", "Then call us and we'll escalate it."),
                *_HOURS,
            ),
        ),
        (
            Fact("name", ("Maria Okafor",), "customer name", wrong=("Tom Briggs",)),
            Fact("id", ("7731-K",), "missing parcel order number", wrong=("6620-B",)),
            Fact("address", ("14 Alder Road",), "delivery address", folds=(1, 2)),
            Fact("address", ("3 Birch Lane",), "where she lives now", wrong=("14 Alder Road",), folds=(3, FOLDS)),
            Fact("phone", ("0161 555 0199",), "which number to ring her on", wrong=("0113 496 0000",)),
            Fact("preference", ("back door",), "where to leave deliveries"),
            Fact("agent_promise", ("12.50", "Thursday"), "refund of the delivery fee", done=_PROMISED),
            Fact("caller_promise", ("photo", "Monday"), "pictures of the damaged box", who=("Maria", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("JD0142",), "tracking reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "broadband",
        (
            (
                ("user", "Hello, Dev Sharma here, account number AC-55810. My broadband drops every evening. My landlord, Mr Patel, says it's the wiring."),
                ("assistant", "Hi Dev. I can see AC-55810. There was an older account, AC-41002, closed last year, so I'll use the new one."),
                ("user", "Right. The router is at 22 Quay Street, Bristol."),
                ("assistant", "Thanks, 22 Quay Street. What's the best number to reach you?"),
                ("user", "My mobile, 07700 900461. My wife's number on file, 07700 900999, is wrong, don't use it."),
                ("assistant", "Got it, 07700 900461. I'll book an engineer for Tuesday the 14th and credit 20 pounds to the account."),
                ("user", "Good. Please tell the engineer to use the side gate, the dog is in the front."),
                ("assistant", "I'll note: use the side gate."),
                *_CHAT,
            ),
            (
                ("user", "Can you test the line from your end?"),
                ("tool", "line_test", '{"account": "AC-55810"}', '{"result": "fault", "where": "street cabinet", "ticket": "FT-88213"}'),
                ("assistant", "The test shows a fault outside your home, so the engineer visit is the right step."),
                ("user", "OK. I'll restart the router tonight and text you the colour of the lights."),
                ("assistant", "Thanks, that will help us."),
                *_NOISE,
            ),
            (
                ("user", "Sorry, I gave you the wrong street: the router is at 41 Quay Street, not 22."),
                ("assistant", "Corrected to 41 Quay Street, Bristol."),
                ("user", "What speed should I be getting?"),
                ("assistant", "Up to 150 megabits on your plan."),
                *_HOURS,
            ),
            (
                ("user", "Does the engineer need me to be home all day?"),
                ("assistant", "They'll call you 30 minutes before they arrive."),
                ("user", "My neighbour at number 43 has the same problem."),
                ("assistant", "They're welcome to call us too."),
                *_CHAT,
            ),
            (
                ("user", "And the router lights, which ones matter?"),
                ("assistant", "The internet light should be solid white."),
                ("user", "Can I upgrade my plan later?"),
                ("assistant", "Yes, any time after the fault is fixed."),
                *_NOISE,
            ),
        ),
        (
            Fact("name", ("Dev Sharma",), "customer name", wrong=("Mr Patel",)),
            Fact("id", ("AC-55810",), "account number", wrong=("AC-41002",)),
            Fact("address", ("22 Quay Street",), "router address", folds=(1, 2)),
            Fact("address", ("41 Quay Street",), "where the router is", wrong=("22 Quay Street",), folds=(3, FOLDS)),
            Fact("phone", ("07700 900461",), "number to reach him", wrong=("07700 900999",)),
            Fact("preference", ("side gate",), "how the engineer gets in"),
            Fact("agent_promise", ("Tuesday", "20 pounds"), "engineer visit and credit", done=_PROMISED),
            Fact("caller_promise", ("restart", "router"), "what he will do tonight", who=("Dev", "caller", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("FT-88213",), "fault ticket", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "energy",
        (
            (
                ("user", "Hi, my name's Grace Whitfield. My flatmate Owen Price pays the bills but the account is mine."),
                ("assistant", "Thanks Grace. What's the account number?"),
                ("user", "EN-30562. There's an old prepay account, EN-29114, but that one's closed."),
                ("assistant", "Found EN-30562, supplied at 8 Ferry Lane, Hull."),
                ("user", "Ring me on 07823 410 552. The landline, 01482 300 900, is being cut off next week."),
                ("assistant", "Noted, 07823 410 552. I will send a 40 pound goodwill credit by Friday the 20th and book a meter check."),
                ("user", "When they come, knock loudly, the doorbell is broken."),
                ("assistant", "Knock loudly, noted for the visit."),
                *_HOURS,
            ),
            (
                ("user", "Why was the bill so high?"),
                ("tool", "get_readings", '{"account": "EN-30562"}', '{"last_reading": "04417", "estimated": true, "case": "MR-61904"}'),
                ("assistant", "Your last reading was an estimate, which explains the high bill."),
                ("user", "Then I'm going to submit a proper reading online on Wednesday."),
                ("assistant", "Perfect, that will correct the estimate."),
                *_NOISE,
            ),
            (
                ("user", "Send everything to 16 Carr Road, Beverley from now on, I've left Ferry Lane."),
                ("assistant", "Done, that's changed on the account."),
                ("user", "Is there a cheaper tariff?"),
                ("assistant", "The fixed tariff may save you a little; I can send details."),
                *_CHAT,
            ),
            (
                ("user", "What does the standing charge cover?"),
                ("assistant", "The cost of keeping you connected, whatever you use."),
                ("user", "My friend at number 21 got a smart meter, can I?"),
                ("assistant", "Yes, we can book one later."),
                *_HOURS,
            ),
            (
                ("user", "Do I need to be in for the meter check?"),
                ("assistant", "Yes, someone over 18 needs to be there."),
                ("user", "Fine, that's all for now."),
                ("assistant", "Thanks for calling."),
                *_NOISE,
            ),
        ),
        (
            Fact("name", ("Grace Whitfield",), "customer name", wrong=("Owen Price",)),
            Fact("id", ("EN-30562",), "energy account", wrong=("EN-29114",)),
            Fact("address", ("8 Ferry Lane",), "supply address", folds=(1, 2)),
            Fact("address", ("16 Carr Road",), "where her post goes", wrong=("8 Ferry Lane",), folds=(3, FOLDS)),
            Fact("phone", ("07823 410 552",), "how to get hold of her", wrong=("01482 300 900",)),
            Fact("preference", ("knock",), "doorbell broken, what to do"),
            Fact("agent_promise", ("40 pound", "Friday"), "goodwill credit", done=_PROMISED),
            Fact("caller_promise", ("submit", "Wednesday"), "her own meter figures", who=("Grace", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("MR-61904",), "meter case", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "pharmacy",
        (
            (
                ("user", "Hello, Kwame Mensah here. I sometimes collect for my brother Kofi, but this is my own prescription."),
                ("assistant", "Hi Kwame. Can I take the prescription reference?"),
                ("user", "RX-48213. RX-48231 was last month's, ignore that."),
                ("assistant", "Got RX-48213, for delivery to 31 Kiln Street, Stoke."),
                ("user", "Call 07555 019 337 if there's a problem, not the surgery, 01782 600 600."),
                ("assistant", "Noted. I'll deliver it on Saturday the 8th and refund the 9.35 pound charge you were wrongly billed."),
                ("user", "Please hand it to me in person, don't leave it in the porch."),
                ("assistant", "In person only, understood."),
                *_CHAT,
            ),
            (
                ("user", "Is my inhaler on there too?"),
                ("tool", "check_prescription", '{"ref": "RX-48213"}', '{"items": 2, "inhaler": "authorised", "batch": "BT-20775"}'),
                ("assistant", "Yes, the inhaler is authorised and included."),
                ("user", "Great. I will phone the surgery tomorrow to book my asthma review."),
                ("assistant", "Good idea, they'll want to see you."),
                *_HOURS,
            ),
            (
                ("user", "Oh, wrong address on there, sorry: I moved out of Kiln Street. It's 5 Vale Place, Hanley now."),
                ("assistant", "Thanks, I've put that on your record."),
                ("user", "Do you deliver before noon?"),
                ("assistant", "Usually between 9 and 1."),
                *_NOISE,
            ),
            (
                ("user", "Can the driver bring a sharps bin?"),
                ("assistant", "Yes, I'll ask them to."),
                ("user", "My neighbour at 7 uses you as well."),
                ("assistant", "We cover most of the street."),
                *_CHAT,
            ),
            (
                ("user", "What if I'm out when they come?"),
                ("assistant", "They'll leave a card and try again the next day."),
                ("user", "OK, thanks for sorting it."),
                ("assistant", "You're welcome."),
                *_HOURS,
            ),
        ),
        (
            Fact("name", ("Kwame Mensah",), "patient name", wrong=("Kofi",)),
            Fact("id", ("RX-48213",), "prescription reference", wrong=("RX-48231",)),
            Fact("address", ("31 Kiln Street",), "delivery address", folds=(1, 2)),
            Fact("address", ("5 Vale Place",), "where he lives now", wrong=("31 Kiln Street",), folds=(3, FOLDS)),
            Fact("phone", ("07555 019 337",), "number if something goes wrong", wrong=("01782 600 600",)),
            Fact("preference", ("in person",), "how to hand over the medicine"),
            Fact("agent_promise", ("Saturday", "9.35"), "delivery day and refund", done=_PROMISED),
            Fact("caller_promise", ("asthma review",), "what he will book", who=("Kwame", "caller", "customer", "patient", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("BT-20775",), "batch number", folds=(2, FOLDS)),
        ),
    ),
    # held out until reported: clinic, insurance and bank from b9d561d to 8ccd6aa, dentist,
    # letting and airline at 8ccd6aa; training since
    Call(
        "clinic",
        (
            (
                ("user", "Hi, it's Ana Lopez, about moving my physio appointment. My husband Luis usually books them."),
                ("assistant", "Hello Ana. Can I have your patient number?"),
                ("user", "P-20417."),
                ("assistant", "I have P-20417; there's also a P-20471 with a similar name, so let me confirm your address."),
                ("user", "9 Mill Road, Cambridge."),
                ("assistant", "Confirmed. What number should the clinic use?"),
                ("user", "01223 760 114 please, not my landline 01223 760 000, nobody answers it."),
                ("assistant", "Noted, 01223 760 114. I'll move you to Friday the 17th at 10 am and waive the 15 pound late-change fee."),
                ("user", "Thank you. I'd prefer a female physiotherapist if possible."),
                ("assistant", "I'll add that preference."),
                *_HOURS,
            ),
            (
                ("user", "Is my referral still valid?"),
                ("tool", "check_referral", '{"patient": "P-20417"}', '{"referral": "R-3390", "valid": true, "sessions_left": 4}'),
                ("assistant", "Yes, your referral is valid, with a few sessions left."),
                ("user", "Good. I'll bring my MRI letter to the appointment."),
                ("assistant", "Great, the physio will want to see it."),
                *_CHAT,
            ),
            (
                ("user", "Oh, I should say I've moved: I'm now at 27 Hills Road, Cambridge."),
                ("assistant", "Updated to 27 Hills Road."),
                ("user", "Is there parking at the clinic?"),
                ("assistant", "Yes, two hours free at the back."),
                *_NOISE,
            ),
            (
                ("user", "Should I bring anything else?"),
                ("assistant", "Comfortable clothes and your exercise sheet."),
                ("user", "My friend goes to the Newmarket clinic, is it the same?"),
                ("assistant", "Same service, different team."),
                *_HOURS,
            ),
            (
                ("user", "How long is the session?"),
                ("assistant", "Forty-five minutes."),
                ("user", "Can I claim it on my insurance?"),
                ("assistant", "Usually yes; ask your insurer for their form."),
                *_CHAT,
            ),
        ),
        (
            Fact("name", ("Ana Lopez",), "patient's name", wrong=("Luis",)),
            Fact("id", ("P-20417",), "patient number", wrong=("P-20471",)),
            Fact("address", ("9 Mill Road",), "home address", folds=(1, 2)),
            Fact("address", ("27 Hills Road",), "where she lives now", wrong=("9 Mill Road",), folds=(3, FOLDS)),
            Fact("phone", ("01223 760 114",), "number the clinic should ring", wrong=("01223 760 000",)),
            Fact("preference", ("female",), "which physiotherapist she wants"),
            Fact("agent_promise", ("Friday", "15 pound"), "new appointment and fee", done=_PROMISED),
            Fact("caller_promise", ("MRI",), "scan letter to bring", who=("Ana", "caller", "patient", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("R-3390",), "referral reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "insurance",
        (
            (
                ("user", "Hello, my name is Tom Reyes, I've had a leak. The plumber, Gary Hume, fixed it this morning."),
                ("assistant", "Sorry to hear that, Tom. Which policy is it under?"),
                ("user", "HP-70215. There's an old one, HP-70125, but that lapsed in May."),
                ("assistant", "Thanks, HP-70215 is active. The insured address is 5 Elm Court, Derby?"),
                ("user", "Yes. Call me on 07911 123 456. Don't use the office number, 01332 400 100, I'm never there."),
                ("assistant", "Noted, 07911 123 456. I'll cover the 90 pound emergency plumber bill, paid by Wednesday the 22nd."),
                ("user", "Great. And I don't want the loss adjuster to come at a weekend."),
                ("assistant", "Understood, weekdays only for the visit."),
                *_CHAT,
            ),
            (
                ("user", "Has a claim been opened?"),
                ("tool", "open_claim", '{"policy": "HP-70215", "cause": "escape of water"}', '{"claim_ref": "CLM-55602", "cover": "escape of water", "limit": 500}'),
                ("assistant", "Yes, it's open now and it's covered."),
                ("user", "I'll send you the plumber's invoice by Friday."),
                ("assistant", "Thank you, we'll need it to pay."),
                *_HOURS,
            ),
            (
                ("user", "One thing: I'm moving out while it dries. Use Flat 2, 18 Station Road, Derby for post."),
                ("assistant", "Updated: Flat 2, 18 Station Road, Derby."),
                ("user", "How long does drying usually take?"),
                ("assistant", "Two to four weeks, depending on the walls."),
                *_NOISE,
            ),
            (
                ("user", "Will my premium go up?"),
                ("assistant", "It may change at renewal; one claim usually has a small effect."),
                ("user", "My brother is with you too, policy HP-71111."),
                ("assistant", "I can only discuss your own policy, sorry."),
                *_CHAT,
            ),
            (
                ("user", "Do I need to keep the damaged carpet?"),
                ("assistant", "Yes, until the adjuster has seen it, or photos of it."),
                ("user", "OK, thanks."),
                ("assistant", "You're welcome."),
                *_HOURS,
            ),
        ),
        (
            Fact("name", ("Tom Reyes",), "policyholder's name", wrong=("Gary Hume",)),
            Fact("id", ("HP-70215",), "policy number", wrong=("HP-70125",)),
            Fact("address", ("5 Elm Court",), "insured address", folds=(1, 2)),
            Fact("address", ("18 Station Road",), "where to send his post", wrong=("5 Elm Court",), folds=(3, FOLDS)),
            Fact("phone", ("07911 123 456",), "number to ring him on", wrong=("01332 400 100",)),
            Fact("preference", ("weekend",), "when the adjuster may visit"),
            Fact("agent_promise", ("90", "Wednesday"), "plumber bill payment", done=_PROMISED),
            Fact("caller_promise", ("invoice", "Friday"), "plumber's bill he will send", who=("Tom", "caller", "customer", "policyholder", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("CLM-55602",), "claim reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "bank",
        (
            (
                ("user", "Hi, I'm Priya Nair. There's a charge on my card I don't recognise. My flatmate Jo Kemp thinks it's a scam."),
                ("assistant", "Let's look at it, Priya. Which card is it?"),
                ("user", "The one ending 4417. The old one ending 9902 was cancelled in January."),
                ("assistant", "Thanks, card ending 4417. Is your address still 12 Rose Street, Glasgow?"),
                ("user", "Yes. Ring me on 07400 555 218, not the home phone 0141 496 0321, it's disconnected."),
                ("assistant", "Noted, 07400 555 218. I'll refund the 35 pound charge by Monday the 12th while we investigate."),
                ("user", "Thanks. Please send any letters in large print, my eyesight is poor."),
                ("assistant", "I'll set letters to large print."),
                *_NOISE,
            ),
            (
                ("user", "Who was the charge from?"),
                ("tool", "open_dispute", '{"card": "4417", "amount": 35}', '{"dispute_id": "DS-71120", "merchant": "QuickFlights Ltd", "status": "open"}'),
                ("assistant", "It's from a travel company; I've opened a dispute."),
                ("user", "I'll cut up the card today and order a new one in the app."),
                ("assistant", "Good idea, that stops any further charges."),
                *_CHAT,
            ),
            (
                ("user", "Also, I'm moving next week: my new address is 7 Park Terrace, Glasgow."),
                ("assistant", "Updated to 7 Park Terrace, Glasgow, so the new card goes there."),
                ("user", "How long does a new card take?"),
                ("assistant", "Three to five working days."),
                *_HOURS,
            ),
            (
                ("user", "Can I still use Apple Pay meanwhile?"),
                ("assistant", "Not on the old card once it's blocked."),
                ("user", "My mum banks with you too, can you check her account ending 5500?"),
                ("assistant", "Only with her permission, sorry."),
                *_NOISE,
            ),
            (
                ("user", "Will this affect my credit score?"),
                ("assistant", "No, a dispute doesn't affect it."),
                ("user", "OK, that's everything."),
                ("assistant", "Thanks for calling."),
                *_CHAT,
            ),
        ),
        (
            Fact("name", ("Priya Nair",), "customer's name", wrong=("Jo Kemp",)),
            Fact("id", ("4417",), "which card", wrong=("9902",)),
            Fact("address", ("12 Rose Street",), "home address", folds=(1, 2)),
            Fact("address", ("7 Park Terrace",), "where the new card goes", wrong=("12 Rose Street",), folds=(3, FOLDS)),
            Fact("phone", ("07400 555 218",), "number to ring her", wrong=("0141 496 0321",)),
            Fact("preference", ("large print",), "how she wants letters"),
            Fact("agent_promise", ("35", "Monday"), "refund of the charge", done=_PROMISED),
            Fact("caller_promise", ("cut up",), "what she will do with the card", who=("Priya", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("DS-71120",), "dispute reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "dentist",
        (
            (
                ("user", "Hi, I'm Leon Fairley, calling to book a check-up. My wife Nadia Rahman is also a patient with you."),
                ("assistant", "Hello Leon. What's your patient number?"),
                ("user", "D-66120. Not D-61620, that was my card from the Leeds practice."),
                ("assistant", "Thanks, D-66120. I have you at 4 Wren Close, Otley."),
                ("user", "Text or ring 07912 884 301. The home number, 01943 220 118, is never answered."),
                ("assistant", "Got it, 07912 884 301. I'll book you for Thursday the 3rd at 2 pm and waive the 25 pound missed-appointment fee."),
                ("user", "Thanks. I'm nervous of needles, so no injections unless they're really needed."),
                ("assistant", "I'll put a note on your file."),
                *_CHAT,
            ),
            (
                ("user", "Is my treatment plan still open?"),
                ("tool", "get_plan", '{"patient": "D-66120"}', '{"plan": "TP-40931", "stage": "2 of 3", "paid": true}'),
                ("assistant", "Yes, your plan is open and paid, at stage two."),
                ("user", "Good. I'll fill in the medical history form online before the visit."),
                ("assistant", "Thank you, that saves time on the day."),
                *_NOISE,
            ),
            (
                ("user", "By the way, we've just moved to 19 Ash Grove, Ilkley, could you update that?"),
                ("assistant", "Of course, updated."),
                ("user", "Do you have parking?"),
                ("assistant", "A small car park at the side."),
                *_HOURS,
            ),
            (
                ("user", "How long will the check-up take?"),
                ("assistant", "About twenty minutes."),
                ("user", "Can my son come in with me? He's 6."),
                ("assistant", "Yes, children are welcome."),
                *_CHAT,
            ),
            (
                ("user", "Do you do whitening?"),
                ("assistant", "Yes, we can talk about it at the check-up."),
                ("user", "Great, thanks for your help."),
                ("assistant", "See you soon."),
                *_NOISE,
            ),
        ),
        (
            Fact("name", ("Leon Fairley",), "patient's name", wrong=("Nadia Rahman",)),
            Fact("id", ("D-66120",), "dental patient number", wrong=("D-61620",)),
            Fact("address", ("4 Wren Close",), "home address", folds=(1, 2)),
            Fact("address", ("19 Ash Grove",), "where he lives now", wrong=("4 Wren Close",), folds=(3, FOLDS)),
            Fact("phone", ("07912 884 301",), "how to reach him", wrong=("01943 220 118",)),
            Fact("preference", ("needle",), "what makes him nervous at the dentist"),
            Fact("agent_promise", ("Thursday", "25 pound"), "booking and fee", done=_PROMISED),
            Fact("caller_promise", ("medical history",), "form to complete before the visit", who=("Leon", "caller", "patient", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("TP-40931",), "treatment plan reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "letting",
        (
            (
                ("user", "Hello, this is Rosa Almeida, one of your tenants. The landlord, Mr Grant, told me to call you about the boiler."),
                ("assistant", "Hi Rosa. Which tenancy reference is it?"),
                ("user", "TN-5218. The one on my old contract, TN-4907, ended in March."),
                ("assistant", "Thanks. TN-5218, for Flat 3, 60 Canal Street, Leeds."),
                ("user", "Please call me on 07488 203 915, not my work line, 0113 870 4400."),
                ("assistant", "Noted, 07488 203 915. I'll send a heating engineer on Monday the 9th and take 50 pounds off this month's rent."),
                ("user", "Thank you. Please ask them to take their shoes off inside, we have new carpets."),
                ("assistant", "I'll pass that on."),
                *_NOISE,
            ),
            (
                ("user", "Has the boiler been reported before?"),
                ("tool", "job_history", '{"tenancy": "TN-5218"}', '{"job": "JB-77046", "last_service": "2024-11", "status": "open"}'),
                ("assistant", "There's an open job already, so the engineer will have the history."),
                ("user", "OK. I'm going to leave the spare key with the concierge tomorrow."),
                ("assistant", "Perfect, the engineer can collect it there."),
                *_HOURS,
            ),
            (
                ("user", "Quick update: I've moved into the new flat at 14 Wharf Street, Leeds, so use that address now."),
                ("assistant", "Thanks, I've updated your contact address."),
                ("user", "Will my deposit move with me?"),
                ("assistant", "Yes, it stays registered to you."),
                *_CHAT,
            ),
            (
                ("user", "Is the rent due on the same day?"),
                ("assistant", "Yes, the first of each month."),
                ("user", "My friend in flat 12 has damp, who should she call?"),
                ("assistant", "She can call us on this number too."),
                *_NOISE,
            ),
            (
                ("user", "Can I paint the bedroom?"),
                ("assistant", "Ask the landlord first, in writing."),
                ("user", "Fine, thanks."),
                ("assistant", "Thanks for calling."),
                *_HOURS,
            ),
        ),
        (
            Fact("name", ("Rosa Almeida",), "tenant's name", wrong=("Mr Grant",)),
            Fact("id", ("TN-5218",), "tenancy reference", wrong=("TN-4907",)),
            Fact("address", ("60 Canal Street",), "flat address", folds=(1, 2)),
            Fact("address", ("14 Wharf Street",), "where she lives now", wrong=("60 Canal Street",), folds=(3, FOLDS)),
            Fact("phone", ("07488 203 915",), "number to call her", wrong=("0113 870 4400",)),
            Fact("preference", ("shoes",), "what workers must do indoors"),
            Fact("agent_promise", ("Monday", "50 pounds"), "engineer visit and rent reduction", done=_PROMISED),
            Fact("caller_promise", ("spare key",), "what she will leave with the concierge", who=("Rosa", "caller", "tenant", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("JB-77046",), "boiler job number", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "airline",
        (
            (
                ("user", "Hi, Sven Larsen here, my suitcase didn't arrive on the flight from Oslo. My friend Erik Berg got his bag fine."),
                ("assistant", "Sorry about that, Sven. Do you have the booking reference?"),
                ("user", "Booking QX7R2M. Not QX7R2N, that's my return."),
                ("assistant", "Got QX7R2M. Shall we deliver the bag to your hotel, the Harbour Inn, 88 Quay Road, Aberdeen?"),
                ("user", "Yes. My number is 07301 556 782. Don't use the hotel's front desk, 01224 500 600."),
                ("assistant", "Noted. I'll have the bag couriered to you by Sunday the 15th and reimburse up to 75 pounds for essentials."),
                ("user", "Please have it kept upright, there are bottles inside."),
                ("assistant", "I'll ask them to keep it upright."),
                *_HOURS,
            ),
            (
                ("user", "Do you know where it is?"),
                ("tool", "trace_bag", '{"booking": "QX7R2M"}', '{"tag": "OS-482211", "location": "Oslo", "next_flight": "tomorrow"}'),
                ("assistant", "It's still in Oslo and will be on tomorrow's flight."),
                ("user", "Right. I'll keep the receipts for anything I buy and send them to you."),
                ("assistant", "Yes please, we need those for the reimbursement."),
                *_CHAT,
            ),
            (
                ("user", "Change of plan: I've checked out of the hotel. I'm staying at my cousin's flat now, 5 Ferry Road, Aberdeen, send it there."),
                ("assistant", "No problem, I've changed the delivery address."),
                ("user", "Will I get a text when it's on the way?"),
                ("assistant", "Yes, on the day of delivery."),
                *_NOISE,
            ),
            (
                ("user", "Is the flight tomorrow on time?"),
                ("assistant", "As far as we know, yes."),
                ("user", "My seat was 14C, the screen didn't work either."),
                ("assistant", "I'm sorry, I'll pass that on."),
                *_HOURS,
            ),
            (
                ("user", "Can I claim for the taxi to the airport?"),
                ("assistant", "Not for that, only for essentials."),
                ("user", "Understood, thanks."),
                ("assistant", "Thanks for your patience."),
                *_CHAT,
            ),
        ),
        (
            Fact("name", ("Sven Larsen",), "passenger's name", wrong=("Erik Berg",)),
            Fact("id", ("QX7R2M",), "booking code", wrong=("QX7R2N",)),
            Fact("address", ("88 Quay Road",), "where the bag was going", folds=(1, 2)),
            Fact("address", ("5 Ferry Road",), "where he is staying now", wrong=("88 Quay Road",), folds=(3, FOLDS)),
            Fact("phone", ("07301 556 782",), "number to ring him", wrong=("01224 500 600",)),
            Fact("preference", ("upright",), "how to carry the case"),
            Fact("agent_promise", ("Sunday", "75 pounds"), "courier date and essentials money", done=_PROMISED),
            Fact("caller_promise", ("receipts",), "what he keeps for the claim", who=("Sven", "caller", "passenger", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("OS-482211",), "bag tag number", folds=(2, FOLDS)),
        ),
    ),
    # held out at f01857c, reported at 28e2546
    Call(
        "vet",
        (
            (
                ("user", "Hi, I'm Hannah Cole, my dog Biscuit needs his vaccinations. My neighbour Paul Diaz walks him sometimes."),
                ("assistant", "Hi Hannah. Is Biscuit registered with us?"),
                ("user", "Yes, pet number VT-30718. The old number VT-30187 was for my cat, who passed away."),
                ("assistant", "Found VT-30718. We have you at 11 Orchard Way, Kendal."),
                ("user", "Best number is 07723 118 904. My old mobile, 07723 118 000, I lost it."),
                ("assistant", "Thanks, 07723 118 904. I'll book Biscuit in for Wednesday the 11th at 9 and take 20 pounds off the booster."),
                ("user", "Lovely. He's scared of other dogs, so could we wait outside rather than in the waiting room?"),
                ("assistant", "Of course, we'll call you in from the car park."),
                *_NOISE,
            ),
            (
                ("user", "Is he due anything else?"),
                ("tool", "check_records", '{"pet": "VT-30718"}', '{"due": "flea treatment", "last_visit": "2024-03-02", "record": "HX-55193"}'),
                ("assistant", "Just his flea treatment, we can do that on the day."),
                ("user", "Great. I'll bring a stool sample with me on the day."),
                ("assistant", "Perfect, bring it in a clean pot."),
                *_CHAT,
            ),
            (
                ("user", "Before I forget, we've moved house, the new place is 2 Fell View, Kendal."),
                ("assistant", "Thanks, I've changed it."),
                ("user", "Do you have weekend appointments?"),
                ("assistant", "Saturday mornings, yes."),
                *_HOURS,
            ),
            (
                ("user", "How long does the booster last?"),
                ("assistant", "A year, we'll send a reminder."),
                ("user", "My sister's dog goes to the Penrith branch."),
                ("assistant", "That's one of ours too."),
                *_NOISE,
            ),
            (
                ("user", "Should I feed him before the visit?"),
                ("assistant", "A light breakfast is fine."),
                ("user", "OK, thanks so much."),
                ("assistant", "See you both soon."),
                *_CHAT,
            ),
        ),
        (
            Fact("name", ("Hannah Cole",), "owner's name", wrong=("Paul Diaz",)),
            Fact("id", ("VT-30718",), "dog's registration", wrong=("VT-30187",)),
            Fact("address", ("11 Orchard Way",), "home address", folds=(1, 2)),
            Fact("address", ("2 Fell View",), "where she lives now", wrong=("11 Orchard Way",), folds=(3, FOLDS)),
            Fact("phone", ("07723 118 904",), "how to call her", wrong=("07723 118 000",)),
            Fact("preference", ("outside",), "where they should wait at the visit"),
            Fact("agent_promise", ("Wednesday", "20 pounds"), "vaccination booking and discount", done=_PROMISED),
            Fact("caller_promise", ("stool sample",), "what she brings for the vet", who=("Hannah", "caller", "owner", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("HX-55193",), "medical record reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "council",
        (
            (
                ("user", "Hello, my name is Omar Haddad. My landlord, Mrs Price, said I should ring about the missed bin collections."),
                ("assistant", "Hi Omar. Can I take your council tax reference?"),
                ("user", "It's CT-884102. The previous tenant's was CT-884120, you might still have that one."),
                ("assistant", "Thanks, CT-884102, at 33 Elm Street, Luton."),
                ("user", "Call me on 07405 611 270. Please don't use the landline, 01582 410 332, it's my landlord's."),
                ("assistant", "Noted, 07405 611 270. I'll arrange a special collection on Friday the 6th and refund the 30 pound bulky waste charge."),
                ("user", "Thanks. Please tell the crew to close the gate after them, the dog gets out."),
                ("assistant", "I'll add that to the round notes."),
                *_HOURS,
            ),
            (
                ("user", "Why were they missed?"),
                ("tool", "round_status", '{"ref": "CT-884102"}', '{"round": "R14", "missed": 3, "report": "WR-20951"}'),
                ("assistant", "Your street was left off the round three times, I've logged it."),
                ("user", "OK. I'll put the bins out by 7 on collection mornings."),
                ("assistant", "Thanks, that helps the crew."),
                *_NOISE,
            ),
            (
                ("user", "I've just moved to 8 Kings Road, Luton, please update my address."),
                ("assistant", "Done, updated."),
                ("user", "Will my council tax change?"),
                ("assistant", "Only if the band is different."),
                *_CHAT,
            ),
            (
                ("user", "Can I get a bigger recycling box?"),
                ("assistant", "Yes, I can order one for you."),
                ("user", "My friend at number 10 wants one too."),
                ("assistant", "She can request it online."),
                *_HOURS,
            ),
            (
                ("user", "When is the next garden waste round?"),
                ("assistant", "Every other Tuesday from March."),
                ("user", "Right, that's all, thanks."),
                ("assistant", "Thanks for calling."),
                *_NOISE,
            ),
        ),
        (
            Fact("name", ("Omar Haddad",), "resident's name", wrong=("Mrs Price",)),
            Fact("id", ("CT-884102",), "council tax number", wrong=("CT-884120",)),
            Fact("address", ("33 Elm Street",), "property address", folds=(1, 2)),
            Fact("address", ("8 Kings Road",), "where he lives now", wrong=("33 Elm Street",), folds=(3, FOLDS)),
            Fact("phone", ("07405 611 270",), "how to contact him", wrong=("01582 410 332",)),
            Fact("preference", ("gate",), "what the crew must do on leaving"),
            Fact("agent_promise", ("Friday", "30 pound"), "special collection and charge", done=_PROMISED),
            Fact("caller_promise", ("bins out",), "what he does on collection mornings", who=("Omar", "caller", "resident", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("WR-20951",), "waste report number", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "gym",
        (
            (
                ("user", "Hi, Chloe Bennett here. I want to freeze my membership. My flatmate Marcus Reid told me you do that."),
                ("assistant", "Hi Chloe. What's your membership number?"),
                ("user", "GM-40562. There's an old one, GM-40265, from before I rejoined."),
                ("assistant", "Thanks, GM-40562, registered at 27 Derwent Avenue, Derby."),
                ("user", "Use my mobile, 07811 734 220. Not my office, 01332 900 455."),
                ("assistant", "Noted. I'll freeze it from Monday the 2nd and refund the 15 pound joining fee."),
                ("user", "Thanks. Please only email me, no texts, I get too many."),
                ("assistant", "Noted for your account."),
                *_CHAT,
            ),
            (
                ("user", "How long can I freeze it for?"),
                ("tool", "membership_rules", '{"member": "GM-40562"}', '{"max_freeze_months": 3, "case": "FZ-71846"}'),
                ("assistant", "Up to three months, I've opened the freeze request."),
                ("user", "Fine. I'm going to send you my doctor's note by Thursday."),
                ("assistant", "Thanks, we need that for a medical freeze."),
                *_HOURS,
            ),
            (
                ("user", "Oh, and my address is wrong, it's 4 Ribble Court, Derby now, I moved in June."),
                ("assistant", "Updated, thanks."),
                ("user", "Can I still use the pool during the freeze?"),
                ("assistant", "No, the freeze covers everything."),
                *_NOISE,
            ),
            (
                ("user", "Will my locker be kept?"),
                ("assistant", "Yes, for up to three months."),
                ("user", "My brother wants to join, is there a discount?"),
                ("assistant", "There's a referral offer, he can ask at reception."),
                *_CHAT,
            ),
            (
                ("user", "And when it restarts, is the price the same?"),
                ("assistant", "Yes, your price is locked."),
                ("user", "Great, thank you."),
                ("assistant", "Take care, Chloe."),
                *_HOURS,
            ),
        ),
        (
            Fact("name", ("Chloe Bennett",), "member's name", wrong=("Marcus Reid",)),
            Fact("id", ("GM-40562",), "membership number", wrong=("GM-40265",)),
            Fact("address", ("27 Derwent Avenue",), "registered address", folds=(1, 2)),
            Fact("address", ("4 Ribble Court",), "where she lives now", wrong=("27 Derwent Avenue",), folds=(3, FOLDS)),
            Fact("phone", ("07811 734 220",), "how to ring her", wrong=("01332 900 455",)),
            Fact("preference", ("email",), "how she wants to be contacted"),
            Fact("agent_promise", ("Monday", "15 pound"), "freeze date and fee", done=_PROMISED),
            Fact("caller_promise", ("doctor",), "what she will send", who=("Chloe", "caller", "member", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("FZ-71846",), "freeze request id", folds=(2, FOLDS)),
        ),
    ),
    # held out at 3ab75cc, reported at 3ab75cc
    Call(
        "water",
        (
            (
                ("user", "Hello? Yes, I'd like to report a leak. Water's been bubbling up through the pavement by my front wall since Saturday. Bronwen Tudor, that's me."),
                ("assistant", "Thanks for ringing it in, Bronwen. Have you got a bill to hand, for the customer reference?"),
                ("user", "Somewhere... here we are, WA-603174. My daughter, Carys Lloyd, sorted the account out for me, so her name may be on the notes, but it's mine."),
                ("assistant", "That's fine, WA-603174 is in your name. I can see a closed one as well, WA-603147, from before the meter was fitted, so I'll leave that be. Where exactly is the water coming up?"),
                ("user", "Outside the house, 27 Nant Road, Bangor, just by the drain."),
                ("assistant", "And which number should the repair crew ring if they can't find it?"),
                ("user", "My mobile, 07389 442 610. Carys's mobile, 07389 115 002, might be on the file too, but she lives down in Cardiff, so there's no point trying her."),
                ("assistant", "Understood, 07389 442 610 for the crew. You've had poor pressure all week, so I'll put a 25 pound credit on your next bill, and a leak team will be with you on Tuesday the 18th."),
                ("user", "That's kind. Oh, and please don't let them park on the grass verge, the council only reseeded it in the autumn."),
                ("assistant", "I'll put that on the job for the van driver."),
                ("user", "Sorry, that's the dog barking at the postman, ignore him."),
                ("assistant", "Ha, no problem at all."),
            ),
            (
                ("user", "Will I have to pay for this? The man next door reckons if it's my pipe, it's my problem."),
                ("tool", "locate_leak", '{"account": "WA-603174"}', '{"side": "network", "asset": "distribution main", "incident": "LK-29085", "priority": "medium"}'),
                ("assistant", "No, you won't. It's on our side of the boundary box, on the main under the footpath, so it's ours to fix."),
                ("user", "Oh, that's a relief. I'm going to film it on my phone tonight when it's at its worst and send you the video."),
                ("assistant", "Please do, the crew find that really helpful."),
                *_CHAT,
            ),
            (
                ("user", "Oh my word, I've just realised. I told you Nant Road, didn't I? I lived there thirty years, it just comes out. We relocated in March; the house is 3 Ffordd Eryri, Bangor, and that's where the water is."),
                ("assistant", "Easily done. I've put 3 Ffordd Eryri, Bangor on the job before anyone's been sent out."),
                ("user", "Will they need to come inside?"),
                ("assistant", "Shouldn't do, it's all outside work. They may knock to check where your stop tap is."),
                *_NOISE,
            ),
            (
                ("user", "Will the water be off while they dig?"),
                ("assistant", "Possibly for an hour or two; they'll put a card through the door first."),
                ("user", "My grandson's desperate to watch the digger. Is that allowed?"),
                ("assistant", "From behind the barriers, he's very welcome."),
                ("user", "And the puddle froze over this morning, should I grit it?"),
                ("assistant", "A bit of salt won't hurt, just keep people off it."),
                *_HOURS,
            ),
            (
                ("user", "Is there a hosepipe ban coming this summer? My roses will never forgive me."),
                ("assistant", "Nothing planned at the moment, the reservoirs are fairly full."),
                ("user", "Right, I'll let you get on then."),
                ("assistant", "Thanks, Bronwen, take care now."),
                *_CHAT,
            ),
        ),
        (
            Fact("name", ("Bronwen Tudor",), "who reported the burst", wrong=("Carys Lloyd",)),
            Fact("id", ("WA-603174",), "household billing number", wrong=("WA-603147",)),
            Fact("address", ("27 Nant Road",), "location of the leak", folds=(1, 2)),
            Fact("address", ("3 Ffordd Eryri",), "which property the pipe is failing at", wrong=("27 Nant Road",), folds=(3, FOLDS)),
            Fact("phone", ("07389 442 610",), "how the engineers can contact her", wrong=("07389 115 002",)),
            Fact("preference", ("verge",), "where vehicles must not stop"),
            Fact("agent_promise", ("Tuesday", "25 pound"), "repair visit and goodwill amount", done=_PROMISED),
            Fact("caller_promise", ("video",), "clip she plans to record for us", who=("Bronwen", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("LK-29085",), "case number for the pipe fault", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "garage",
        (
            (
                ("user", "Morning, Declan Byrne here. I need the van in for its MOT, it runs out at the end of the month."),
                ("assistant", "Morning Declan. What's the registration?"),
                ("user", "KM19 XTD, white Vivaro. Fair warning, the logbook still says Stanley Okoro, he's the fella I bought it off in the spring, the new one hasn't come back from the DVLA yet."),
                ("assistant", "Not a problem, the test goes by the vehicle. Found KM19 XTD. You've an older record with us too, LR15 HBV, the Berlingo; is that still on the road?"),
                ("user", "No, that went for scrap in January. Can you do collection? The van's at 48 Tannery Lane, Macclesfield, round the back of the house."),
                ("assistant", "We can. What number should the driver ring when he's outside?"),
                ("user", "07954 327 180, that's me. The one on the side of the van, 01625 880 431, is the old office line, nobody's picking that up."),
                ("assistant", "Got it, 07954 327 180. I can get it in on Thursday the 12th, and as we had to cancel on you last time, I'll take 20 pounds off the test."),
                ("user", "Champion. It's best not to put it through the jet wash afterwards, mind, the signwriting's peeling and it'll come off in strips."),
                ("assistant", "Understood, I'll stick a note on the key tag."),
            ),
            (
                ("user", "Anything flagged last time I should know about?"),
                ("tool", "vehicle_history", '{"reg": "KM19 XTD"}', '{"last_test": "2024-03-28", "advisories": ["nearside front tyre close to limit", "front brake pads wearing thin"], "record": "VH-40722"}'),
                ("assistant", "Last year's test warned about the nearside front tyre and the front pads, so we'll look at both while it's here."),
                ("user", "Makes sense. I'll get all my tools out of the back the night before, so your lads can get at everything."),
                ("assistant", "Appreciated, it saves us a job."),
                *_HOURS,
            ),
            (
                ("user", "Oh, forget what I said about Tannery Lane. We've relocated the business, and as of Monday the van lives at Unit 6, Brookfield Trading Estate, Macclesfield. Get your driver to pick it up from there."),
                ("assistant", "No bother, collection's now from Unit 6, Brookfield Trading Estate."),
                ("user", "Is there a courtesy van if it fails?"),
                ("assistant", "Not a van, I'm afraid, only a small car, and it's first come first served."),
                *_CHAT,
            ),
            (
                ("user", "Do you do air con regas as well? It's been blowing warm since July."),
                ("assistant", "We do, we can check it while it's in and ring you with a price."),
                ("user", "My cousin's got a Transit that's making a right racket, could he bring it in the same week?"),
                ("assistant", "Tell him to give us a ring, Friday's fairly quiet."),
                *_NOISE,
            ),
            (
                ("user", "How long does the test take, roughly?"),
                ("assistant", "About an hour, but with the collection allow the whole morning."),
                ("user", "And do you take card on the day?"),
                ("assistant", "Card or bank transfer, whichever suits."),
                ("user", "Sound. Cheers for that."),
                ("assistant", "Cheers Declan, all the best."),
                *_HOURS,
            ),
        ),
        (
            Fact("name", ("Declan Byrne",), "who the booking is for", wrong=("Stanley Okoro",)),
            Fact("id", ("KM19 XTD",), "which number plate", wrong=("LR15 HBV",)),
            Fact("address", ("48 Tannery Lane",), "pick-up location", folds=(1, 2)),
            Fact("address", ("Unit 6", "Brookfield"), "current collection point", wrong=("48 Tannery Lane",), folds=(3, FOLDS)),
            Fact("phone", ("07954 327 180",), "contact for the collection", wrong=("01625 880 431",)),
            Fact("preference", ("jet wash",), "cleaning to skip because of the lettering"),
            Fact("agent_promise", ("Thursday", "20 pounds"), "inspection date and money off", done=_PROMISED),
            Fact("caller_promise", ("tools",), "what he will clear from the load area", who=("Declan", "caller", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("VH-40722",), "inspection history reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "phone_plan",
        (
            (
                ("user", "Hi, I've got a couple of problems with my contract. I'm Ingrid Solberg."),
                ("assistant", "Hi Ingrid, let's get them sorted. Can you confirm the account number?"),
                ("user", "It's MB-218845. It used to be a work phone; my old team lead, Harriet Vance, was the account holder until it was transferred over to me."),
                ("assistant", "Thanks. MB-218845 is in your name. There's also MB-210845 listed, the business account it came from, but that was shut on the transfer, so I'll work from yours. What's going on?"),
                ("user", "Two things. I dropped the phone in Spain and the screen's smashed, and my bill is 18.40 higher than normal. It says roaming, but Spain's meant to be included."),
                ("assistant", "It is included, so that charge is our mistake. I'll refund the 18.40 by Wednesday the 26th and send a replacement handset under your insurance. Is it going to Flat 9, 102 Harbour Street, Whitby?"),
                ("user", "Yes. And if you need to ring me, use the landline, 01947 602 318. Don't try the mobile, 07842 559 063, with the screen like this I can't even answer it."),
                ("assistant", "Makes sense, 01947 602 318 it is."),
                ("user", "It's best if nothing renews automatically, by the way. When the contract's up, I want to choose what happens myself."),
                ("assistant", "I'll switch that off on the account."),
            ),
            (
                ("user", "Can you see exactly what they charged me for?"),
                ("tool", "usage_breakdown", '{"account": "MB-218845", "period": "last bill"}', '{"roaming_days": 3, "zone": "EU", "charge": "18.40", "charge_ref": "RC-50317", "included_in_plan": true}'),
                ("assistant", "Three days of roaming in the EU zone, which your plan should have covered. I've flagged it with billing."),
                ("user", "Right. I will factory reset the broken one before I post it back, it's got all my photos on."),
                ("assistant", "Good thinking. A prepaid bag comes in the box with the new phone."),
                *_NOISE,
            ),
            (
                ("user", "Ah, wait, the handset can't go to Harbour Street. I handed the keys back on the first; post goes to 15 Abbey Terrace, Whitby, since last month."),
                ("assistant", "Thanks for catching that. 15 Abbey Terrace, Whitby is on the account now, so the handset and your bills will go there."),
                ("user", "Will the new phone have the same number?"),
                ("assistant", "Yes, the SIM and number carry straight over."),
                *_HOURS,
            ),
            (
                ("user", "If I left at the end of the contract, could I keep my number?"),
                ("assistant", "Yes, you'd just ask us for a PAC code and give it to the new network."),
                ("user", "Only my colleague says the signal's better on the other networks round here."),
                ("assistant", "Coverage does vary; our map shows 5G in the town centre."),
                *_CHAT,
            ),
            (
                ("user", "Does the replacement come with a charger?"),
                ("assistant", "Just the cable, I'm afraid, no plug."),
                ("user", "Typical. Do I need to do anything to set it up?"),
                ("assistant", "Sign into your backup and it'll pull everything across."),
                ("user", "Lovely, thanks for your help."),
                ("assistant", "You're welcome, Ingrid. Enjoy the new phone."),
                *_NOISE,
            ),
        ),
        (
            Fact("name", ("Ingrid Solberg",), "who we are speaking to", wrong=("Harriet Vance",)),
            Fact("id", ("MB-218845",), "her customer number", wrong=("MB-210845",)),
            Fact("address", ("102 Harbour Street",), "where the new device was to be posted", folds=(1, 2)),
            Fact("address", ("15 Abbey Terrace",), "where her mail is delivered at present", wrong=("102 Harbour Street",), folds=(3, FOLDS)),
            Fact("phone", ("01947 602 318",), "how to reach her while the mobile is out of action", wrong=("07842 559 063",)),
            Fact("preference", ("renew",), "automatic rollover wishes"),
            Fact("agent_promise", ("18.40", "Wednesday"), "money back for the Spain usage", done=_PROMISED),
            Fact("caller_promise", ("factory reset",), "wiping the damaged device before returning it", who=("Ingrid", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("RC-50317",), "reference of the disputed line item", folds=(2, FOLDS)),
        ),
    ),
    # held out at 5d29d01, reported at 5d29d01
    Call(
        "furniture",
        (
            (
                ("user", "Hiya, I'm ringing about my sofa. Well, it was meant to be my sofa. It turned up on Tuesday with one of the feet snapped clean off and the driver just put it back on the van."),
                ("assistant", "Oh no, I'm sorry about that. Let's get it sorted. Who am I speaking with?"),
                ("user", "Niamh Gallagher. It might be under Patricia Doyle on your system, that's my mum, she paid for it in the shop as a moving-in present. But it's my order, she's happy for me to deal with it."),
                ("assistant", "That's a lovely present. Have you got the order number, Niamh? It'll start with HF."),
                ("user", "HF/229174. There's another one on the receipt, HF/228530, ignore that, that's the footstool and it came fine."),
                ("assistant", "Got it, HF/229174, the three-seater in slate grey. I have it going to Flat 4, Larkfield House, Copper Street, Salford."),
                ("user", "Yep. Can you ring me on 07946 215 883 when it's rebooked? The number on the order is Mum's, 07946 600 127, and she's in Tenerife till the twentieth, so you'll get nowhere with that."),
                ("assistant", "I'll put 07946 215 883 on it. I'm going to refund the 42.50 delivery charge to the card, and I can get a new sofa out to you on Saturday the 14th."),
                ("user", "Brilliant. Oh, and if the lads could take all the packaging away with them this time, when the bed came I had cardboard up to the ceiling for a fortnight."),
                ("assistant", "I'll pop that on the delivery note for the crew."),
                ("user", "Sorry, someone's drilling next door, can you still hear me?"),
                ("assistant", "Just about, you're fine."),
            ),
            (
                ("user", "Is there actually a sofa for me, or am I waiting another eight weeks for the factory?"),
                ("tool", "check_stock", '{"order": "HF/229174"}', '{"item": "Marlow 3-seater", "colour": "slate", "warehouse": "Trafford", "in_stock": true, "replacement_ref": "RPL-77104"}'),
                ("assistant", "Good news, there's one sitting in our Trafford warehouse, so there's no wait on the factory."),
                ("user", "Thank God. The lads did struggle on the stairs last time, the turn at the top is really tight. I'll measure it all tonight, the landing and the gap by the banister, and email you the numbers so they know what they're walking into."),
                ("assistant", "That would really help, the crew can plan how to carry it."),
                ("user", "Does the stain protection come with it, or was that extra?"),
                ("assistant", "It's included on that range, so you're covered."),
            ),
            (
                ("user", "Right, this is going to sound daft, but don't send it to Larkfield House. I've literally just got the keys to the new place, that's the whole reason Mum bought me a sofa, and I'm out of the flat at the weekend. It's 7 Mossley Mews, Salford. M6 something, I can never remember the end of the postcode."),
                ("assistant", "Not daft at all, better now than on the day. I've changed the delivery to 7 Mossley Mews, Salford, and I can find the postcode from that."),
                ("user", "Is it two of them coming again?"),
                ("assistant", "Yes, it's always a two-person team for sofas."),
                *_CHAT,
            ),
            (
                ("user", "Will they put it where I want it, or just leave it at the door?"),
                ("assistant", "They'll put it in whichever room you like and screw the feet on for you."),
                ("user", "My mate got one of your corner sofas and the cushions went flat in a month."),
                ("assistant", "The foam does settle a bit at first; plumping them every day helps."),
                ("user", "Do you do the matching armchair?"),
                ("assistant", "We do, and it's in the sale till Sunday. I can email you a link."),
                *_NOISE,
            ),
            (
                ("user", "What sort of time will they come?"),
                ("assistant", "You'll get a text the evening before with a two-hour window."),
                ("user", "Perfect. Right, I'll let you get on."),
                ("assistant", "Thanks Niamh, and enjoy the new place."),
                *_HOURS,
            ),
        ),
        (
            Fact("name", ("Niamh Gallagher",), "who is on the line", wrong=("Patricia Doyle",)),
            Fact("id", ("HF/229174",), "sales reference for the couch", wrong=("HF/228530",)),
            Fact("address", ("Larkfield House",), "where the couch was due to go", folds=(1, 2)),
            Fact("address", ("7 Mossley Mews",), "drop-off location at present", wrong=("Larkfield House",), folds=(3, FOLDS)),
            Fact("phone", ("07946 215 883",), "how to reach her about rebooking", wrong=("07946 600 127",)),
            Fact("preference", ("packaging",), "rubbish the crew should remove afterwards"),
            Fact("agent_promise", ("42.50", "Saturday"), "money back and new arrival date", done=_PROMISED),
            Fact("caller_promise", ("measure",), "stair dimensions she will pass on", who=("Niamh", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("RPL-77104",), "replacement stock code", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "boiler",
        (
            (
                ("user", "Yeah, hello, the boiler's died on us. No heating, no hot water, and it's flashing a code at me. Callum Fraser."),
                ("assistant", "That's no fun at this time of year, Callum. Are you on one of our cover plans?"),
                ("user", "We should be. We bought the house in August and the cover came with it, sort of. It was all set up by the previous owner, Gerald Finch, so his name's probably still on everything. The number on the letter is 4402 1187 63."),
                ("assistant", "Let me have a look. Yes, 4402 1187 63, still in Mr Finch's name, I'll move that across to you. There's a 4402 1093 10 at the same address as well, but that was for a gas fire and it was cancelled."),
                ("user", "Aye, the gas fire's long gone, we ripped it out. Address is Braeside Cottage, Glenfarg. Last one on the single-track road past the church."),
                ("assistant", "Braeside Cottage, Glenfarg. And the best number for the engineer?"),
                ("user", "The house phone, 01577 830 442. The mobile you've got, 07701 402 966, is mine right enough, but there's no signal out here, it just goes to voicemail."),
                ("assistant", "House phone it is. A breakdown visit on a plan that hasn't been transferred is normally 79 pounds, but the mix-up's on our side so I'll waive it, and I can have an engineer out to you on Wednesday the 3rd."),
                ("user", "Cheers. He'll need to come in through the boot room round the side, the front door's swollen shut and we can't shift it."),
                ("assistant", "Round the side through the boot room, I'll put that on the job."),
                ("user", "The kids think it's an adventure, they're all sitting at the kitchen table in their hats."),
                ("assistant", "They'll remember it, anyway."),
            ),
            (
                ("user", "It's saying EA on the wee screen, does that mean anything to you?"),
                ("tool", "boiler_lookup", '{"contract": "4402 1187 63"}', '{"appliance": "Worcester Greenstar 30i", "gc_number": "47-311-78", "fault": "EA: flame not detected", "last_service": "2023-02-11", "parts_on_van": true}'),
                ("assistant", "That's the boiler not seeing a flame. In cold weather it's often the condensate pipe frozen, otherwise the ignition. The engineer carries the parts for your model."),
                ("user", "I don't think it's been serviced since before we moved in. The old owner left a service book in the drawer under the sink. I'll dig that out and leave it sat on top of the boiler for him."),
                ("assistant", "That'll save him a job, thanks."),
                ("user", "Should I try resetting it again?"),
                ("assistant", "Once more is fine, but if it locks out again just leave it be until he's there."),
            ),
            (
                ("user", "Och, hang on, I've given you the wrong place. Braeside's the holiday let, the wee cottage up the back. Ours is the main house, Kirkton Steading, Glenfarg, just before it on the same road. That's where the broken one is."),
                ("assistant", "Easily done. I've changed the job to Kirkton Steading, Glenfarg, so the engineer goes to the right door."),
                ("user", "Does the cover do the cottage boiler as well?"),
                ("assistant", "No, that would need its own plan. I can send you a quote if you like."),
                ("user", "Go on then. The guests keep asking if the shower can go any hotter."),
                ("assistant", "The engineer can have a look at that while he's up, if there's time."),
            ),
            (
                ("user", "While I've got you, we've been thinking about a heat pump at some point. Do you do those?"),
                ("assistant", "We install them, yes, and there's a grant you might be able to get."),
                ("user", "The fella at the farm over the hill got one and reckons his bills are worse."),
                ("assistant", "They do best in a well-insulated house; a survey would tell you."),
                ("user", "Stone walls two foot thick, so who knows."),
                ("assistant", "Could go either way, honestly."),
                *_HOURS,
            ),
            (
                ("user", "What time on Wednesday, roughly?"),
                ("assistant", "It's an all-day slot, but he'll phone the house before he sets off."),
                ("user", "Right you are. And the collie's friendly, just so he knows."),
                ("assistant", "I'll tell him. Stay warm, Callum."),
                *_CHAT,
            ),
        ),
        (
            Fact("name", ("Callum Fraser",), "householder reporting the breakdown", wrong=("Gerald Finch",)),
            Fact("id", ("4402 1187 63",), "his cover agreement number", wrong=("4402 1093 10",)),
            Fact("address", ("Braeside Cottage",), "site of the repair visit", folds=(1, 2)),
            Fact("address", ("Kirkton Steading",), "which building has the faulty heating", wrong=("Braeside Cottage",), folds=(3, FOLDS)),
            Fact("phone", ("01577 830 442",), "how the technician can get hold of him", wrong=("07701 402 966",)),
            Fact("preference", ("boot room",), "which entrance the technician should use"),
            Fact("agent_promise", ("79", "Wednesday"), "call-out charge and when someone attends", done=_PROMISED),
            Fact("caller_promise", ("service book",), "maintenance record he will leave out", who=("Callum", "caller", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("47-311-78",), "gas council code of the appliance", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "hearing",
        (
            (
                ("assistant", "Good morning, hearing services, Kerry speaking."),
                ("user", "Hello love, you'll have to speak up, my hearing aid's whistling something rotten, that's why I'm ringing. It's Mrs Ashworth. Doreen Ashworth."),
                ("assistant", "I'll speak up, Mrs Ashworth. Have you got your patient number? It's on the little brown book we gave you."),
                ("user", "Hang on... HA/0617/33. There's another on the front from the Bolton hospital, 55-1902, but our Edna says that's from before I came over to you. Edna Platt, my sister, she usually does my phoning, only she's at the chiropodist."),
                ("assistant", "HA/0617/33, that's you. I've got you at 23 Ainsworth Road, Bury."),
                ("user", "That's right. Ring me on the house phone, 0161 764 2290, it's got the loud ringer. Don't bother with the mobile, 07813 550 274, I never hear the blessed thing."),
                ("assistant", "House phone, 0161 764 2290. Now, whistling is usually the tubing gone hard. Seeing as the aids are under a year old, I'll waive the 14.80 retubing fee, and I can see you on Friday the 27th at half ten. I'll post you some fresh batteries too."),
                ("user", "Pardon? Friday? Oh, yes, half ten. And tell whoever it is to look at me when they talk, will you? I lip-read a bit, and the last young man kept talking to his computer."),
                ("assistant", "I'll put a note on for them to face you when they're speaking."),
                ("user", "Excuse the racket, that's my budgie, he shouts whenever I'm on the phone."),
                ("assistant", "He sounds like good company."),
            ),
            (
                ("user", "Is it still under the guarantee, do you know? It's the left one that's the worst."),
                ("tool", "device_record", '{"patient": "HA/0617/33", "ear": "left"}', '{"model": "Oticon Ruby 1 BTE", "fitted": "2024-05-14", "warranty_until": "2026-05-14", "serial": "2150HX093"}'),
                ("assistant", "Yes, it's covered until May 2026, so the repair won't cost you anything."),
                ("user", "Well, that's something. I'll tell you what, I'll write down when it whistles, in a little diary, so the lady can see if it's only when I'm on the phone or all the time."),
                ("assistant", "That's really useful, please bring it with you."),
                ("user", "Pardon, love?"),
                ("assistant", "I said that's a great idea, bring it along on Friday."),
            ),
            (
                ("user", "Ooh, now, before you go. I've given you the wrong address, haven't I? I'm not on Ainsworth Road any more, our Edna had me moved in the spring, to the warden flats. Flat 6, Holly Bank, Walshaw Road. The batteries want to come there or I'll never see them."),
                ("assistant", "No harm done. I've put Flat 6, Holly Bank, Walshaw Road, Bury on your record, so the batteries will go there."),
                ("user", "Will the warden have to sign for them?"),
                ("assistant", "No, they'll fit through the letterbox."),
                ("user", "Only the post goes in a pigeonhole downstairs, you see, and Mr Kaur on the ground floor helps himself to my catalogues."),
                ("assistant", "Oh dear. A little padded envelope should be fine in the pigeonhole, though."),
            ),
            (
                ("user", "Is there a bus from the interchange that comes near you?"),
                ("assistant", "The 471 stops right outside the clinic."),
                ("user", "My friend Vera has the ones from the hospital and hers never whistle."),
                ("assistant", "Everyone's ears are different, it might just be the fit."),
                *_HOURS,
            ),
            (
                ("user", "Do I need to bring the charger? Are these the charging ones?"),
                ("assistant", "Yours take batteries, size 312, so no charger."),
                ("user", "Alright. Thank you, love, you've been very patient with me."),
                ("assistant", "Not at all, Mrs Ashworth. See you on the 27th."),
                *_CHAT,
            ),
        ),
        (
            Fact("name", ("Doreen Ashworth",), "patient on the line", wrong=("Edna Platt",)),
            Fact("id", ("HA/0617/33",), "audiology record number", wrong=("55-1902",)),
            Fact("address", ("23 Ainsworth Road",), "postal address on file", folds=(1, 2)),
            Fact("address", ("Holly Bank",), "her current residence for mail", wrong=("23 Ainsworth Road",), folds=(3, FOLDS)),
            Fact("phone", ("0161 764 2290",), "best line to reach her", wrong=("07813 550 274",)),
            Fact("preference", ("lip",), "how staff should speak to her"),
            Fact("agent_promise", ("14.80", "Friday"), "charge dropped and appointment slot", done=_PROMISED),
            Fact("caller_promise", ("diary",), "log of the feedback noise she will keep", who=("Doreen", "caller", "patient", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("2150HX093",), "left device serial", folds=(2, FOLDS)),
        ),
    ),
    # written blind by a helper after 5d29d01's report; held out until the report at
    # 80b175f (the default before the field checks)
    Call(
        "solar",
        (
            (
                ("assistant", "Thanks for calling Sonoran Sun Solar, this is Kayla. How can I help you today?"),
                ("user", "Hi Kayla. So, we had our panels put in three weeks ago and they're just sitting up there doing nothing, and nobody's told us a thing. My name's Renee Castellanos."),
                ("assistant", "Oh, I'm sorry, Renee, that's frustrating. Do you have your project number handy? It's up at the top of the contract."),
                ("user", "Yeah, hold on... AZP-41186. If you see another one on there, AZP-39520, that was the battery quote Tyler Brandt wrote up, we never signed it. Tyler's the sales guy, he's the one who keeps texting me that it's all fine."),
                ("assistant", "Got it, AZP-41186, and I'll leave the battery quote alone. I have the install at Lot 47 in Saguaro Ridge, up in Marana. That sound right?"),
                ("user", "That's us. The house is brand new, the builder's still finishing the rest of the street."),
                ("assistant", "Okay. So it looks like the city inspection failed on a conduit issue and nobody followed up with you, which is on us. I'm going to have the crew back out Thursday the 19th to fix it, and we'll cover the $275 re-inspection fee, you won't see that on any bill."),
                ("user", "Okay. Good. What number do you even have for me? Because nobody's called."),
                ("assistant", "I've got 520-555-0190 as your primary."),
                ("user", "Yeah, that's my desk at the school, I'm in a classroom all day, it just rings and rings. Put my cell on there, (520) 555-0138."),
                ("assistant", "Done, 520-555-0138 is your primary now. Anything else the crew should know for Thursday?"),
                ("user", "Just have them park out on the street, please. The driveway got poured last week and it's still curing, the builder will kill me if there's a tire mark on it."),
            ),
            (
                ("user", "Is the power company side at least done? My neighbor said that part takes forever."),
                ("tool", "project_status", '{"project": "AZP-41186"}', '{"permit": "issued", "inspection": "failed: conduit not strapped at roof penetration", "utility": "TEP", "interconnection_app": "IA-2291574", "interconnection_status": "approved, pending final inspection", "pto": null}'),
                ("assistant", "The good news is the utility application is already approved, it's just waiting on us to pass final. After that, Tucson Electric usually gives permission to operate within a week or two."),
                ("user", "Okay, that's something. Oh, and the HOA, that's the other thing. They sent us a letter saying we never submitted plans for the panels. I'm gonna print out the site plan and walk it over to the HOA office Monday, it's right there by the pool."),
                ("assistant", "That should settle it, they usually just want to see it on paper."),
                ("user", "Do I have to be home for the inspector?"),
                ("assistant", "No, they only need to get to the electrical panel on the side of the house. If there's a gate, leave it unlocked."),
                ("user", "Sorry, hang on, the landscapers just showed up and the dog is losing her mind."),
                ("assistant", "No worries at all, sounds like she's doing her job."),
            ),
            (
                ("user", "Wait, this might actually be part of the whole mess. The county finally assigned us a real street address, the letter came Friday. We're 9082 North Desert Bloom Way, Marana, 85658. The lot number was just what the builder was using."),
                ("assistant", "Oh, that could definitely be it, the inspector may have been looking for a lot that isn't in their system. I've put 9082 North Desert Bloom Way on the project, and I'll get the permit amended today."),
                ("user", "Do I need to call the city myself?"),
                ("assistant", "No, our permitting team files the amendment."),
                ("user", "It's so weird, we've been living here two months and the mail carrier still leaves everything at the clubhouse."),
                ("assistant", "New subdivisions are like that for a while, it catches up."),
            ),
            (
                ("user", "Should we have gotten the battery after all? The power flickered twice in that storm last week."),
                ("assistant", "You can always add one later, the inverter you have is battery-ready."),
                ("user", "Our neighbor across the street, Don, went with some other company and he says his bill was eleven dollars last month."),
                ("assistant", "Summer bills can get pretty low out there with a good system, yours should be in that range once it's on."),
                ("user", "Is it normal that the panels are already this dusty?"),
                ("assistant", "Totally normal. The next good monsoon rain will rinse them off."),
            ),
            (
                ("user", "How will I know it's actually working once it's turned on?"),
                ("assistant", "You'll get an invite to the monitoring app, it shows your production hour by hour."),
                ("user", "And are you guys open Saturdays, in case I need to call back?"),
                ("assistant", "Phones are seven to six, Monday through Saturday, Arizona time."),
                ("user", "Okay. Thanks, Kayla, honestly you're the first person who's explained anything."),
                ("assistant", "I'm sorry it took this long, Renee. We'll get you turned on."),
            ),
        ),
        (
            Fact("name", ("Renee Castellanos",), "homeowner on the line", wrong=("Tyler Brandt",)),
            Fact("id", ("AZP-41186",), "her installation job number", wrong=("AZP-39520",)),
            Fact("address", ("Lot 47",), "where the panels were put up", folds=(1, 2)),
            Fact("address", ("9082", "Desert Bloom"), "official street location for the permit", wrong=("Lot 47",), folds=(3, FOLDS)),
            Fact("phone", ("520-555-0138",), "how to reach her during the day", wrong=("520-555-0190",)),
            Fact("preference", ("driveway",), "where crew vehicles should go"),
            Fact("agent_promise", ("275", "Thursday"), "fee we are absorbing and return visit day", done=_PROMISED),
            Fact("caller_promise", ("HOA",), "plans she will hand to the neighborhood association", who=("Renee", "caller", "customer", "homeowner", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("IA-2291574",), "grid connection application reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "movers",
        (
            (
                ("user", "Hi there, I've got a move booked with you guys, Toronto to Ottawa, and I need to change the date. Gord Pelletier."),
                ("assistant", "Hi Gord, happy to help. Can I grab the order number? It'll start with TM."),
                ("user", "TM-220561. You might have an old one kicking around too, TM-198034, that's from when you moved me across town a few years back."),
                ("assistant", "I see both, TM-220561 is the live one. And this was set up through your employer's relocation program, by a Dana Whitlock?"),
                ("user", "Yeah, Dana's in HR, she does all the relocation paperwork. But it's my stuff and my move, so you can deal with me."),
                ("assistant", "No problem. So I've got you going into 45 Cleary Avenue in Ottawa, pickup on the 12th. What date were you hoping for?"),
                ("user", "Work wants me up there a few days early, so... is Tuesday the 9th doable?"),
                ("assistant", "Let me look... yes, I can move you to Tuesday the 9th. And I see our estimator showed up two hours late to your walkthrough, so I'll take $215 off the final invoice for that."),
                ("user", "Appreciated. Now the phone number on there's probably Dana's office, 416-555-0188, right? Don't call that, she's not gonna know where the truck is. My cell is 647-555-0129."),
                ("assistant", "You're right, that's what we had. 647-555-0129 is the main contact now."),
                ("user", "One more thing. I've got about twelve crates of vinyl, and nobody touches those, I'm driving them up in my own car. I've heard stories."),
                ("assistant", "Ha, fair enough. I'll flag it so the crew leaves those crates alone."),
            ),
            (
                ("user", "So what's showing up that morning? How big a truck, how many guys?"),
                ("tool", "get_move_plan", '{"order": "TM-220561"}', '{"truck": "26 ft", "crew_size": 3, "est_weight_lb": 7200, "coverage": "basic, 60 cents per lb", "bill_of_lading": "BOL-58830-ON", "dispatch": "Etobicoke yard"}'),
                ("assistant", "You've got a 26-footer and a crew of three coming out of our Etobicoke yard. Basic coverage is included, that's sixty cents a pound, and you can top it up."),
                ("user", "Sixty cents a pound? My TV's worth more than that. Let me think about it."),
                ("assistant", "Most people bump it up for the electronics. I'll email you the options."),
                ("user", "Sure. Oh, and my building here is strict, if you haven't reserved the freight elevator they just won't let the crew in. I'll call the property manager tomorrow and get it booked for the whole morning of the 9th."),
                ("assistant", "That's a big help, downtown buildings are usually where we lose time."),
                ("user", "Is there anything you guys won't take?"),
                ("assistant", "Propane, paint, anything flammable. And on a long haul we'd rather you bring the houseplants yourself."),
            ),
            (
                ("user", "Okay, so, curveball. The Cleary Avenue house? It's off. The inspection turned up knob-and-tube wiring, the sellers wouldn't budge, so we walked."),
                ("assistant", "Oh, that's rough, sorry to hear it. So where are we delivering?"),
                ("user", "I signed a lease yesterday. 300 Lisgar Street, unit 1209, downtown. Everything goes there, we'll worry about buying next year."),
                ("assistant", "Okay, I've switched the delivery to 1209-300 Lisgar Street. Is there a loading dock?"),
                ("user", "Round the back, apparently. The super said trucks are fine before ten."),
                ("assistant", "Perfect, the crew will aim to be there first thing."),
                ("user", "Ottawa in January, eh. My buddy says I'm nuts."),
                ("assistant", "At least the canal will be open for skating."),
            ),
            (
                ("user", "Can you guys take the barbecue? I'll leave the tank behind."),
                ("assistant", "The barbecue's fine without the tank, just give it a scrub so it doesn't get grease on everything."),
                ("user", "And if the apartment's not ready on the day, can you hold onto my stuff?"),
                ("assistant", "We've got storage in Kanata, it's billed by the week if you need it."),
                *_CHAT,
            ),
            (
                ("user", "What time does the crew show up on the 9th?"),
                ("assistant", "Between eight and nine. The crew lead will call your cell the night before."),
                ("user", "How long's the drive with a truck that size?"),
                ("assistant", "Figure five, five and a half hours, so delivery the same evening or first thing the next morning."),
                ("user", "And you're open Sundays if something comes up?"),
                ("assistant", "Phones are seven to seven Eastern, Monday to Saturday. Sundays there's an emergency line on your confirmation."),
                ("user", "Great. Thanks for sorting all that out."),
                ("assistant", "Anytime, Gord. Good luck with the new job."),
            ),
        ),
        (
            Fact("name", ("Gord Pelletier",), "who is relocating", wrong=("Dana Whitlock",)),
            Fact("id", ("TM-220561",), "job reference for the haul to the capital", wrong=("TM-198034",)),
            Fact("address", ("45 Cleary",), "destination house at the other end", folds=(1, 2)),
            Fact("address", ("300 Lisgar",), "where the truck unloads now", wrong=("45 Cleary",), folds=(3, FOLDS)),
            Fact("phone", ("647-555-0129",), "best contact for the driver", wrong=("416-555-0188",)),
            Fact("preference", ("vinyl",), "handling of his record collection"),
            Fact("agent_promise", ("215", "Tuesday"), "discount for the late walkthrough and revised moving day", done=_PROMISED),
            Fact("caller_promise", ("elevator",), "lift reservation at his current building", who=("Gord", "caller", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("BOL-58830",), "shipping document number", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "hotel",
        (
            (
                ("assistant", "Good afternoon, Corrib Bay Hotel, Deirdre speaking."),
                ("user", "Hi Deirdre, I'm hoping you can help me. I was with you at the weekend for a wedding and I think I left my nana's ring in the safe in the room. Aoife Dunne is the name."),
                ("assistant", "Oh no, that's an awful feeling. Have you the booking reference there, Aoife? It'll be on the confirmation email."),
                ("user", "Hang on till I find it... 80552194. There's another number further down, 80551973, but that's Orla Keane's room. She booked the two rooms together, so you might have it all under her."),
                ("assistant", "I have it, 80552194, booked by Orla Keane with yourself as the guest. If the ring turns up, where will I send it, and what's the best number for you?"),
                ("user", "Home to my parents', Knockbrack, Glengarriff Road, Bantry, the Eircode is P75 KX20. And 086 412 7739 is my own mobile. The one on the booking is my work phone, 087 330 5186, and that's locked in a drawer in the office, so don't bother with it."),
                ("assistant", "086 412 7739, lovely. I can also see a minibar charge of €32.40 went on your card on Sunday. Was that yours at all?"),
                ("user", "It was not, I never even opened the thing."),
                ("assistant", "Then I'll put the €32.40 back on your card, and if housekeeping have the ring, I'll courier it out to you by Tuesday at our own expense."),
                ("user", "You're very good. And whatever courier it is, make sure they get a signature, I don't want it left on a step or passed over the wall to a neighbour. It's the only thing I have of hers."),
                ("assistant", "Understood, I'll book it signed-for only."),
            ),
            (
                ("user", "Could you check with housekeeping now? I won't sleep otherwise."),
                ("tool", "lost_property_search", '{"booking": "80552194", "room": "214"}', '{"found": true, "item": "ladies ring, yellow gold, blue stone", "where_found": "in-room safe, room 214", "found_by": "housekeeping", "log_ref": "LP-0926-17", "held_in": "duty manager safe"}'),
                ("assistant", "Good news, Aoife. Housekeeping found a gold ring with a blue stone in the safe in 214, and it's locked away in the duty manager's safe now."),
                ("user", "Oh thank God. I was sick over it."),
                ("assistant", "Before we can release it, I'm afraid we need something to show it's yours, with it being valuable."),
                ("user", "That's fair. It was valued for the insurance last year, so I'll ring the jeweller in Cork first thing tomorrow and have them email you the valuation cert."),
                ("assistant", "That'd be perfect. Ask them to mark it for my attention at the front desk."),
                ("user", "Be honest, did the wedding crowd leave the place in bits?"),
                ("assistant", "Ah, we've seen worse. The dancing went on till three, mind."),
            ),
            (
                ("user", "Actually, wait, don't send it to Bantry at all. I'm only down home for the week, I'm back in Dublin Monday morning, and if it lands in Bantry on Tuesday it'll sit there till Christmas. Send it up to my flat instead: 3 Ashfield Terrace, Ranelagh, Dublin 6, D06 F2K8."),
                ("assistant", "No bother. I've changed it to 3 Ashfield Terrace, Ranelagh, Dublin 6."),
                ("user", "How long does the courier usually take to Dublin?"),
                ("assistant", "Next day, normally. They collect from us in the afternoon."),
                ("user", "And will I get a tracking number?"),
                ("assistant", "You will, by text to your mobile."),
                *_NOISE,
            ),
            (
                ("user", "Is the spa open to people who aren't staying? My sister would love it."),
                ("assistant", "It is, Monday to Friday, she'd just need to book ahead."),
                ("user", "Her husband would leave his head behind him, he's a nightmare for losing things."),
                ("assistant", "Ha, we've a whole drawer of phone chargers from people like him."),
                *_CHAT,
            ),
            (
                ("user", "If I come back in the summer, is there any chance of the same room? The view was something else."),
                ("assistant", "214 looks straight out over the bay, alright. Just ask for it when you book."),
                ("user", "Is reception there all night, if I need to ring again?"),
                ("assistant", "It is, twenty-four hours, just ring the main number."),
                ("user", "Thanks, Deirdre, honestly, you've made my week."),
                ("assistant", "Not at all, Aoife. Mind yourself."),
            ),
        ),
        (
            Fact("name", ("Aoife Dunne",), "guest who lost the jewellery", wrong=("Orla Keane",)),
            Fact("id", ("80552194",), "her reservation code", wrong=("80551973",)),
            Fact("address", ("Knockbrack",), "where she first asked us to courier it", folds=(1, 2)),
            Fact("address", ("Ashfield",), "courier destination at present", wrong=("Knockbrack",), folds=(3, FOLDS)),
            Fact("phone", ("086 412 7739",), "number to text or ring her on", wrong=("087 330 5186",)),
            Fact("preference", ("sign",), "delivery condition for the parcel"),
            Fact("agent_promise", ("32.40", "Tuesday"), "minibar money back and dispatch day", done=_PROMISED),
            Fact("caller_promise", ("valuation",), "proof of ownership she is arranging", who=("Aoife", "caller", "guest", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("LP-0926-17",), "lost property log entry", folds=(2, FOLDS)),
        ),
    ),
    # written blind by a helper after 80b175f's report; held out until the report at
    # 3b36437 (the field checks)
    Call(
        "car_rental",
        (
            (
                ("assistant", "Lakeshore Car Rental, this is Marcus. Can I get your confirmation number?"),
                ("user", "Hi, um, okay... J9K, dash, four four one eight seven. No, shoot, that's the one I cancelled. The good one is J9K-44718."),
                ("assistant", "J9K-44718, got it, one-way up to Minneapolis. The cancelled J9K-44187 still shows, I'll ignore it. And who am I speaking with?"),
                ("user", "Sorry, Delphine Marchetti. M-A-R-C-H-E-T-T-I, people always stick a K in."),
                ("assistant", "Delphine Marchetti, no K. I also see a Brent Kowalczyk on it?"),
                ("user", "My husband, he's second driver, but the rental's mine. So, the confirmation says there's a one-way drop fee, and the counter told me there wouldn't be one."),
                ("assistant", "Let me look... yeah, on your corporate rate that shouldn't be there. So that $85 drop fee is coming off, and the car still gets to you Friday the 14th by nine. The SUV upgrade in the notes I can't promise, that depends on the lot."),
                ("user", "Fine. Delivery's to my apartment, 2316 Linden Hollow Drive, Apt 7C, Madison, 53711."),
                ("assistant", "Yep. Best number for the driver?"),
                ("user", "My cell. Six oh eight, five five five, oh one seven four. The 555-0112 on the profile is my mom's landline from college, she'll just be confused."),
                ("assistant", "I've taken (608) 555-0112 off, (608) 555-0174 is your primary."),
                ("user", "Oh, you won't stick me with an electric one, will you? There's nowhere to charge on the way up."),
                ("assistant", "Noted. Sorry, you were saying-"),
                ("user", "Hang on- no, honey, the blue folder. Sorry. Go ahead."),
            ),
            (
                ("user", "Do you know what car it's actually gonna be? I'm trying to figure out if the stroller fits in the trunk."),
                ("tool", "vehicle_assignment", '{"confirmation": "J9K-44718"}', '{"class": "intermediate SUV", "assigned_unit": "Toyota RAV4, gray", "fuel": "gasoline", "plate": "AKW 6617", "rental_agreement": "RA-7730415", "branch": "Madison East"}'),
                ("assistant", "It's showing a gray RAV4 out of our Madison East branch, gasoline, so no charging to worry about. A full-size stroller goes in the back of those, no problem."),
                ("user", "Perfect. And the coverage thing, I don't want the damage waiver you sell, my own policy covers rentals. What do you need?"),
                ("assistant", "We'd just need proof of that before the car is handed over, otherwise the driver has to offer the waiver at the door."),
                ("user", "Okay, tonight once the kids are down I'm gonna email you the declarations page from my State Farm policy."),
                ("assistant", "Perfect, reply to your confirmation email with it attached so it lands on the reservation."),
                ("user", "Is there a mileage cap? It's like four and a half hours each way and we might go on up to Duluth."),
                ("assistant", "Unlimited miles on that rate, you're fine."),
            ),
            (
                ("user", "Oh, one thing's changed, actually. I'm gonna be at work that morning, not home, we've got a quarterly review I can't skip. So can the car come to my office instead? It's 44 East Mifflin Street, Suite 900, right on the Capitol Square."),
                ("assistant", "Sure, we can do that. I've switched the delivery to 44 East Mifflin Street, Suite 900, so nothing's going out to Linden Hollow now."),
                ("user", "Is there anywhere downtown for him to park, or does he just double-park?"),
                ("assistant", "They usually pull into the loading zone on Pinckney and call you to come down."),
                ("user", "Okay, I'll come down. He hands the keys to me, right, not the front desk?"),
                ("assistant", "Right, he has to check your license anyway."),
                ("user", "Sorry, my coworker's asking me something, one sec... okay, I'm back."),
                ("assistant", "No rush at all."),
            ),
            (
                ("user", "If we keep it an extra day, is that crazy expensive?"),
                ("assistant", "It's just the daily rate, about sixty-two dollars, as long as you call us before it's due back."),
                ("user", "And car seats, do you rent those, or-"),
                ("assistant", "We do, eleven a day, but a lot of families bring their own."),
                ("user", "My sister swears by bringing her own, she says the rental ones are gross."),
                ("assistant", "Ha, I won't argue with her. Ours get cleaned between rentals, for what it's worth."),
                ("user", "And the gas, do I bring it back full?"),
                ("assistant", "Full to full, or there's a per-gallon charge to top it up."),
            ),
            (
                ("user", "What if the driver's running late? We kind of need to be on the road by noon."),
                ("assistant", "You'll get a text when he's on his way, and if it slips you can call the branch directly."),
                ("user", "And if something goes wrong up north on the weekend?"),
                ("assistant", "Roadside assistance is twenty-four seven, the number's on the key tag."),
                ("user", "Okay. Thank you, Marcus, seriously, that fee thing was driving me nuts."),
                ("assistant", "Happy to help, Delphine. Have a great trip."),
            ),
        ),
        (
            Fact("name", ("Delphine Marchetti",), "renter on the phone", wrong=("Brent Kowalczyk",)),
            Fact("id", ("J9K-44718",), "live rental confirmation", wrong=("J9K-44187",)),
            Fact("address", ("2316 Linden Hollow",), "where the car was first to be dropped", folds=(1, 2)),
            Fact("address", ("Mifflin",), "current hand-over location for the vehicle", wrong=("Linden Hollow",), folds=(3, FOLDS)),
            Fact("phone", ("608-555-0174",), "number the delivery driver should call", wrong=("555-0112",)),
            Fact("preference", ("electric",), "kind of vehicle she will not accept"),
            Fact("agent_promise", ("85", "Friday"), "one-way fee removed and delivery day", done=_PROMISED),
            Fact("caller_promise", ("declaration",), "proof of her own cover she will send", who=("Delphine", "Marchetti", "caller", "customer", "renter", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("RA-7730415",), "rental agreement number", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "pension",
        (
            (
                ("assistant", "Tamar Mutual pensions, Anil speaking, how can I help?"),
                ("user", "Hello, I've dialled for my neighbour, he can't get on with the buttons. Carol Jewell, from next door. It's Mr Penhaligon... here, Wilf, speak up."),
                ("user", "Hello? Wilfred Penhaligon. P, E, N, H, A, L, I, G, O, N. I'm seventy in March and your letter says to ring about taking it."),
                ("assistant", "Thank you, Wilfred Penhaligon. Have you the membership number? Top of the letter."),
                ("user", "Seven three... oh four one eight... two six five. The old papers say six one, two two nine oh, double oh four, but that was the dairy's scheme, before you took it over."),
                ("assistant", "73 0418 265 is the live one; 61 2290 004 closed when the schemes merged. And I have you at Chyandour Farm, Lamorna, Penzance?"),
                ("user", "That's it, the farm."),
                ("assistant", "Now, a £62.50 admin charge came out of your pot in January for a transfer that never happened. That 62.50 is going back in, you'll see it in the fund by Thursday the 20th. The lump sum itself I can't give you a date for, that's with payments once the forms are in."),
                ("user", "Glad somebody's noticed. Ring the mobile, my grandson set it up. Oh seven four nine two... one one eight... three oh six."),
                ("assistant", "07492 118 306, got it."),
                ("user", "You'll have the farm number too, oh one seven three six, seven three one, four eight oh. Don't ring that, it's cut off."),
                ("assistant", "I'll take 01736 731 480 off."),
                ("user", "And I'd really rather the envelopes came plain, not your name all over the front. The postman's my nephew and Lamorna knows my business by teatime."),
                ("assistant", "Understood, plain envelopes it is."),
            ),
            (
                ("user", "So what would I actually get, then, if I took the quarter tax-free?"),
                ("tool", "pension_quote", '{"member": "73 0418 265", "option": "25% tax-free cash"}', '{"fund_value": 96540.12, "tax_free_cash": 24135.03, "annual_income_estimate": 3412.80, "quote_ref": "QTE-558127", "guaranteed_until": "2025-04-30", "identity_check": "outstanding"}'),
                ("assistant", "On today's value, the tax-free part would be about twenty-four thousand one hundred pounds, and the rest could pay you an income of around three thousand four hundred a year. That's guaranteed until the end of April."),
                ("user", "Twenty-four thousand. Well. That'll do the roof on the barn and then some."),
                ("assistant", "Before we can pay anything, though, we have to confirm who you are, and that's showing as still to do. Is there any chance you could do it online?"),
                ("user", "Online? I haven't got a computer, my love."),
                ("assistant", "That's alright, the Post Office can do it for you at the counter, with the form we send and some photo ID."),
                ("user", "Right. Then I'll take my passport into the Post Office in St Buryan on Friday, when I go for my paper. Carol will run me in."),
                ("assistant", "Perfect. Bring the form with the barcode on it as well."),
            ),
            (
                ("user", "Hang on, hang on. You said the farm for the address just now and I said yes. That's not right. I told you the phone's cut off, didn't I, and that's because I'm not there. I sold up to the Trewhellas in the summer. I'm in a flat in Truro now, near my son. Flat 3, Boscawen Court, Truro."),
                ("assistant", "Thank you for catching that. I've updated your address to Flat 3, Boscawen Court, Truro, so the forms will come there, in a plain envelope."),
                ("user", "There's a warden, she takes parcels in, but the letters come to the door."),
                ("assistant", "That's fine, it's only letters from us."),
                ("user", "Do I need to tell the tax people I've moved, or do you do that?"),
                ("assistant", "We'll use the new address on your tax paperwork, but it's worth telling them yourself as well."),
            ),
            (
                ("user", "My wife Jean had a bit with you and all, before she passed. Is there anything sitting there?"),
                ("assistant", "I'm sorry for your loss. I'd need her details and a copy of the death certificate to look, we could do that on another call."),
                ("user", "Our Michael has all that, he's the one with the paperwork."),
                ("assistant", "Of course, whenever suits."),
                ("user", "Is it a lot of tax, on the income part?"),
                ("assistant", "It's taxed like a wage. With your state pension on top, you'd likely pay basic rate on some of it."),
                ("user", "Basic rate. Well. I've paid worse."),
            ),
            (
                ("user", "How long does it all take, start to finish?"),
                ("assistant", "Once the identity check's done and the form's back, usually about ten working days."),
                ("user", "And I ring this same number if I'm stuck?"),
                ("assistant", "Yes, we're here half eight till five, Monday to Friday."),
                ("user", "Right you are. Carol's waving at me, she wants to get off home. Thank you, young man."),
                ("assistant", "You're very welcome, Mr Penhaligon. Enjoy the new flat."),
            ),
        ),
        (
            Fact("name", ("Wilfred Penhaligon",), "scheme member drawing his pension", wrong=("Carol Jewell",)),
            Fact("id", ("73 0418 265",), "his pension scheme number", wrong=("61 2290 004",)),
            Fact("address", ("Chyandour",), "residence first confirmed for the paperwork", folds=(1, 2)),
            Fact("address", ("Boscawen",), "where his post should go now", wrong=("Chyandour",), folds=(3, FOLDS)),
            Fact("phone", ("07492 118 306",), "how to get him on the telephone", wrong=("01736 731 480",)),
            Fact("preference", ("plain",), "how correspondence should look from outside"),
            Fact("agent_promise", ("62.50", "Thursday"), "admin charge put back and when", done=_PROMISED),
            Fact("caller_promise", ("passport",), "identity document he will take in for checking", who=("Wilfred", "Penhaligon", "Wilf", "caller", "member", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("QTE-558127",), "retirement quotation reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "wedding_venue",
        (
            (
                ("assistant", "Morning, Wattle Creek Estate, Bec speaking."),
                ("user", "Hi Bec! You're on speaker, Liam's driving, it's his phone. It's about our wedding in March, there's an email about the time and I'm, um, confused."),
                ("assistant", "No worries. Whose name is the booking under?"),
                ("user", "Mine. Okonkwo, O-K-O-N-K-W-O. Natasha, but it's Tash. Or maybe my sister, Adaeze Bell, she put the deposit on her card, mine was maxed from the dress."),
                ("assistant", "Here you are, Natasha Okonkwo, with your sister's card on the deposit. Event number handy?"),
                ("user", "Um... WCE, then eight eight four one three. The first quote had WCE-86102, but that was a hold we let lapse."),
                ("assistant", "Yep, WCE-88413 is live. So the email, that's on us: we double-booked the chapel and pushed your ceremony back. So we're taking $450 off your balance, and a revised invoice comes from me by Wednesday. The $120 tasting fee already went back on your sister's card in May, that's separate."),
                ("user", "Oh. That's decent of you. Invoice goes to Coogee?"),
                ("assistant", "I've got Unit 5, 22 Marine Parade, Coogee NSW 2034."),
                ("user", "Five slash twenty-two, yep. And text me, not this number, the oh four three nine, that's Liam's, he never answers. Mine's oh four one two, three three eight, nine oh five."),
                ("assistant", "So not 0439 771 260. 0412 338 905 is now your main contact."),
                ("user", "Can I just- the thing is, Nan's in a wheelchair now and the chapel path is all gravel. Any way we could do the ceremony down on the lawn by the dam?"),
                ("assistant", "Absolutely, the lower lawn's flat, we do heaps there."),
                ("user", "Liam, the turn, the turn! Sorry. He missed our exit."),
            ),
            (
                ("user", "How many have we actually got locked in? I've completely lost track."),
                ("tool", "event_sheet", '{"event": "WCE-88413"}', '{"date": "2026-03-21", "ceremony_site": "chapel", "guests_confirmed": 112, "menu": "spring banquet", "catering_order": "BEO-40917", "balance_due": 18650.00, "coordinator": "Bec"}'),
                ("assistant", "I've got a hundred and twelve confirmed, on the spring banquet menu. I'll change the ceremony site on the sheet while we're talking."),
                ("user", "A hundred and twelve. Oh my God. Okay, we'll need to work out the tables then."),
                ("assistant", "We need to know where everyone's sitting about a fortnight out, so the kitchen can plan the dietaries."),
                ("user", "Yeah, so the seating plan's on me, I'll get it to you by the end of the month. Once Mum stops moving Uncle Femi around, anyway."),
                ("assistant", "Ha, there's always an Uncle Femi. No stress."),
                ("user", "And the vegan ones, do you need names or just numbers?"),
                ("assistant", "Numbers is fine, but having names on the tables helps the waitstaff."),
            ),
            (
                ("user", "Oh, speaking of the invoice, can you post the paper copy to Mum's instead? We've given notice on the Coogee place, we're out by the end of the month, and Mum's the one paying the balance anyway. It's 9 Banksia Crescent, Bowral."),
                ("assistant", "Easy. I've changed it to 9 Banksia Crescent, Bowral, so the invoice and anything else we post goes there."),
                ("user", "Is Bowral close to you? I can never picture it."),
                ("assistant", "Fifteen minutes down the road, she can pop in for a look around."),
                ("user", "She'll love that. She'll bring a tape measure, knowing her."),
                ("assistant", "She's very welcome to. Ring ahead and I'll walk her round."),
                ("user", "Sorry, hang on, Liam's asking- no, babe, left at the roundabout. Sorry, go on."),
                ("assistant", "All good, I was only saying ring ahead."),
            ),
            (
                ("user", "What's the weather usually like up there in March? I'm freaking out about rain."),
                ("assistant", "Mostly mild, but we always set up the marquee as a wet-weather backup, no charge."),
                ("user", "And are there really kangaroos on the grass at sunset? My friend swears she saw a whole mob."),
                ("assistant", "Most evenings, yeah. They're great in the photos."),
                ("user", "Liam's more worried about the shuttle bus from the station."),
                ("assistant", "It runs every half hour from four till midnight on the night."),
                ("user", "And his groomsmen want to know if they can bring their own esky for the bus."),
                ("assistant", "Ha, not on the bus, sorry, but the bar's open till eleven."),
            ),
            (
                ("user", "Okay, I think that's everything. If I think of something else, is it still you?"),
                ("assistant", "It's me right through to the day. The office is open Tuesday to Sunday, nine till five."),
                ("user", "And if it's urgent on a Monday? Knowing us, it'll be a Monday."),
                ("assistant", "Leave a message or email, I check both first thing Tuesday."),
                ("user", "Amazing. Thank you so much, Bec, you've made my morning."),
                ("assistant", "My pleasure, Tash. Safe drive, and say hi to Liam."),
            ),
        ),
        (
            Fact("name", ("Okonkwo",), "bride the booking belongs to", wrong=("Adaeze Bell",)),
            Fact("id", ("WCE-88413",), "event booking number", wrong=("WCE-86102",)),
            Fact("address", ("22 Marine Parade",), "where the invoice was first to be posted", folds=(1, 2)),
            Fact("address", ("Banksia",), "postal address for the invoice at present", wrong=("Marine Parade",), folds=(3, FOLDS)),
            Fact("phone", ("412 338 905",), "number to text her on", wrong=("439 771 260",)),
            Fact("preference", ("lawn",), "where the ceremony should be held and why"),
            Fact("agent_promise", ("450", "Wednesday"), "discount for the double booking and new invoice date", done=_PROMISED),
            Fact("caller_promise", ("seating plan",), "table arrangement she will provide", who=("Natasha", "Tash", "Okonkwo", "caller", "bride", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("BEO-40917",), "catering order reference", folds=(2, FOLDS)),
        ),
    ),
    # written blind by a helper after 3b36437's report; moved to training unrun, at
    # 9e2a3ae, once their turns had been read while designing (see the README)
    Call(
        "pest_control",
        (
            (
                ("assistant", "Bluenose Pest Management, Shauna speaking."),
                ("user", "Yeah, hi Shauna. So, we've got ants again. Big black ones, out of the beam under the deck at the camp, and a pile of, like, sawdust. You folks treated in May."),
                ("assistant", "Carpenter ants, sounds like. That'd be under the guarantee. Agreement number?"),
                ("user", "Uh, M-P-S, oh three nine two, dash, one one seven. Last year's is on the fridge too, MPS 0388-204, but that ran out in October."),
                ("assistant", "MPS 0392-117, got it. That's the camp at 4471 Highway 3, RR 2, Hubbards? And the spring notes have a Réjean Doucet, is that you?"),
                ("user", "No, Réjean's my brother-in-law, he spotted the sawdust. I'm Bernie. Bernadette Comeau, C-O-M-E-A-U, the camp's in my name. And yup, that's the place."),
                ("assistant", "Thanks, Bernadette. So the re-treatment's no charge, and the $95 inspection fee you paid in August, I'll put that back on your Visa. I can have Derek out to you Thursday the 12th."),
                ("user", "Oh good. And the beam, if they've chewed through—"),
                ("assistant", "The beam I can't promise anything on. That's a carpenter, the guarantee doesn't cover the wood."),
                ("user", "Figured. Réjean probably gave you his number, nine oh two, five five five, oh one eight one. Don't, he'll never pass it on. My cell's seven eight two, five five five, zero one three nine."),
                ("assistant", "(782) 555-0139, and I've taken 902-555-0181 off the file."),
                ("user", "And my husband Gilles keeps bees, two hives behind the shed. Whatever Derek puts down, nothing that'll drift their way, or I'll never hear the end of it."),
                ("assistant", "I'll put that on the work order, he's got a bait gel that stays put."),
                ("user", "Sorry, the wind's wild today, am I breaking up?"),
                ("assistant", "You're fine, I've got you."),
            ),
            (
                ("user", "Is it the same bunch as before, you think? Mum always said once you've got them you never get rid of them."),
                ("tool", "service_history", '{"agreement": "MPS 0392-117"}', '{"last_visit": "2025-05-21", "technician": "D. Marsh", "product": "bait gel, perimeter", "inspection_report": "IR-20417-NS", "notes": "moisture damage NE corner of deck; material stacked against rear wall, recommend removal"}'),
                ("assistant", "Derek's notes from May say moisture in the corner of the deck, and something stacked against the back wall he wanted moved. Ants love both, so it's probably the same colony."),
                ("user", "Oh, the woodpile. That's Gilles and his two cords of maple. Okay, leave that with me. It's getting shifted off that wall before Thursday, even if I have to stack it all myself."),
                ("assistant", "That'd really help. Anything touching the siding is like a highway for them."),
                ("user", "In the meantime do I spray them? There's a can of Raid in the shed."),
                ("assistant", "Best not to, the store sprays just scatter them. Sweep the sawdust up, though, so Derek can tell if there's fresh stuff."),
                ("user", "Hang on— Gilles, it's the ant people— sorry, he says hi."),
                ("assistant", "Hi to Gilles."),
            ),
            (
                ("user", "Oh shoot, before I forget, Derek's going to end up at the wrong spot. That 4471 on Highway 3 is our old civic number. The county renumbered the whole shore road last fall, the new blue sign's been up since November, we just never told anybody. It's 61 Heron Cove Road now, same camp, same lane."),
                ("assistant", "Ah, good catch, his GPS would've had him driving up and down the highway. I've changed the service address to 61 Heron Cove Road, Hubbards."),
                ("user", "The lane's pretty rough in the spring, tell him to take it slow."),
                ("assistant", "He drives a pickup, he'll manage."),
                ("user", "And it'll be Derek himself, not some new guy?"),
                ("assistant", "Derek, yeah, Thursdays he does the whole South Shore run."),
                ("user", "Good, he's nice. He took his boots off last time without being asked."),
            ),
            (
                ("user", "While I have you, do you do ticks? The dog came in with three of them last week."),
                ("assistant", "We can do a yard treatment, but honestly the stuff from the vet does more for the dog."),
                ("user", "And mice. Every fall they move into the camp like they pay rent. Gilles sets traps but they're smarter than him."),
                ("assistant", "We do a fall exclusion service, sealing up the gaps around the foundation. I can email you the price sheet."),
                ("user", "Sure, send it. My neighbour swears by peppermint oil."),
                ("assistant", "It smells nice, I'll give it that."),
            ),
            (
                ("user", "What time Thursday, roughly?"),
                ("assistant", "Morning. He'll call your cell when he leaves Chester, so about forty minutes' warning."),
                ("user", "And I pay him anything on the day?"),
                ("assistant", "Nothing, it's all under the guarantee. He'll just get you to sign the work order."),
                ("user", "Perfect. Okay, thanks Shauna, you've been great."),
                ("assistant", "No problem, Bernadette. Hope they pack up and leave."),
                ("user", "From your lips. Bye now."),
            ),
        ),
        (
            Fact("name", ("Comeau",), "who owns the cottage and phoned in", wrong=("Doucet",)),
            Fact("id", ("0392-117",), "her service contract number", wrong=("0388-204",)),
            Fact("address", ("4471 Highway 3",), "where the technician was first sent", folds=(1, 2)),
            Fact("address", ("Heron Cove",), "civic location of the camp today", wrong=("4471",), folds=(3, FOLDS)),
            Fact("phone", ("782 555 0139",), "best line for the technician to call", wrong=("902 555 0181",)),
            Fact("preference", ("hive",), "what the treatment must stay away from"),
            Fact("agent_promise", ("95", "Thursday"), "fee going back on her card and the re-treatment day", done=_PROMISED),
            Fact("caller_promise", ("woodpile",), "firewood she will clear from the wall", who=("Bernadette", "Bernie", "Comeau", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("IR-20417",), "spring inspection report number", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "self_storage",
        (
            (
                ("assistant", "Goedemiddag, Maasopslag self storage, u spreekt met Joost."),
                ("user", "Oh, hi. Sorry, is it okay in English? For money things my Dutch gets lost."),
                ("assistant", "Of course, no problem at all. How can I help?"),
                ("user", "So you took the rent two times this month. One for the big unit and one for the small locker, but the locker I gave up in February."),
                ("assistant", "Ah, that's annoying, sorry. Can I have the name on the contract?"),
                ("user", "Dijkstra. With I-J, D, I, J, K, S, T, R, A. Femke. In the beginning Ruben Hoekstra was also on it, from when we lived together, but he's off the contract since last year."),
                ("assistant", "Femke Dijkstra, thank you. And the contract number, starting with R-T-M?"),
                ("user", "R-T-M, five oh eight, two two, and then a K. The locker was a different one, RTM-41906K, that's the one you should have stopped."),
                ("assistant", "Yes, RTM-50822K, unit C-117. The locker contract is ended, but the direct debit was never switched off, our mistake. The €38,50 for the locker I transfer back today, so it's on your account by Monday the 10th. The locker deposit, the twenty-five euro, that was already paid back in March, that's separate."),
                ("user", "Oh, right, yes, I remember that one came."),
                ("assistant", "I have your address as Schiekade 143-B, 3013 BS Rotterdam."),
                ("user", "Mm-hm."),
                ("assistant", "And the phone number here is 010 466 3082."),
                ("user", "No, no, that's my old job, I left there. Mobile is oh six, two eight seven four, eleven ninety-five."),
                ("assistant", "06 2874 1195. I've put it in."),
                ("user", "And — sorry — I work nights at the hospital. A call in the morning, I'm sleeping. A WhatsApp I see when I wake up."),
                ("assistant", "Okay, in the notes: WhatsApp, no calling in the mornings."),
                ("user", "Sorry, a tram is going past, it's very loud here."),
                ("assistant", "No problem, I can hear you."),
            ),
            (
                ("user", "And the gate. My pass doesn't work since last week. I stood there on Saturday with a van full of boxes and nothing, the light just goes red."),
                ("tool", "account_overview", '{"contract": "RTM-50822K"}', '{"unit": "C-117", "size_m2": 6, "locker_contract": "ended 2025-02-28", "sepa_mandate": "MND-0047731", "duplicate_debit": "2025-03-01, locker", "access_pass": "blocked, still linked to ended locker contract"}'),
                ("assistant", "I see what happened. Your pass was still linked to the locker contract, so when we closed the locker, the system blocked your pass with it. I'll make a new pass and send it to you by post, and until then I'll send you a code for the side door."),
                ("user", "Okay, good. Oh, and the locker, there's still my padlock on it, a big yellow one. The key I lost long ago. My brother has bolt cutters, so Saturday we come and cut the padlock off, then you can rent it to someone else."),
                ("assistant", "That's perfect, thank you. Just tell whoever is at reception when you're there."),
                ("user", "Can we leave the cut lock in your bin?"),
                ("assistant", "Yes, the grey bin next to the lift, that's for metal."),
            ),
            (
                ("user", "Wait, by post you said? To the Schiekade? No, that won't reach me. I'm not living there anymore, the lease was finished end of March, that's the whole reason all my things are in storage! I'm staying in Schiedam now. Lange Haven 88, 3111 CK Schiedam. The bell says Bakker, but the letterbox is fine."),
                ("assistant", "Ah, that explains the big unit. Okay, I changed the address to Lange Haven 88, 3111 CK Schiedam, so the new pass goes there."),
                ("user", "How long does it take, the post?"),
                ("assistant", "Normally two working days, so end of the week."),
                ("user", "Do you need some proof of the new address? A letter or something?"),
                ("assistant", "No, not for us, it's only where we send the post."),
                ("user", "Okay. Schiedam is nice, actually, more quiet."),
                ("assistant", "And the windmills."),
            ),
            (
                ("user", "Can I ask, do you also have space for a scooter? My brother wants to put his away for winter."),
                ("assistant", "We have parking spots in the back for scooters and motorbikes, I can email the price."),
                ("user", "Is the big unit heated? I have some paintings in there."),
                ("assistant", "It's not heated, but it's dry and the temperature stays quite even."),
                ("user", "Okay, then I bring some of them home later. My sister says I keep too much stuff anyway."),
                ("assistant", "For oil paintings that's maybe wise. And everybody says that about storage, don't worry."),
            ),
            (
                ("user", "The opening times for Saturday, it's the same as the week?"),
                ("assistant", "The gate is open every day from six until ten, the desk only until five on Saturday."),
                ("user", "And if I lose the new pass also? I'm a bit chaotic."),
                ("assistant", "Then you call us and we block it, a new one is ten euro, but let's hope not."),
                ("user", "Ha, yes. Okay. Thank you, Joost, really, you were very patient."),
                ("assistant", "You're welcome, Femke. Fijne dag, and good luck with the padlock."),
            ),
        ),
        (
            Fact("name", ("Femke Dijkstra",), "renter of the storage unit", wrong=("Ruben Hoekstra",)),
            Fact("id", ("RTM-50822K",), "contract for the big unit", wrong=("RTM-41906K",)),
            Fact("address", ("Schiekade",), "postal address first on file", folds=(1, 2)),
            Fact("address", ("Lange Haven",), "where her post should be sent now", wrong=("Schiekade",), folds=(3, FOLDS)),
            Fact("phone", ("2874 1195",), "number she can be reached on", wrong=("010 466 3082",)),
            Fact("preference", ("WhatsApp",), "how she wants to be contacted given her night shifts"),
            Fact("agent_promise", ("38.50", "Monday"), "double rent going back to her account", done=_PROMISED),
            Fact("caller_promise", ("padlock",), "what she will remove from the old locker", who=("Femke", "Dijkstra", "caller", "customer", "renter", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("MND-0047731",), "direct debit mandate reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "laptop_repair",
        (
            (
                ("assistant", "Zenbyte care, Imran speaking. May I have the service tag of your laptop?"),
                ("user", "Hello? Yes. One minute, I'm turning it over... very small writing. C, 7, Q— no, Q, not O— X, R, 9, 3."),
                ("assistant", "C7QXR93. Thank you. Ma'am, it is showing registered to Mr Arvind Kulkarni?"),
                ("user", "Yes, my husband ordered it online, so his name came. But I'm using it, Meera Kulkarni. He is in Pune, on tour."),
                ("assistant", "No problem, Mrs Kulkarni. One more tag is under this account, 8HNW2K1, that one also?"),
                ("user", "That one is old, we gave it in exchange last Diwali, ignore that."),
                ("assistant", "Okay. What's the issue?"),
                ("user", "Suddenly not charging. Light is blinking orange, three times, then nothing. Already I tried my colleague's charger, same thing."),
                ("assistant", "Three orange blinks is usually the charging circuit on the motherboard, ma'am. Your warranty is valid, so that is covered, and the ₹850 doorstep pickup charge I am waiving for you. You'll get it back repaired by Wednesday, the 18th."),
                ("user", "And the battery? I think it is swelling a little, the bottom is not flat."),
                ("assistant", "Battery I cannot promise, ma'am, it is not under warranty. The engineer will give a separate estimate."),
                ("user", "Okay fine."),
                ("assistant", "Pickup address I have: Flat 302, Tulsi Apartments, 4th Cross, Malleshwaram, Bengaluru 560003."),
                ("user", "Hmm, yes."),
                ("assistant", "And contact number, 99001 27485."),
                ("user", "No, that's Arvind's. Don't call, he's in meetings whole day, he'll simply cut. Mine is nine eight four five zero, three one seven six two."),
                ("assistant", "98450 31762, updated, ma'am."),
                ("user", "And one request. Whoever is coming, tell him not to press the bell. My father-in-law is bedridden, he gets startled. Give a missed call from downstairs, I'll come."),
                ("assistant", "Sure, I'll put it in the remarks for the pickup executive."),
            ),
            (
                ("user", "How will the pickup happen, somebody will come today itself?"),
                ("tool", "schedule_pickup", '{"service_tag": "C7QXR93", "pincode": "560003", "type": "doorstep"}', '{"partner": "BlueDart", "slot": "tomorrow 10:00-13:00", "docket": "BLR-PK-339018", "hub": "Peenya", "box_provided": true}'),
                ("assistant", "Pickup is booked for tomorrow morning, between ten and one. The courier will bring the box, you don't need to pack anything."),
                ("user", "Okay. One thing, it has a password on login. Should I remove it?"),
                ("assistant", "No need to remove, ma'am, but the engineer has to log in to test after the repair."),
                ("user", "Then the password I'll write on a chit and tape it to the charger. My office files also I'll copy to pen drive tonight, just in case."),
                ("assistant", "That's best, ma'am, sometimes they need to reinstall."),
                ("user", "The laptop bag also I should give, or only laptop?"),
                ("assistant", "Only laptop and charger, ma'am, keep your bag. The box is padded."),
                ("user", "Sorry— Raju, the milk packet is on the table, take it— sorry, sorry. Maid's son."),
                ("assistant", "No problem, ma'am."),
            ),
            (
                ("user", "Wait, wait. You said Malleshwaram, na? Aiyo, I said yes without listening. We rented out that flat, we shifted to Jayanagar in January. Tenants are there now, the courier will go and they won't know anything. Pickup should be No. 14, 9th Main Road, 3rd Block, Jayanagar, 560011."),
                ("assistant", "Okay ma'am, good you told me. I've changed the pickup address to No. 14, 9th Main Road, 3rd Block, Jayanagar, and I'll inform the courier for tomorrow's slot."),
                ("user", "Near the Ganesha temple, tell him, everybody knows that."),
                ("assistant", "I've added the landmark."),
                ("user", "Traffic from Peenya to Jayanagar in the morning, he'll come by lunch only."),
                ("assistant", "The slot is till one, ma'am, he'll manage."),
            ),
            (
                ("user", "Is my data safe? Somebody will see my photos and all?"),
                ("assistant", "The engineers don't open personal files, ma'am, they only run the diagnostics."),
                ("user", "My nephew is saying just buy a Mac, all these problems won't come."),
                ("assistant", "Ha, every laptop has its problems, ma'am. Yours is only two years old, it'll be fine after this."),
                ("user", "Extended warranty, is it worth it?"),
                ("assistant", "I can send the plans on email, you can decide later."),
                ("user", "Send, send. My husband will decide, he likes reading all the fine print."),
                ("assistant", "Sure ma'am, it'll come to the registered email."),
            ),
            (
                ("user", "If any problem, I call this same number?"),
                ("assistant", "Yes ma'am, nine to nine, all seven days. You'll also get SMS updates at each stage."),
                ("user", "And the courier, he will show some ID? These days you can't trust."),
                ("assistant", "He'll have the BlueDart ID card and the pickup message will have his name."),
                ("user", "Okay, thank you, Imran. Very helpful."),
                ("assistant", "Thank you, Mrs Kulkarni. Have a good day."),
            ),
        ),
        (
            Fact("name", ("Meera Kulkarni",), "person using the laptop and calling", wrong=("Arvind",)),
            Fact("id", ("C7QXR93",), "service tag of the faulty machine", wrong=("8HNW2K1",)),
            Fact("address", ("Tulsi Apartments",), "collection address first confirmed", folds=(1, 2)),
            Fact("address", ("Jayanagar",), "where the courier should collect from now", wrong=("Tulsi",), folds=(3, FOLDS)),
            Fact("phone", ("98450 31762",), "her own mobile for the courier", wrong=("99001 27485",)),
            Fact("preference", ("bell",), "how the pickup person should announce arrival"),
            Fact("agent_promise", ("850", "Wednesday"), "waived collection charge and return date", done=_PROMISED),
            Fact("caller_promise", ("password",), "login detail she will leave with the laptop", who=("Meera", "Kulkarni", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("PK-339018",), "courier docket for the collection", folds=(2, FOLDS)),
        ),
    ),
)

HELD_OUT: tuple[Call, ...] = (
    # written blind by a helper that could not see ctxmgr's code, after 9e2a3ae; reported
    # at ff0c88a: they join the training calls when fresh ones are written
    Call(
        "skip_bin",
        (
            (
                ("assistant", "Hunter Skip Bins, Kylie speaking."),
                ("user", "Oh, hi Kylie. Yeah, look, it's about a bin for Thursday. I reckon youse have charged me twice for it."),
                ("assistant", "Ah, sorry about that. Whose name's the booking under?"),
                ("user", "Well, that's the thing, Craig might've put it through, Craig Moffat, he's my brother-in-law, he's doing the reno for us. But it's my card and my house. Hamish Tuilagi. T-U-I, L-A, G-I."),
                ("assistant", "Tuilagi, like the footy player?"),
                ("user", "No relation, sadly. Everyone asks."),
                ("assistant", "Ha. Got a booking number handy, Hamish?"),
                ("user", "It's in the email somewhere... HB-57902. Oh, nah, hang on, that's from March when we did the shed. This one's HB-58314."),
                ("assistant", "HB-58314, four-cube bin, Thursday drop. And yep, there it is, $389 on the 2nd and $389 again on the 3rd. No idea how that happened."),
                ("user", "So can I get one of 'em back or what?"),
                ("assistant", "Yeah, course. The second one's getting reversed today. Banks take a few days, but you'll have that 389 back on your card by Wednesday, the 11th."),
                ("user", "Good-o. It's going to the house, 14 Banksia Parade, Merewether."),
                ("assistant", "Yep, 14 Banksia Parade. Now the mobile on here's 0407 335 218, is that still-"),
                ("user", "That's Craig's. Don't ring him, he'll say yes to everything and not tell me. Mine's oh-four-three-eight, one-nine-one... six-oh-two."),
                ("assistant", "0438 191 602. Swapped."),
                ("user", "And Kylie, whatever you do, the driver can't drop it on the driveway. We only just had it re-poured, the concrete's still green. Stick it on the front lawn, he can chew up the grass all he likes."),
                ("assistant", "Front lawn, keep off the driveway. In the driver notes."),
                ("user", "Sorry, that's next door's mower, you'll have to speak up."),
                ("assistant", "All good, I'll shout."),
            ),
            (
                ("user", "What time's the truck likely to rock up? I've got the school run."),
                ("tool", "dispatch_lookup", '{"booking": "HB-58314"}', '{"truck": "hook-lift 3", "driver": "Bazza", "window": "Thu 06:30-09:30", "job_sheet": "NCL-40917", "declared_items": ["tiles", "timber", "mattress (surcharge $40)"], "max_weight_t": 2.5}'),
                ("assistant", "Between half six and half nine, so he might beat you out the door. Oh, and Craig's listed a mattress on the booking. Mattresses are an extra forty, they have to go off separate for recycling."),
                ("user", "Forty bucks for a mattress? Stuff that. Take it off. I'll chuck the mattress in the ute and run it down the Summerhill tip myself on Saturday."),
                ("assistant", "Easy, it's off the declared list."),
                ("user", "What else can't go in? Craig's got a mountain of old tiles and some paint tins."),
                ("assistant", "Tiles are fine, just heavy, so keep an eye on the weight, it's two and a half tonne max. Paint tins only if they're empty and dried out. And no asbestos, that's a whole other job."),
                ("user", "Yeah nah, it's a nineties place, no fibro."),
                ("assistant", "Good stuff."),
            ),
            (
                ("user", "Oh, Kylie, before I forget, Craig's just texted me. Change of plan. The tiler can't start ours till the week after, so they're gutting Mum's bathroom first, and the bin's gotta go there instead. Can you do that?"),
                ("assistant", "Should be fine if it's in our area. Where's your mum?"),
                ("user", "Charlestown. Unit 2, 9 Kookaburra Close. It's the front unit."),
                ("assistant", "Unit 2, 9 Kookaburra Close, Charlestown. Done, Thursday's drop goes to your mum's now, Banksia Parade's off the job."),
                ("user", "Same rule there, mind, there's a bit of lawn out the front, put it on that. The strata crowd get cranky about the driveway."),
                ("assistant", "Lawn it is."),
                ("user", "Does the driver need anyone home?"),
                ("assistant", "Nah, as long as the spot's clear he just drops it and goes."),
            ),
            (
                ("user", "You watch the Knights on the weekend?"),
                ("assistant", "Don't talk to me about it. Up by twelve at half time."),
                ("user", "Mate, I turned it off at seventy minutes, couldn't bear it."),
                ("assistant", "Smart man. My husband threw a cushion at the telly."),
                ("user", "If the reno drags, can we keep the bin longer?"),
                ("assistant", "Seven days are included, then it's twenty-five a day after that. Just give us a ring."),
                ("user", "Righto. Hopefully Craig's quicker than that. He reckons two weeks, but he said that about the deck too."),
                ("assistant", "Ha, they all do. My brother's been 'nearly done' with his kitchen since Easter."),
            ),
            (
                ("user", "Will I get a heads-up before he comes?"),
                ("assistant", "You'll get a text when he's leaving the yard."),
                ("user", "And pick-up, do I book that?"),
                ("assistant", "Yep, ring or do it in the app once it's full. Don't fill it past the top edge, though, or he can't tarp it and he'll leave it."),
                ("user", "Fair enough, I'll keep Craig honest."),
                ("user", "Beauty. Cheers, Kylie, you've been a champ."),
                ("assistant", "No worries, Hamish. Good luck with the reno."),
            ),
        ),
        (
            Fact("name", ("Hamish Tuilagi",), "who the bin job belongs to", wrong=("Craig Moffat",)),
            Fact("id", ("HB-58314",), "reference for this week's bin hire", wrong=("HB-57902",)),
            Fact("address", ("Banksia Parade",), "where the bin was first meant to be dropped", folds=(1, 2)),
            Fact("address", ("Kookaburra",), "drop-off location the truck should head to now", wrong=("Banksia",), folds=(3, FOLDS)),
            Fact("phone", ("0438 191 602",), "mobile to text or call him on", wrong=("0407 335 218",)),
            Fact("preference", ("lawn",), "where the driver should set the skip down"),
            Fact("agent_promise", ("389", "Wednesday"), "duplicate card charge coming back and when", done=_PROMISED),
            Fact("caller_promise", ("mattress",), "item he is taking to the tip himself", who=("Hamish", "Tuilagi", "caller", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("NCL-40917",), "dispatch job sheet reference", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "laundry",
        (
            (
                ("assistant", "Hello, good afternoon, FreshFold laundry, Jasmine here."),
                ("user", "Hi, hello. Ya, I got problem with my last order. My silk blouse came back shrink until like children size."),
                ("assistant", "Oh dear, so sorry to hear that. May I have the order number?"),
                ("user", "Order number ah... okay, the app says FL-771988. Wait, no, that one is last week, the bedsheet one. The blouse one is FL-772604."),
                ("assistant", "FL-772604. The account name I see here is Marites Dela Cruz?"),
                ("user", "Ya, that's my helper. She's the one always booking, so the app is under her name. But the blouse is mine lah. I'm Goh Siew Ling. Siew, S-I-E-W."),
                ("assistant", "Okay, Ms Goh. Let me see... yes, one silk blouse, dry-clean only, but it went into wet wash. That one is our mistake."),
                ("user", "Ya, I paid a hundred over dollars for it, you know."),
                ("assistant", "I understand. Without the purchase receipt, the maximum on our claim table is $74.90, so that amount goes back to your card, latest by this Friday. If you can find the receipt with the full price, then I can escalate for the balance."),
                ("user", "Hmm, okay lah, better than nothing."),
                ("assistant", "Return address is Blk 228 Tampines Street 21, #11-402?"),
                ("user", "Mm, ya."),
                ("assistant", "And contact number 6784 2216?"),
                ("user", "That's the house phone, nobody picks up one, my helper won't answer if she doesn't know the number. Call my handphone. Nine one seven six... sorry ah, my bus is here... three three two zero."),
                ("assistant", "9176 3320, noted."),
                ("user", "Oh, and for the next batch, please don't put softener. My baby got eczema, the last time his skin became all red."),
                ("assistant", "No softener, I've put it on the account, so it shows for all future orders."),
                ("user", "Thank you, ah."),
            ),
            (
                ("user", "The rest of that order, when will come back? My husband's office clothes inside, he is complaining already."),
                ("tool", "order_items", '{"order": "FL-772604"}', '{"bag_tag": "LB-30917-T", "declared_items": 15, "received_items": 14, "missing": "1 x men\'s shirt, blue", "status": "pressing", "return_slot": "Thu 19:00-22:00"}'),
                ("assistant", "Now at pressing stage, can return on Thursday evening, seven to ten. But one thing ah, the form says fifteen pieces and our staff only counted fourteen. One men's blue shirt was not in the bag when it reached us."),
                ("user", "Huh? Maybe my husband took it out last minute, he always does that. Okay, tonight I'll ask him, then tomorrow I'll WhatsApp you whether the blue shirt is at home or not."),
                ("assistant", "Okay, thank you. If it's at home, then nothing is missing, good."),
                ("user", "Ya, hopefully. The driver can call before he comes up? Our lift sometimes got problem."),
                ("assistant", "He'll call from the void deck."),
                ("user", "Okay, good. And his office things, hang or fold? Last time all folded, got lines everywhere."),
                ("assistant", "Office wear we can put on hangers, no extra charge. I'll tick that."),
                ("user", "Okay, good."),
            ),
            (
                ("user", "Wait, Thursday night? Aiyo, cannot. Wednesday we hand over the keys, we sold the flat. I totally forgot to tell you. Thursday onwards we're staying with my in-laws, so everything send there please. 18 Jalan Kembangan, Singapore 419133."),
                ("assistant", "Oh, okay. So 18 Jalan Kembangan, 419133. I'll change the address on the account, so the return and all future pickups go there, not the HDB anymore."),
                ("user", "Yes, all. It's a landed house, just ring the bell at the gate."),
                ("assistant", "Noted. Same time slot okay?"),
                ("user", "Seven to ten, can. My mother-in-law is always home. She'll open, but she speaks mostly Teochew, so the driver just smile and pass her the bag."),
                ("assistant", "Haha, okay, I'll tell him. Kembangan is still in our zone, so no extra delivery fee."),
                ("user", "Okay, good, good."),
                ("assistant", "Okay, done."),
            ),
            (
                ("user", "The eczema ah, you know any detergent that is gentle? The doctor say fragrance-free."),
                ("assistant", "We use a fragrance-free one for the sensitive-skin option, I can send you the brand name."),
                ("user", "Send, send. This haze also making it worse, his cheeks so dry."),
                ("assistant", "Ya, this week very bad. My son also coughing."),
                ("user", "Take care, ah. Is there extra charge for the sensitive one?"),
                ("assistant", "No extra, same price. Just choose 'sensitive' in the app when you book."),
                ("user", "Okay, I'll tell my helper, she's the one always pressing the buttons."),
                ("assistant", "Haha, okay."),
            ),
            (
                ("user", "Okay, I think that's all. You'll send me the claim thing by email?"),
                ("assistant", "Yes, the claim form comes to the email on the account, just sign and reply."),
                ("user", "That's Marites' email, I'll tell her to forward."),
                ("assistant", "Okay, no problem. Anything else, Ms Goh?"),
                ("user", "No more. Sorry ah, just now I was a bit fierce, the blouse was a present from my mum."),
                ("assistant", "No need to say sorry, I would be upset also. Thank you, have a good day."),
            ),
        ),
        (
            Fact("name", ("Siew Ling",), "whose blouse it was and who rang", wrong=("Marites",)),
            Fact("id", ("FL-772604",), "order with the damaged garment", wrong=("FL-771988",)),
            Fact("address", ("228 Tampines",), "where returns went at the start of the call", folds=(1, 2)),
            Fact("address", ("Kembangan",), "where her laundry is delivered since the move", wrong=("Tampines",), folds=(3, FOLDS)),
            Fact("phone", ("9176 3320",), "how to reach her directly", wrong=("6784 2216",)),
            Fact("preference", ("softener",), "what to leave out of the wash for the baby"),
            Fact("agent_promise", ("74.90", "Friday"), "compensation for the shrunken top and its timing", done=_PROMISED),
            Fact("caller_promise", ("shirt",), "what she will check with her husband and report back on", who=("Siew Ling", "Goh", "caller", "customer", "user", "she", "her"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("LB-30917",), "tag on the laundry bag", folds=(2, FOLDS)),
        ),
    ),
    Call(
        "catering",
        (
            (
                ("assistant", "Good afternoon, thank you for calling Mama Tola's Kitchen, this is Bisi. How may I help you?"),
                ("user", "Good afternoon. Please, I'm calling about my father's seventieth, the catering for Saturday. My sister booked it, Nkechi, Nkechi Balogun, but she has travelled to Abuja, so I am the one handling everything now."),
                ("assistant", "Okay sir, no problem. And who am I speaking with?"),
                ("user", "Emeka. Chukwuemeka Nwosu. N-W-O-S-U."),
                ("assistant", "Thank you, Mr Nwosu. Do you have the order number?"),
                ("user", "She forwarded me a receipt... RC-11852 at the top-"),
                ("assistant", "Sir, that one is the deposit receipt. The order number starts with K-T."),
                ("user", "Ehen, I see it. KT-40736."),
                ("assistant", "KT-40736, jollof, fried rice, small chops and asun for one hundred and fifty guests, Saturday the 14th."),
                ("user", "Yes. Now, the invoice Nkechi got, you charged for chairs. We never asked for chairs, the hall has its own chairs."),
                ("assistant", "Let me check... you're right, sir, chair rental was added by mistake. Accounts will reverse the ₦25,000 for the chairs into the account it was paid from; by Friday latest it should land. The service charge remains, that one is standard."),
                ("user", "Alright. The venue is Adeyemi Memorial Hall, 15 Ogunlana Drive, Surulere."),
                ("assistant", "15 Ogunlana Drive, Surulere, noted. Which number should our logistics call on the day?"),
                ("user", "Use mine. Zero-eight-zero-three, four-one-two, seven-seven-five-zero. Not the one on the form, 0815 990 2231, that's Nkechi's, she's in Abuja, she can't help anybody."),
                ("assistant", "0803 412 7750. Okay, sir."),
                ("user", "One more thing, very important. Papa is diabetic. The zobo, please, no sugar inside at all. Last time somebody's zobo was like syrup."),
                ("assistant", "No sugar in the zobo. I've written it in capital letters."),
                ("user", "Hello? Hello? Bisi, are you there? This network..."),
                ("assistant", "I'm here, sir, I can hear you now."),
            ),
            (
                ("user", "Please, how many of your staff are coming? Do we need to feed them also?"),
                ("tool", "event_sheet", '{"order": "KT-40736"}', '{"guests": 150, "servers": 6, "chef_lead": "Kunle", "arrival": "Sat 09:00", "event_sheet": "ES-88347", "headcount_status": "not confirmed", "deposit_paid": "50%"}'),
                ("assistant", "Six servers and the lead chef, Mr Kunle. They arrive nine o'clock to set up. You don't need to feed them, sir, they eat before they come."),
                ("user", "Good. But the number of people, it may be more. Papa's church people are saying they will come."),
                ("assistant", "The sheet still shows the numbers as not confirmed. We must know the final figure, because above one hundred and fifty the kitchen has to buy more."),
                ("user", "I'll call the church secretary tomorrow morning, then latest Wednesday evening I'll send you the final headcount."),
                ("assistant", "Wednesday is fine, sir. Just WhatsApp it to this same line."),
                ("user", "And the asun, is it very peppery? Some of the old people..."),
                ("assistant", "We can do half with less pepper, no extra cost."),
                ("user", "Ah, thank you. You people are trying."),
            ),
            (
                ("user", "Bisi, sorry, I'm just seeing a message from the hall manager. Hmm. He said the roof has been leaking since yesterday's rain and they can't guarantee the hall for Saturday. Ah-ah. So we'll do it at home. My father's house, the compound is big."),
                ("assistant", "Sorry about that, sir. Where is the house?"),
                ("user", "Plot 9, Fola Osibo Road, Lekki Phase 1. Tell them the gate with the almond tree."),
                ("assistant", "Plot 9, Fola Osibo Road, Lekki Phase 1. I've changed the venue, so the team won't go to Surulere at all."),
                ("user", "Lekki on Saturday morning, from your kitchen, the traffic..."),
                ("assistant", "They'll leave earlier, sir, by seven."),
                ("user", "Will you bring canopies? There's no hall now."),
                ("assistant", "We don't do canopies, but I can send you the contact of a rental man we use."),
            ),
            (
                ("user", "My father was a teacher for forty years. Half of Surulere passed through his class."),
                ("assistant", "Ah, then it will be a big party, sir."),
                ("user", "If your jollof is not better than the Ghanaian one, I'll hear it from him."),
                ("assistant", "Sir, there's no competition. Ours is party jollof, with the bottom pot smoke."),
                ("user", "Ha! Okay. Can the servers wear something in green? It's his favourite."),
                ("assistant", "They can wear green aprons, we have them."),
                ("user", "Fine. My brother is flying in from Houston, he's been begging for your moi moi since Christmas."),
                ("assistant", "Then he must come early, sir, before the church people finish it."),
            ),
            (
                ("user", "The balance, when do we pay it?"),
                ("assistant", "The balance is due before the team leaves the kitchen on Saturday, by transfer."),
                ("user", "And if it rains on Saturday? Now we're outside."),
                ("assistant", "That's why you need the canopy man, sir. I'll send his contact once we finish."),
                ("user", "Okay, I'll sort it out. Thank you, Bisi, you've really helped."),
                ("assistant", "You're welcome, sir. Happy birthday to your father."),
                ("user", "Amen. God bless you."),
                ("assistant", "Thank you, sir."),
            ),
        ),
        (
            Fact("name", ("Nwosu",), "family member now handling the order", wrong=("Balogun",)),
            Fact("id", ("KT-40736",), "catering order reference", wrong=("RC-11852",)),
            Fact("address", ("Ogunlana",), "party venue first given", folds=(1, 2)),
            Fact("address", ("Fola Osibo",), "where the food and staff must go on the day", wrong=("Ogunlana",), folds=(3, FOLDS)),
            Fact("phone", ("0803 412 7750",), "line logistics should ring on the day", wrong=("0815 990 2231",)),
            Fact("preference", ("zobo",), "dietary instruction for his father's drink"),
            Fact("agent_promise", ("25,000", "Friday"), "mistaken chair charge going back and by when", done=_PROMISED),
            Fact("caller_promise", ("headcount",), "final guest figure he owes the kitchen", who=("Emeka", "Chukwuemeka", "Nwosu", "caller", "customer", "user", "he", "his"), not_who=_AGENT, folds=(2, FOLDS)),
            Fact("tool_fact", ("ES-88347",), "event sheet number", folds=(2, FOLDS)),
        ),
    ),
)

CALLS = {"training": TRAINING, "held-out": HELD_OUT}
