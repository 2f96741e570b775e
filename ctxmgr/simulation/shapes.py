"""Calls of other shapes, built from the support call's dataclasses: for held-out costs.

- :func:`tool_heavy`: every lookup returns a long record (scan histories, line items).
- :func:`monologues`: the caller talks at length before each question.
- :func:`rapid`: hundreds of short back-and-forth turns ("yes", "go on").

Each keeps the eleven opening turns of :func:`~.support_call.support_call` (the
call's details) and its tools, so the same agent and stand-in replay them; what
varies is the seed and the shape of the rest.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace

from .support_call import PLANTED_TURNS, SupportCall, ToolStep, Turn, Utterance, speech_ms, support_call

__all__ = ["SHAPES", "make_call", "monologues", "rapid", "tool_heavy"]

_DEPOTS = ("Avonmouth", "Swindon", "Daventry", "Warrington", "Leeds", "Bellshill")
_ASIDES = (
    "My neighbour says a van came by on Thursday but nobody knocked.",
    "I work from home most days, so I really need the desk set up before the end of the month.",
    "The last time I ordered from you it all went fine, which is why this is so frustrating.",
    "I did check the spam folder for the delivery emails and there was nothing there either.",
    "My partner thinks we should just cancel the whole thing, but I would rather sort it out.",
    "The building has a concierge on weekdays until six, so a weekday delivery is easiest.",
    "I already moved the old desk out, so at the moment I am working off the kitchen table.",
    "The tracking page kept saying the same thing for three days, which did not help.",
)
_SHORT = (
    ("Yes.", "Great."),
    ("Okay.", "Good."),
    ("Go on.", "Right, so the next step is simple."),
    ("Mm-hm.", "And that's done."),
    ("Sorry?", "I said it is all booked."),
    ("Right.", "Anything else?"),
    ("One moment.", "Of course."),
    ("Got it.", "Perfect."),
)


def _rebuild(call: SupportCall, turns: list[Turn]) -> SupportCall:
    """``turns`` as a call, with every utterance's duration recorded."""
    durations = {}
    for t in turns:
        durations[("user", t.user.text)] = t.user.duration_ms
        durations[("assistant", t.assistant.text)] = t.assistant.duration_ms
    return SupportCall(call.instructions, tuple(turns), durations)


def _said(role: str, text: str) -> Utterance:
    return Utterance(text, speech_ms(role, text))  # type: ignore[arg-type]


def _history(step: ToolStep, rng: random.Random) -> ToolStep:
    """The same tool step, its output grown to a long record."""
    out = json.loads(step.output) if step.output.startswith("{") else {"result": step.output}
    events = [
        {
            "at": f"2024-03-{rng.randint(1, 28):02d}T{rng.randint(6, 21):02d}:{rng.randint(0, 59):02d}",
            "where": rng.choice(_DEPOTS),
            "event": rng.choice(("scanned", "sorted", "loaded", "held", "address check", "handed over")),
            "operator": f"OP{rng.randint(1000, 9999)}",
        }
        for _ in range(rng.randint(12, 45))
    ]
    out["history"] = events
    return replace(step, output=json.dumps(out))


def tool_heavy(turns: int = 120, *, seed: int = 1) -> SupportCall:
    """The support call with every tool output a long record (~300-1,300 tokens)."""
    base = support_call(turns, seed=seed)
    rng = random.Random(seed)
    out = [
        replace(t, tool=_history(t.tool, rng)) if t.tool is not None and t.index >= PLANTED_TURNS else t
        for t in base.turns
    ]
    return _rebuild(base, out)


def monologues(turns: int = 80, *, seed: int = 1) -> SupportCall:
    """The support call with the caller speaking 4-9 extra sentences before each question."""
    base = support_call(turns, seed=seed)
    rng = random.Random(seed)
    out: list[Turn] = []
    for t in base.turns:
        if t.index >= PLANTED_TURNS:
            story = " ".join(rng.sample(_ASIDES, k=min(len(_ASIDES), rng.randint(4, 9))))
            t = replace(t, user=_said("user", f"{story} {t.user.text}"))
        out.append(t)
    return _rebuild(base, out)


def rapid(turns: int = 500, *, seed: int = 1) -> SupportCall:
    """The support call with four turns in five short acknowledgements, no tool."""
    base = support_call(turns, seed=seed)
    rng = random.Random(seed)
    out: list[Turn] = []
    for t in base.turns:
        if t.index >= PLANTED_TURNS and rng.random() < 0.8:
            user, assistant = rng.choice(_SHORT)
            t = Turn(t.index, _said("user", user), _said("assistant", assistant))
        out.append(t)
    return _rebuild(base, out)


def support(turns: int = 120, *, seed: int = 20240312) -> SupportCall:
    """The demo's generator (:func:`~.support_call.support_call`)."""
    return support_call(turns, seed=seed)


SHAPES: dict[str, Callable[..., SupportCall]] = {
    "support": support,
    "tool-heavy": tool_heavy,
    "monologues": monologues,
    "rapid": rapid,
}
"""Generator name -> ``generator(turns, seed=...)``."""


def make_call(shape: str, turns: int, seed: int) -> SupportCall:
    """The call ``shape`` makes for ``turns`` and ``seed``."""
    try:
        generator = SHAPES[shape]
    except KeyError:
        raise ValueError(f"unknown call shape {shape!r}; known: {', '.join(SHAPES)}") from None
    return generator(turns, seed=seed)
