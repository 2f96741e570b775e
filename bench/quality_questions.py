"""How the summarizer's short questions answer on the training calls, one question at a time.

The field checks (``ctxmgr/field_checks.py``) ask the model yes or no about the phone
and the address a handover gives, and which number to phone when it refused one. Each
is asked here, exactly as the summarizer words and quotes it, about what the training
calls' facts say it should answer: yes to the caller's phone and no to the number they
said not to use (in the first span, where both are said); yes to the first address in
the first span; in the third span, where the address is corrected, no to the old one
and yes to the new one; and the choice between the numbers the caller gave. Two
questions that are *not* asked are measured the same way, to show why: whether a name
is the user's, whether an id is the one the matter goes by (the model says yes to
nearly every distractor).

    python bench/quality_questions.py --gguf .quality/model.gguf

Prints a table: per question, how many answers were right, wrong or neither, and how
many were not asked (no turn of the span mentions the value). A wrong "no" drops a
fact that was right; a wrong "yes" leaves a wrong one in.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from livekit.agents import llm
from livekit.plugins import openai

sys.path.insert(0, str(Path(__file__).parent))
from quality import MAX_OUTPUT_TOKENS, PATIENT, local_server  # noqa: E402
from quality_calls import CALLS, Call, Turn  # noqa: E402

from ctxmgr.field_checks import (  # noqa: E402
    CHOICE_SYSTEM, YES_OR_NO, field_checks as checks, phone_choice, picked, yes_or_no,
)
from ctxmgr.handover import ADDRESS, PHONE, Handover  # noqa: E402

NOT_ASKED = {
    # worded like the checks, quoted the same way; measured, not shipped
    "name": "{said}\nIs {value} the name of the user, not of someone else? Answer yes or no.",
    "id": (
        "{said}\nIs {value} the number the user's matter goes by now, not an old, cancelled "
        "or someone else's one? Answer yes or no."
    ),
}

def _said(span: tuple[Turn, ...]) -> list[tuple[str, str]]:
    return [(turn[0], turn[1]) for turn in span if turn[0] in ("user", "assistant")]


def cases(
    call: Call,
) -> Iterator[tuple[str, str, Handover, Handover, list[tuple[str, str]], bool]]:
    """(call, question, the model's answer, the earlier handover, the turns, the right
    answer) for each question a call's facts settle."""
    first, third = _said(call.spans[0]), _said(call.spans[2])
    for fact in call.facts:
        value = fact.patterns[0]
        if fact.kind == "phone":
            yield call.name, "phone: the caller's", Handover({PHONE: [value]}), Handover(), first, True
            for wrong in fact.wrong:
                yield call.name, "phone: not to use", Handover({PHONE: [wrong]}), Handover(), first, False
        elif fact.kind == "address" and fact.folds[0] == 1:
            yield call.name, "address: as given", Handover({ADDRESS: [value]}), Handover(), first, True
            yield call.name, "address: old, once corrected", Handover(), Handover({ADDRESS: [value]}), third, False
        elif fact.kind == "address":
            yield call.name, "address: the correction", Handover({ADDRESS: [value]}), Handover(), third, True
        elif fact.kind in NOT_ASKED:
            # through the phone's quoting (the latest user turn with it), a phone's key: digits
            label = PHONE if any(c.isdigit() for c in value) else ADDRESS
            for wanted, shown in ((True, value), *((False, w) for w in fact.wrong)):
                kind = f"{fact.kind} (not asked): {'the fact' if wanted else 'distractor'}"
                yield call.name, kind, Handover({label: [shown]}), Handover(), first, wanted


async def measure(model: llm.LLM[Any], calls: tuple[Call, ...]) -> dict[str, Counter[str]]:
    async def reply(system: str, question: str) -> str:
        chat_ctx = llm.ChatContext()
        chat_ctx.add_message(role="system", content=system)
        chat_ctx.add_message(role="user", content=question)
        chunks = []
        async with model.chat(chat_ctx=chat_ctx) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    chunks.append(chunk.delta.content)
        return "".join(chunks).strip()

    tally: dict[str, Counter[str]] = {}
    for call in calls:
        for name, kind, newer, earlier, said, right in cases(call):
            found = checks(newer, earlier, said)
            counts = tally.setdefault(kind, Counter())
            if not found:
                counts["not asked"] += 1
                continue
            question = found[0].question
            if "(not asked)" in kind:
                # the same quote, the not-asked wording
                quote, _, _ = question.rpartition("\n")
                value = (newer.values.get(PHONE) or newer.values.get(ADDRESS) or [""])[0]
                question = NOT_ASKED[kind.split(" ")[0]].format(said=quote, value=value)
            answer = await reply(YES_OR_NO, question)
            said_yes = yes_or_no(answer)  # read as the summarizer reads it
            counts["neither" if said_yes is None else "right" if said_yes == right else "wrong"] += 1
        fact = next(f for f in call.facts if f.kind == "phone")
        choice = phone_choice(_said(call.spans[0]), refused="none")
        counts = tally.setdefault("phone: which number (choice)", Counter())
        if choice is None or len(choice.options) < 2:
            counts["not asked"] += 1
            continue
        number = picked(choice, await reply(CHOICE_SYSTEM, choice.question))
        right = number is not None and fact.patterns[0].replace(" ", "") in number.replace(" ", "")
        counts["right" if right else "wrong" if number else "neither"] += 1
    return tally


def table(tally: dict[str, Counter[str]]) -> str:
    lines = [
        "| question | right | wrong | neither | not asked |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind, counts in tally.items():
        lines.append(
            f"| {kind} | {counts['right']} | {counts['wrong']} | {counts['neither']} "
            f"| {counts['not asked']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", choices=sorted(CALLS), default="training")
    args = parser.parse_args()

    async def run(url: str) -> dict[str, Counter[str]]:
        model = openai.LLM(
            model="local", temperature=0.0, max_completion_tokens=MAX_OUTPUT_TOKENS,
            base_url=url, api_key="none",
        )
        model.chat = functools.partial(model.chat, conn_options=PATIENT)  # type: ignore[method-assign]
        try:
            return await measure(model, CALLS[args.calls])
        finally:
            await model.aclose()

    with local_server(args.gguf, args.threads) as url:
        tally = asyncio.run(run(url))
    print(f"The questions of ctxmgr/field_checks.py on the {len(CALLS[args.calls])} {args.calls} calls:\n")
    print(table(tally))
    return 0


if __name__ == "__main__":
    sys.exit(main())
