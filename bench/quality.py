"""What a summary keeps, measured with a real model (``make quality``).

Runs ctxmgr's ``Summarizer`` through livekit's own ``openai.LLM(base_url=...)``, as a
user with a self-hosted model would, over the calls of ``quality_calls.py``: three
rolling folds per call, the facts scored after the first and the third. Side by
side: ctxmgr's built-in prompt, a handover form (a candidate, not the default),
and livekit's own ``ChatContext._summarize``. Writes ``bench/quality.md`` with
the commit.

    python bench/quality.py --gguf .quality/model.gguf        # local llama.cpp server
    python bench/quality.py --base-url http://127.0.0.1:8080/v1 --model my-model
    python bench/quality.py --openai gpt-4o-mini              # OPENAI_API_KEY set

Greedy decoding, repeat penalty 1.0 (with 1.1 the local model echoed the transcript).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livekit.agents import llm
from livekit.plugins import openai
from quality_calls import CALLS, Call, facts_after, score

from ctxmgr import SummarizerSettings
from ctxmgr.summarizer import Summarizer

HANDOVER_PROMPT = """\
You hand a support conversation over to a colleague who will continue it. The \
conversation is formatted as XML: <summary_so_far> is the handover written before \
(keep its facts unless the conversation corrects them; a correction replaces the old \
value), <user> is the caller, <assistant> is the agent.

Write the handover in this form, one line per field, copying names, numbers, ids, \
addresses, phone numbers, amounts and dates exactly:
Caller name:
Account, order or patient number:
Address (the latest one):
Callback phone (the one the caller asked us to use):
What the agent promised (with dates and amounts):
Caller's preferences:
Open questions:
After the fields, two sentences on what happened. At most {max_summary_tokens} tokens."""

PROMPTS = {"ctxmgr": None, "handover": HANDOVER_PROMPT}
"""Prompt name -> ``summarizer.prompt`` (``None``: ctxmgr's built-in prompt)."""

FOLDS_SCORED = (1, 3)


@dataclass
class Row:
    prompt: str
    call: str
    folds: int
    kept: list[str]
    wrong: list[str]
    seconds: float


@contextmanager
def local_server(gguf: Path, threads: int) -> Iterator[str]:
    """llama.cpp's server (xllamacpp) on 127.0.0.1, a free port; yields its base URL."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = 8192
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.sampling.temp = 0.0
    params.sampling.top_k = 1
    params.sampling.penalty_repeat = 1.0
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    server = xlc.Server(params)
    try:
        yield server.listening_address + "/v1"
    finally:
        del server


def _items(call: Call, span: int) -> list[llm.ChatItem]:
    return [llm.ChatMessage(role=role, content=[text]) for role, text in call.spans[span]]  # type: ignore[arg-type]


def _scored(rows: list[Row], name: str, call: Call, fold: int, text: str, seconds: float) -> None:
    facts = facts_after(call, fold)
    kept, wrong = score(text, facts)
    print(f"{name:9} {call.name:10} fold {fold}: kept {len(kept)}/{len(facts)},"
          f" wrong {len(wrong)} ({seconds:.1f} s)", file=sys.stderr)
    if fold in FOLDS_SCORED:
        rows.append(Row(name, call.name, fold, kept, wrong, seconds))
        print(text, file=sys.stderr)


async def run_livekit(model: llm.LLM[Any]) -> list[Row]:
    """livekit's own ``ChatContext._summarize`` (as ``TaskGroup(summarize_chat_ctx=True)``
    uses it): each fold summarizes the new items only and keeps the earlier summaries
    beside the new one; what the model then holds is all of them."""
    rows: list[Row] = []
    for call in CALLS:
        chat_ctx = llm.ChatContext()
        for fold in range(1, len(call.spans) + 1):
            for item in _items(call, fold - 1):
                chat_ctx.items.append(item)
            started = time.monotonic()
            chat_ctx = await chat_ctx._summarize(model, keep_last_turns=0)
            held = "\n".join(
                m.text_content or ""
                for m in chat_ctx.items
                if isinstance(m, llm.ChatMessage) and m.extra.get("is_summary")
            )
            _scored(rows, "livekit", call, fold, held, time.monotonic() - started)
    return rows


async def run(model: llm.LLM[Any], prompts: dict[str, str | None]) -> list[Row]:
    rows: list[Row] = []
    for name, prompt in prompts.items():
        summarizer = Summarizer(
            model, SummarizerSettings(prompt=prompt, max_summary_tokens=400, timeout_s=600)
        )
        for call in CALLS:
            previous: list[llm.ChatMessage] = []
            for fold in range(1, len(call.spans) + 1):
                started = time.monotonic()
                result = await summarizer.summarize(
                    _items(call, fold - 1), previous_summaries=previous
                )
                previous = [llm.ChatMessage(role="system", content=[result.text])]
                _scored(rows, name, call, fold, result.text, time.monotonic() - started)
    return rows + await run_livekit(model)


def report(rows: list[Row], *, model: str, seconds: float) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip() or "unknown"
    total = sum(len(facts_after(c, FOLDS_SCORED[0])) for c in CALLS)
    lines = [
        "# What a summary keeps",
        "",
        f"Printed by `make quality` (`bench/quality.py`) at commit {commit}; model: {model};"
        f" {len(CALLS)} calls, {total} planted facts in all, {seconds:.0f} s.",
        "",
        "| prompt | folds | facts kept | facts wrong | kept, by kind (of 3 calls) | mean s per summary |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    kinds = list(dict.fromkeys(f.kind for f in CALLS[0].facts))
    for prompt in dict.fromkeys(r.prompt for r in rows):
        for folds in FOLDS_SCORED:
            sel = [r for r in rows if r.prompt == prompt and r.folds == folds]
            kept = sum(len(r.kept) for r in sel)
            wrong = sum(len(r.wrong) for r in sel)
            by_kind = ", ".join(f"{k} {sum(k in r.kept for r in sel)}" for k in kinds)
            mean = sum(r.seconds for r in sel) / len(sel)
            lines.append(
                f"| {prompt} | {folds} | {kept}/{total} | {wrong} | {by_kind} | {mean:.1f} |"
            )
    lines += [
        "",
        "Facts are planted in the first of three spans and must survive three rolling"
        " folds; the address is corrected in the second span (after the first fold the old"
        " address is the fact; after the third, the old one surviving is *wrong*), the phone comes with a number the caller said not to use (given"
        " instead of the right one: *wrong*). See `bench/quality_calls.py`.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="What a summary keeps, with a real model.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--gguf", type=Path, help="a GGUF file, served locally by llama.cpp")
    where.add_argument("--base-url", help="any OpenAI-compatible URL (e.g. http://host/v1)")
    where.add_argument("--openai", metavar="MODEL", help="OpenAI's API (OPENAI_API_KEY)")
    parser.add_argument("--model", default="local", help="model name sent with --base-url")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (--gguf)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("quality.md"))
    args = parser.parse_args()

    async def with_model(base_url: str | None, model: str, api_key: str | None) -> list[Row]:
        where = {"base_url": base_url, "api_key": api_key} if base_url is not None else {}
        llm_ = openai.LLM(model=model, temperature=0.0, **where)  # type: ignore[arg-type]
        try:
            return await run(llm_, PROMPTS)
        finally:
            await llm_.aclose()

    started = time.monotonic()
    if args.gguf is not None:
        with local_server(args.gguf, args.threads) as url:
            rows = asyncio.run(with_model(url, "local", "none"))
        described = f"{args.gguf.name} on llama.cpp (xllamacpp), greedy, {args.threads} threads"
    elif args.base_url is not None:
        rows = asyncio.run(with_model(args.base_url, args.model, "none"))
        described = f"{args.model} at {args.base_url}"
    else:
        rows = asyncio.run(with_model(None, args.openai, None))
        described = f"OpenAI {args.openai}"
    text = report(rows, model=described, seconds=time.monotonic() - started)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
