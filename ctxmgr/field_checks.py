"""Questions that check the address and the phone a model wrote in a handover.

A small model leaves an address current after the user said it is wrong ("Braeside's
the holiday let, ours is the main house"), and writes the number the user said not to
use, or an account number, as the phone to use. The address and the phone the
handover gives (the model's answer, else the earlier handover) are each asked about
when a folded turn mentions them, with that turn quoted: the latest user turn that
mentions it (else the latest turn), the turn before and the turn after, a request of
one or two hundred tokens:

```text
The assistant said: "And the best number for the engineer?"
The user said: "The house phone, 01577 830 442. The mobile ... just goes to voicemail."
The assistant said: "House phone it is."
Should the user be phoned on 01577 830 442? Answer yes or no.
```

A "no" takes the value out of the handover, out of the earlier one too: a value the
turns now say is wrong is stale. A refused phone, or a handover with none, gives way to
the number the model picks among those the user's turns gave, in digits or in words
(:func:`phone_choice`), or, when there is one, to that one if the model says yes to it.

Only these two are checked: asked the same way on the training calls, the model said
yes to 20 of 22 distractor names and to all 8 distractor ids it was asked about, so a
check of a name or an id would refuse almost nothing (``bench/quality_questions.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .handover import ADDRESS, PHONE, Handover, _digits, name_words, phones

__all__ = [
    "Check", "PhoneChoice", "around", "field_checks", "phone_choice", "picked", "yes_or_no",
]

PHONE_QUESTION = "{said}\nShould the user be phoned on {value}? Answer yes or no."
ADDRESS_CHECK = "{said}\nIs {value} the user's address to use from now on? Answer yes or no."
PHONE_CHOICE = (
    "{said}\nWhich number should we phone the user on: {options}? Answer with the number only."
)
YES_OR_NO = "Answer yes or no."
"""The system prompt of every yes/no question (the checks, the address questions)."""
CHOICE_SYSTEM = "Answer with the number only."
"""The system prompt of :data:`PHONE_CHOICE`."""

_NUMBER = re.compile(r"\+?\(?\d[\d ()./-]*\d")
_AVOID = re.compile(
    r"\b(?:don't|do not|never|not|no longer|wrong|old|cut off|no signal|voicemail|"
    r"nobody answers|ignore|lost)\b",
    re.I,
)
"""A sentence that says not to use the number it gives."""


@dataclass(frozen=True)
class Check:
    """A yes/no question about one entry of the handover: a "no" drops it."""

    label: str
    """The field of the entry."""
    entry: str
    """The entry as written."""
    question: str
    """The request's text (system prompt: answer yes or no)."""


@dataclass(frozen=True)
class PhoneChoice:
    """The numbers the user gave, and the question that picks one."""

    options: tuple[str, ...]
    question: str
    """With one option, a yes/no :data:`PHONE_QUESTION`; else :data:`PHONE_CHOICE`."""


def field_checks(
    newer: Handover, earlier: Handover, said: Sequence[tuple[str, str]]
) -> list[Check]:
    """The checks of the address, then the phone, that ``newer`` (the model's answer)
    gives, else ``earlier``, when a turn of ``said`` mentions it. ``said``: the span's
    ``(role, text)`` turns, in order."""
    checks: list[Check] = []
    for label, question in ((ADDRESS, ADDRESS_CHECK), (PHONE, PHONE_QUESTION)):
        entries = newer.values.get(label) or earlier.values.get(label)
        if not entries:
            continue
        value = entries[0]
        at, found = _mentioned(label, value, said)
        if found:
            shown = _first_number(value) if label == PHONE else value
            quote = _quote(said, at, found)
            checks.append(Check(label, value, question.format(said=quote, value=shown)))
    return checks


def phone_choice(said: Sequence[tuple[str, str]], refused: str) -> PhoneChoice | None:
    """The question that picks the phone among the numbers the user's turns gave (in
    digits or in words), but ``refused`` (the phone a check refused, or ``""``) and, unless
    no other is left, those a sentence gives alone and says not to use ("no signal",
    "don't use it"); ``None`` when they gave no other."""
    gone = {_digits(_first_number(refused))}
    given: dict[int, list[str]] = {}  # the numbers of each user turn that gives some
    for at, (role, text) in enumerate(said):
        if role == "user" and (numbers := phones(text)):
            given[at] = numbers
            gone |= _avoided(text)
    every = [number for numbers in given.values() for number in numbers]
    options = tuple(dict.fromkeys(n for n in every if _digits(n) not in gone)) or tuple(
        dict.fromkeys(n for n in every if _digits(n) != _digits(_first_number(refused)))
    )
    if not options:
        return None
    if len(options) == 1:
        at = next(at for at in reversed(given) if options[0] in given[at])
        quote = _quote(said, at, options[0])
        return PhoneChoice(options, PHONE_QUESTION.format(said=quote, value=options[0]))
    quote = "\n".join(_said(*said[at]) for at in given)
    return PhoneChoice(
        options, PHONE_CHOICE.format(said=quote, options=" or ".join(options))
    )


def _avoided(turn: str) -> set[str]:
    """The digits of each number a sentence of ``turn`` gives alone and says not to use
    ("The mobile, 07701 402 966, is mine, but there's no signal out here")."""
    return {
        _digits(numbers[0])
        for sentence in re.split(r"(?<=[.!?])\s+", turn)
        if len(numbers := phones(sentence)) == 1 and _AVOID.search(sentence)
    }


def yes_or_no(reply: str) -> bool | None:
    """``True`` for a reply that says yes, ``False`` for no, ``None`` for anything else."""
    word = reply.lower().lstrip("*\"' ")
    return True if word.startswith("yes") else False if word.startswith("no") else None


def picked(choice: PhoneChoice, answer: str) -> str | None:
    """The option ``answer`` names (by its digits), if exactly one."""
    digits = _digits(answer)
    named = [option for option in choice.options if _digits(option) in digits]
    return named[0] if digits and len(named) == 1 else None


def around(turn: str, part: str, limit: int = 400) -> str:
    """``turn``, or the ``limit`` characters of it around ``part`` when it is longer."""
    if len(turn) <= limit:
        return turn
    at = max(0, turn.find(part) - limit // 2)
    return turn[at : at + limit]


def _mentioned(
    label: str, value: str, said: Sequence[tuple[str, str]]
) -> tuple[int, str | None]:
    """The turn of ``said`` that mentions ``value`` (the latest user turn, else the latest
    turn) and the words of it that do: a phone by its digits, an address by the first
    capitalised word of its first part that has one ("Holly" in "Flat 6, Holly Bank,
    Walshaw Road": the turn that corrects it may give no number)."""
    if label == PHONE:
        digits = _digits(_first_number(value))
        if len(digits) < 6:
            return 0, None

        def find(turn: str) -> str | None:
            spoken = [_digits(number) for number in phones(turn)]  # in words too
            return digits[:4] if digits in _digits(turn) or digits in spoken else None
    else:
        parts = (name_words(part) for part in value.split(","))
        names = next((p for p in parts if p), [])
        if not names:
            return 0, None
        word = re.compile(rf"\b{re.escape(names[0])}", re.I)

        def find(turn: str) -> str | None:
            return m.group(0) if (m := word.search(turn)) else None
    latest = range(len(said) - 1, -1, -1)
    users = [a for a in latest if said[a][0] == "user"]
    for at in users + [a for a in latest if said[a][0] != "user"]:
        found = find(said[at][1])
        if found:
            return at, found
    return 0, None


def _quote(said: Sequence[tuple[str, str]], at: int, part: str, limit: int = 400) -> str:
    """Turn ``at`` of ``said`` (``limit`` characters of it around ``part``), with the end of
    the turn before it and the start of the turn after it."""
    lines = []
    if at > 0:
        lines.append(_said(said[at - 1][0], said[at - 1][1][-limit // 2 :]))
    lines.append(_said(said[at][0], around(said[at][1], part, limit)))
    if at + 1 < len(said):
        lines.append(_said(said[at + 1][0], said[at + 1][1][: limit // 2]))
    return "\n".join(lines)


def _said(role: str, text: str) -> str:
    who = "The user" if role == "user" else "The assistant"
    return f'{who} said: "{" ".join(text.split())}"'


def _first_number(text: str) -> str:
    """The first number of ``text`` with six digits or more (a phone field may name the
    number not to use after it), else ``text``."""
    return next((n.strip() for n in _NUMBER.findall(text) if len(_digits(n)) >= 6), text)
