"""The scripted support call the token-budget demo replays: turns, tools, audio.

A customer calls Parcelly about a late delivery. The first eleven turns give the
call's details (a name, an order number, an address, a callback number, and a
promise made in turn 10); none of them is said again. The rest of
the call (returns, tracking, warranty, invoices, small talk) comes from a fixed
rotation of topics with numbers that vary by turn: deterministic, no randomness
beyond a seeded ``random.Random``.

Every user and assistant message is speech and carries a duration: the provider
bills it as audio, user audio 1 token per 100 ms, assistant audio 1 per 50 ms.
Tool calls, their outputs, instructions and summaries are text.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ASSISTANT_MS_PER_TOKEN",
    "PLANTED_TURNS",
    "USER_MS_PER_TOKEN",
    "SupportCall",
    "ToolStep",
    "Turn",
    "Utterance",
    "audio_tokens",
    "support_call",
]

USER_MS_PER_TOKEN = 100
"""OpenAI Realtime bills user audio at 1 token per 100 ms."""
ASSISTANT_MS_PER_TOKEN = 50
"""... and assistant audio at 1 token per 50 ms."""
_MS_PER_WORD = {"user": 400, "assistant": 370}  # ~150 and ~160 words a minute

Role = Literal["user", "assistant"]


def audio_tokens(role: Role, duration_ms: int) -> int:
    """Tokens the provider bills for ``duration_ms`` of ``role``'s speech."""
    per_token = USER_MS_PER_TOKEN if role == "user" else ASSISTANT_MS_PER_TOKEN
    return math.ceil(duration_ms / per_token)


def speech_ms(role: Role, text: str) -> int:
    """How long ``text`` takes to say, at the script's speaking rates."""
    return len(text.split()) * _MS_PER_WORD[role]


@dataclass(frozen=True)
class Utterance:
    """Something said: its transcript and how long it took."""

    text: str
    duration_ms: int


@dataclass(frozen=True)
class ToolStep:
    """A tool call the agent makes in a turn, and what the tool returns."""

    name: str
    arguments: dict[str, Any]
    output: str


@dataclass(frozen=True)
class Turn:
    """One exchange: the user speaks, the agent maybe calls a tool, then answers."""

    index: int
    user: Utterance
    assistant: Utterance
    tool: ToolStep | None = None


@dataclass(frozen=True)
class SupportCall:
    """The whole script."""

    instructions: str
    turns: tuple[Turn, ...]
    durations: dict[tuple[str, str], int] = field(default_factory=dict, compare=False)
    """``(role, transcript) -> duration_ms`` of every scripted utterance."""

    def speech_tokens(self, role: Role, text: str) -> int:
        """Audio tokens of a transcript: the script's duration, else estimated from its words."""
        duration = self.durations.get((role, text))
        return audio_tokens(role, duration if duration is not None else speech_ms(role, text))

    def tool_output(self, name: str, arguments: dict[str, Any], turn: int) -> str:
        """What a tool returns: the scripted output for these arguments, else the turn's."""
        for t in self.turns:
            if t.tool is not None and t.tool.name == name and t.tool.arguments == arguments:
                return t.tool.output
        scripted = self.turns[min(turn, len(self.turns) - 1)].tool
        if scripted is not None and scripted.name == name:
            return scripted.output
        return json.dumps({"error": "no record found"})


INSTRUCTIONS = """\
You are Sam, a voice support agent for Parcelly, a UK online furniture and office \
equipment shop. You speak with customers on the phone, so keep every answer short, \
warm and easy to follow by ear: one or two sentences, no lists, no markdown, and \
spell out anything the customer must write down slowly.

What you can do:
- look up an order by its number, and track a parcel by its tracking number;
- release a parcel held at a depot, and book a new delivery attempt;
- open a return for a damaged or unwanted item and book a courier to collect it;
- check warranty cover, a customer's loyalty points and refund status;
- send a VAT invoice to the email address on the account.

Rules:
- Confirm the customer's name and order number before you change anything on an order.
- Never read out a full card number or ask for a card's security code.
- Refunds for delivery fees may be promised when the delivery was late through our fault; \
say the amount and the date the customer will see it.
- When a tool returns an error, say so plainly and offer the next best step.
- If the customer is upset, acknowledge it once, then move to what you can do.
- If you do not know, say so; never invent tracking events, dates or amounts.
- Before the call ends, recap any promise you made and anything the customer must do.

Parcelly facts you may use: standard delivery takes three to five working days and \
express delivery two; large items need a signature; returns are free within 30 days; \
the frame of every desk has a five-year warranty and motors two years; assembly costs \
35 pounds per item; loyalty points are worth one pound per hundred points; customers \
can split orders over 200 pounds into three interest-free payments."""


def _planted() -> list[Line]:
    order = {
        "order_number": "58213",
        "customer": "Dana Whitfield",
        "items": ["standing desk", "monitor arm", "cable tray"],
        "status": "in transit",
        "tracking_number": "PX4471902",
        "express": True,
    }
    return [
        (
            "Hi, I'm calling about a delivery that never showed up.",
            "I'm sorry to hear that, I can help with it today."
            " Could I start with your full name, please?",
            None,
        ),
        (
            "Sure, my name is Dana Whitfield.",
            "Thank you. And do you have the order number to hand?",
            None,
        ),
        (
            "Yes, the order number is 58213.",
            "I found it. Order 58213 has a standing desk, a monitor arm and a cable tray,"
            " and it is still marked in transit.",
            ToolStep("lookup_order", {"order_number": "58213"}, json.dumps(order)),
        ),
        (
            "It was supposed to go to 14 Larch Lane, Bristol, BS6 7QT.",
            "Thanks. The address on the order matches 14 Larch Lane in Bristol,"
            " so the label is right.",
            None,
        ),
        (
            "So why is it late? It was due last Tuesday.",
            "The parcel has been held at our Avonmouth depot for an address check since the 7th of"
            " March. That is why it did not arrive.",
            ToolStep(
                "track_parcel",
                {"tracking_number": "PX4471902"},
                json.dumps(
                    {
                        "status": "held at depot",
                        "depot": "Avonmouth",
                        "reason": "address check",
                        "since": "2024-03-07",
                    }
                ),
            ),
        ),
        (
            "That's ridiculous, I paid extra for express delivery.",
            "You are right to be frustrated. Express delivery should have reached you"
            " in two working days, and it did not.",
            None,
        ),
        (
            "If we get cut off, my number is 07700 900123.",
            "Got it, I have noted 07700 900123 as your callback number.",
            None,
        ),
        (
            "Can you release it from the depot today?",
            "Done. I have released it, and the next delivery attempt is on the 12th"
            " between 8 and 12 in the morning.",
            ToolStep(
                "release_hold",
                {"tracking_number": "PX4471902"},
                json.dumps(
                    {"released": True, "next_attempt": "2024-03-12", "window": "08:00-12:00"}
                ),
            ),
        ),
        (
            "Morning is fine. Will someone need to sign for it?",
            "Yes, the desk needs a signature because of its value,"
            " so someone will need to be home.",
            None,
        ),
        (
            "And what about the express fee? I paid 42 pounds for that.",
            "Let me look at what I can do about the express fee.",
            None,
        ),
        (
            "I really think I should get that back.",
            "You will. I promise you a full refund of the 42 pound express fee, and you will see it"
            " on your card by Friday.",
            None,
        ),
    ]


_DEPOTS = ("Avonmouth", "Swindon", "Reading", "Gloucester", "Bath", "Exeter")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_PRODUCTS = ("standing desk", "monitor arm", "office chair", "desk lamp", "filing cabinet")

Line = tuple[str, str, ToolStep | None]
"""A turn's user words, assistant words and tool step."""
Topic = Callable[[int, random.Random], Line]


def _track(t: int, rng: random.Random) -> Line:
    number, depot, hours = f"PX{5100230 + 17 * t}", _DEPOTS[t % 6], 2 + t % 9
    day = 13 + t % 14
    out = {
        "status": "out for delivery" if t % 2 else "in transit",
        "last_scan": depot,
        "hours_ago": hours,
        "eta": f"2024-03-{day}",
    }
    return (
        f"Can you check parcel {number}, the one with the {_PRODUCTS[t % 5]}?",
        f"It was last scanned at {depot} {hours} hours ago and should reach you on the"
        f" {_ordinal(day)} of March.",
        ToolStep("track_parcel", {"tracking_number": number}, json.dumps(out)),
    )


def _return(t: int, rng: random.Random) -> Line:
    product, order, rma = _PRODUCTS[(t + 2) % 5], f"{61000 + 37 * t}", f"RMA-{7300 + t}"
    reason = rng.choice(("arrived scratched", "has a bent bracket", "is the wrong colour"))
    out = {"rma": rma, "label": "emailed", "refund_method": "original card", "days": 5}
    return (
        f"The {product} from my other order, {order}, {reason}.",
        f"I'm sorry about that. I have opened return {rma} and emailed you a prepaid label;"
        " the refund goes back to your card within 5 days of us receiving it.",
        ToolStep(
            "create_return",
            {"order_number": order, "item": product, "reason": reason},
            json.dumps(out),
        ),
    )


def _warranty(t: int, rng: random.Random) -> Line:
    product = _PRODUCTS[t % 5]
    out = {"product": product, "frame_years": 5, "motor_years": 2, "registered": t % 3 == 0}
    return (
        f"How long is the warranty on the {product}?",
        f"The {product} has five years on the frame and two on any motor, and I can register"
        " it for you now so you never need the receipt.",
        ToolStep("check_warranty", {"product": product}, json.dumps(out)),
    )


def _loyalty(t: int, rng: random.Random) -> Line:
    points = 1200 + 13 * t
    return (
        "Do I have any loyalty points I could use?",
        f"You have {points} points, which is worth about {points // 100} pounds off your next"
        " order.",
        ToolStep("loyalty_balance", {}, json.dumps({"points": points, "worth_gbp": points // 100})),
    )


def _invoice(t: int, rng: random.Random) -> Line:
    invoice = f"INV-{20400 + 31 * t}"
    return (
        "Could you send a VAT invoice for that to my work email?",
        f"Sent. The invoice number is {invoice}, and it should arrive within a few minutes.",
        ToolStep(
            "send_invoice", {"reference": invoice}, json.dumps({"sent": True, "invoice": invoice})
        ),
    )


def _courier(t: int, rng: random.Random) -> Line:
    day = 14 + t % 12
    slot = rng.choice(("09:00-13:00", "13:00-17:00"))
    ref = f"CR{880 + t}"
    return (
        f"When can a courier collect the return, ideally on a {_DAYS[t % 5]}?",
        f"I have booked a collection on the {_ordinal(day)} between {slot[:5]} and {slot[6:]};"
        f" the booking reference is {ref}.",
        ToolStep(
            "book_courier",
            {"date": f"2024-03-{day}"},
            json.dumps({"booked": True, "slot": slot, "reference": ref}),
        ),
    )


def _chat(t: int, rng: random.Random) -> Line:
    lines = [
        ("Okay, give me a second to write that down.", "Of course, take your time, I'm here."),
        (
            "Sorry, can you repeat that last part?",
            "Sure. The main thing is that it is booked and you do not need to do anything else.",
        ),
        (
            "Honestly, this whole thing has been a lot of hassle.",
            "I understand, and I'm sorry. I have added a note so anyone who picks this up sees the"
            " full history.",
        ),
        ("Right, that makes sense.", "Good. Is there anything else I can look at while we talk?"),
        ("Hang on, someone is at the door.", "No problem, I'll stay on the line."),
        (
            "Okay, I'm back. Where were we?",
            "We had just sorted that out, so we can move on to whatever is next on your list.",
        ),
    ]
    user, assistant = lines[t % len(lines)]
    return (user, assistant, None)


def _product(t: int, rng: random.Random) -> Line:
    questions = [
        (
            "Does the desk go low enough for my daughter? She's quite short.",
            f"The desk goes from {60 + t % 5} to {125 + t % 5} centimetres, so it suits most"
            " heights, including children.",
        ),
        (
            "Is there an assembly service for the chair?",
            "Yes, assembly is 35 pounds per item, and the technician brings everything needed.",
        ),
        (
            "Can I pay for the new filing cabinet in instalments?",
            "Yes, any order over 200 pounds can be split into three interest-free payments.",
        ),
        (
            "Does the lamp come with a bulb?",
            f"It does, a warm white LED bulb rated for about {20 + t % 10} thousand hours.",
        ),
    ]
    user, assistant = questions[t % len(questions)]
    return (user, assistant, None)


PLANTED_TURNS = len(_planted())
"""The opening turns that give the call's details: the script never has fewer."""

_TOPICS: tuple[tuple[Topic, int], ...] = (
    (_chat, 30),
    (_product, 16),
    (_track, 18),
    (_return, 8),
    (_warranty, 7),
    (_loyalty, 5),
    (_invoice, 6),
    (_courier, 10),
)
"""Topics of the rest of the call, with their weights."""


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def support_call(turns: int = 120, *, seed: int = 20240312) -> SupportCall:
    """The script, ``turns`` long (at least the eleven planted turns)."""
    rng = random.Random(seed)
    lines = _planted()
    for t in range(len(lines), turns):
        (topic,) = rng.choices([t for t, _ in _TOPICS], weights=[w for _, w in _TOPICS])
        lines.append(topic(t, rng))
    script: list[Turn] = []
    durations: dict[tuple[str, str], int] = {}
    for t, (user, assistant, tool) in enumerate(lines[: max(turns, PLANTED_TURNS)]):
        u = Utterance(user, speech_ms("user", user))
        a = Utterance(assistant, speech_ms("assistant", assistant))
        durations[("user", user)] = u.duration_ms
        durations[("assistant", assistant)] = a.duration_ms
        script.append(Turn(t, u, a, tool))
    return SupportCall(INSTRUCTIONS, tuple(script), durations)
