"""Offline token-budget demo: a scripted 60-turn support call under every preset.

Run with ``make demo``. Per turn it prints the context's tokens under each preset
(``*`` marks a turn where the preset compacted), then the plans each preset made.
Summaries here come from a deterministic stand-in (it keeps the sentences that
carry names and numbers), not from a real LLM.
"""

from __future__ import annotations

import argparse
import re
import sys

from livekit.agents import llm

from ctxmgr import (
    CompactionPlan,
    Settings,
    TokenCounter,
    Trigger,
    available_presets,
    policy_from_settings,
)

FACTS = {
    "My name is Ana Lopez.": "Ana Lopez",
    "My order number is 4417-B.": "4417-B",
    "Ship it to 12 Baker Street, Leeds.": "12 Baker Street",
    "I was promised a refund of 35 euros by Friday.": "35 euros",
}
"""Planted facts (said once, early) and the words that show a fact is still known."""


def scripted_call(turns: int) -> list[list[llm.ChatItem]]:
    """One list of new items per turn: the user, maybe a tool call, the agent's reply."""
    script: list[list[llm.ChatItem]] = []
    for t in range(turns):
        said = list(FACTS)[t] if t < len(FACTS) else f"Question {t}: can you check the delivery window again?"
        items: list[llm.ChatItem] = [
            llm.ChatMessage(role="user", content=[f"{said} I have been waiting since last week."])
        ]
        if t % 6 == 3:
            call = llm.FunctionCall(
                call_id=f"call_{t}", name="lookup_order", arguments='{"order": "current"}'
            )
            out = llm.FunctionCallOutput(
                call_id=f"call_{t}",
                name="lookup_order",
                output='{"status": "in transit", "carrier": "DHL", "eta_days": 2}',
                is_error=False,
            )
            items += [call, out]
        items.append(
            llm.ChatMessage(
                role="assistant",
                content=[
                    f"Thanks for waiting. I checked your order for you (turn {t}). It is with"
                    " the carrier and should arrive within two days. Anything else I can do?"
                ],
            )
        )
        script.append(items)
    return script


def stand_in_summary(items: list[llm.ChatItem]) -> str:
    """Extractive stand-in for an LLM summary: sentences with digits or capitalised names."""
    sentences: list[str] = []
    for item in items:
        text = item.text_content if isinstance(item, llm.ChatMessage) else None
        for sentence in re.split(r"(?<=[.!?])\s+", text or ""):
            if re.search(r"\d|\b[A-Z][a-z]+ [A-Z][a-z]+", sentence) and sentence not in sentences:
                sentences.append(sentence)
    return "[stand-in summary] " + " ".join(sentences[:12])


def apply(ctx: llm.ChatContext, plan: CompactionPlan) -> None:
    """Apply a plan to a plain ChatContext (no session: the manager does this safely)."""
    folded = [item for item in ctx.items if item.id in plan.remove_ids]
    kept = [item for item in ctx.items if item.id not in plan.remove_ids]
    if plan.action == "summarize":
        summary = llm.ChatMessage(
            role="system", content=[stand_in_summary(folded)], extra={"is_summary": True}
        )
        at = 0 if plan.insert_after_id is None else 1 + next(
            i for i, item in enumerate(kept) if item.id == plan.insert_after_id
        )
        kept.insert(at, summary)
    ctx.items[:] = kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--max-tokens", type=int, default=2000)
    args = parser.parse_args(argv)

    presets = available_presets()
    counter = TokenCounter()
    runs = {}
    for name in presets:
        settings = Settings(policy=name, max_tokens=args.max_tokens)
        ctx = llm.ChatContext()
        ctx.add_message(role="system", content="You are Sam, a support agent for Parcelly.")
        runs[name] = (settings, policy_from_settings(settings), Trigger.from_settings(settings), ctx, [])

    print(f"budget {args.max_tokens} tokens, {args.turns} turns, encoding {counter.encoding_name}")
    print("turn " + "".join(f"{name:>15}" for name in presets))
    for t, new_items in enumerate(scripted_call(args.turns)):
        row = f"{t:>4} "
        for name in presets:
            settings, policy, trigger, ctx, plans = runs[name]
            ctx.items.extend(item.model_copy() for item in new_items)
            tokens = counter.count(ctx)
            mark = " "
            if trigger.check(tokens=tokens, items=len(ctx.items)).fire:
                plan = policy.plan(ctx, counter=counter)
                if plan is not None:
                    apply(ctx, plan)
                    plans.append((t, plan))
                    tokens, mark = counter.count(ctx), "*"
            row += f"{tokens:>14}{mark}"
        print(row)

    print("\nplans (turn: action, items removed, tokens before -> expected after)")
    for name in presets:
        settings, _, _, ctx, plans = runs[name]
        text = " ".join(i.text_content or "" for i in ctx.messages())
        facts = sum(key in text for key in FACTS.values())
        print(f"{name}: {len(plans)} compactions, {len(ctx.items)} items at the end,"
              f" planted facts still in context {facts}/{len(FACTS)}")
        for t, plan in plans:
            print(f"  turn {t:>2}: {plan.action:<9} {len(plan.remove_ids):>3} items"
                  f"  {plan.tokens_before:>5} -> {plan.tokens_after:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
