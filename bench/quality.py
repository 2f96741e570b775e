"""What a summary keeps, measured with a real model (``make quality``).

Runs ctxmgr's ``Summarizer`` through livekit's own ``openai.LLM(base_url=...)``, as a
user with a self-hosted model would, over the calls of ``quality_calls.py``: five
rolling folds per call, the facts scored after the first, third and fifth. Side by
side on the same model and calls: ctxmgr's default, ctxmgr's previous default (free
prose), livekit's own ``ChatContext._summarize``, the OpenAI cookbook's realtime
summarizer and pipecat's (``quality_prompts.py`` says where each came from), and no
summary at all (trim), with the archive's recall@3 on paraphrased queries beside.
Writes ``bench/quality.md`` with the commit.

    python bench/quality.py --gguf .quality/model.gguf        # local llama.cpp server
    python bench/quality.py --base-url http://127.0.0.1:8080/v1 --model my-model
    python bench/quality.py --openai gpt-4o-mini              # OPENAI_API_KEY set
    python bench/quality.py --gguf ... --calls training --only ctxmgr   # tuning

Greedy decoding, repeat penalty 1.0 (with 1.1 the local model echoed the transcript).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livekit.agents import APIConnectOptions, llm
from livekit.plugins import openai
from quality_calls import (
    CALLS, FOLDS, FOLDS_SCORED, KINDS, Call, Turn, facts_after, fold_text, judge,
)
from quality_prompts import BEFORE_PROMPT, Step, cookbook_step, livekit_step, pipecat_step

from ctxmgr import SummarizerSettings, TokenCounter
from ctxmgr.archive import MemoryArchive, _scan, query_terms
from ctxmgr.recall import recall_tool
from ctxmgr.summarizer import Summarizer

MAX_OUTPUT_TOKENS = 600
"""The same output cap for every summarizer (a small model may otherwise echo on and on)."""
PATIENT = APIConnectOptions(timeout=600)

TRIM_KEEP = 4
"""Messages a trim keeps (pipecat's ``min_messages_after_summary``)."""


@dataclass
class Row:
    condition: str
    call: str
    folds: int
    verdicts: dict[str, str]
    """Fact kind -> ``kept``, ``wrong`` or ``missing``."""
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


def chat_items(span: tuple[Turn, ...]) -> list[llm.ChatItem]:
    """A span as livekit chat items (a tool turn is a call and its output)."""
    items: list[llm.ChatItem] = []
    for n, turn in enumerate(span):
        if turn[0] == "tool":
            _, name, arguments, output = turn
            call_id = f"call_{n}"
            items.append(llm.FunctionCall(call_id=call_id, name=name, arguments=arguments))
            items.append(
                llm.FunctionCallOutput(call_id=call_id, name=name, output=output, is_error=False)
            )
        else:
            items.append(llm.ChatMessage(role=turn[0], content=[turn[1]]))  # type: ignore[arg-type]
    return items


def ctxmgr_step(model: llm.LLM[Any], prompt: str | None) -> Step:
    summarizer = Summarizer(
        model, SummarizerSettings(prompt=prompt, max_summary_tokens=400, timeout_s=600)
    )

    async def step(previous: Any, span: tuple[Turn, ...]) -> tuple[Any, str]:
        result = await summarizer.summarize(chat_items(span), previous_summaries=previous or [])
        return [llm.ChatMessage(role="system", content=[result.text])], result.text

    return step


def steps(model: llm.LLM[Any]) -> dict[str, Step]:
    return {
        "ctxmgr": ctxmgr_step(model, None),
        "ctxmgr before": ctxmgr_step(model, BEFORE_PROMPT),
        "livekit": livekit_step(model, chat_items),
        "cookbook": cookbook_step(model),
        "pipecat": pipecat_step(model, chat_items),
    }


async def trim_step(previous: Any, span: tuple[Turn, ...]) -> tuple[Any, str]:
    kept = [t for t in span if t[0] != "tool"][-TRIM_KEEP:]
    return None, "\n".join(t[1] for t in kept)


async def run(
    calls: tuple[Call, ...], conditions: dict[str, Step], folds: int = FOLDS
) -> list[Row]:
    rows: list[Row] = []
    for name, step in conditions.items():
        for call in calls:
            state: Any = None
            for fold in range(1, folds + 1):
                started = time.monotonic()
                state, text = await step(state, call.spans[fold - 1])
                seconds = time.monotonic() - started
                verdicts = {f.kind: judge(text, f) for f in facts_after(call, fold)}
                kept = sum(v == "kept" for v in verdicts.values())
                wrong = [k for k, v in verdicts.items() if v == "wrong"]
                print(f"{name:13} {call.name:10} fold {fold}: kept {kept}/{len(verdicts)},"
                      f" wrong {wrong} ({seconds:.1f} s)", file=sys.stderr, flush=True)
                if fold in FOLDS_SCORED:
                    rows.append(Row(name, call.name, fold, verdicts, seconds))
                    print(text, file=sys.stderr, flush=True)
    return rows


@dataclass
class Recall:
    search: str
    folds: int
    found: dict[str, list[bool]]
    """Fact kind -> per call, whether the fact's turn was among the 3 best matches."""


async def recall(calls: tuple[Call, ...]) -> list[Recall]:
    """recall@3 with each fact's paraphrased query, as the archive fills fold by fold
    (every earlier turn is a possible distractor): what the recall tool returns (its 3
    best matches, each with the turn after it), and the 3 best matches alone, by FTS5
    and by the plain scan (the fallback)."""
    found: dict[tuple[str, int], dict[str, list[bool]]] = {}
    counter = TokenCounter()
    for call in calls:
        archive = MemoryArchive()
        tool = recall_tool(archive, lambda: call.name, counter=counter)
        try:
            for fold in range(1, FOLDS + 1):
                archive.write(
                    call.name, chat_items(call.spans[fold - 1]), compaction_id=f"c{fold}",
                    summary_id=None,
                )
                if fold not in FOLDS_SCORED:
                    continue
                for fact in facts_after(call, fold):
                    patterns = [fold_text(p) for p in fact.patterns]
                    returned = {
                        "recall tool": [await tool(fact.query)],  # type: ignore[operator]
                        "FTS5, hits only": [
                            h.text for h in archive.search(call.name, fact.query)
                        ],
                        "plain scan, hits only": [
                            h.text
                            for h in _scan(archive.items(call.name), query_terms(fact.query), 3)
                        ],
                    }
                    for search, texts in returned.items():
                        hit = any(all(p in fold_text(t) for p in patterns) for t in texts)
                        found.setdefault((search, fold), {}).setdefault(fact.kind, []).append(hit)
        finally:
            archive.close()
    return [Recall(s, f, kinds) for (s, f), kinds in found.items()]


def _commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip() or "unknown"


def report(
    rows: list[Row], recalls: list[Recall], *, calls: str, model: str, seconds: float
) -> str:
    lines = [
        "# What a summary keeps",
        "",
        f"Printed by `make quality` (`bench/quality.py`) at commit {_commit()}; model: {model};"
        f" the {calls} calls ({', '.join(c.name for c in CALLS[calls])}), {FOLDS} rolling"
        f" folds each; {seconds:.0f} s.",
        "",
        "Facts kept and wrong (a wrong fact is never counted as kept), summed over the calls:",
        "",
        "| condition | after fold | kept | wrong | " + " | ".join(KINDS) + " | s per fold |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---" for _ in KINDS) + " | ---: |",
    ]
    for condition in dict.fromkeys(r.condition for r in rows):
        for folds in FOLDS_SCORED:
            sel = [r for r in rows if r.condition == condition and r.folds == folds]
            if not sel:
                continue  # --folds stopped before this one
            total = sum(len(r.verdicts) for r in sel)
            kept = sum(v == "kept" for r in sel for v in r.verdicts.values())
            wrong = sum(v == "wrong" for r in sel for v in r.verdicts.values())
            cells = []
            for kind in KINDS:
                said = [r.verdicts[kind] for r in sel if kind in r.verdicts]
                cell = f"{said.count('kept')}/{len(said)}" if said else "-"
                cells.append(cell + (f" ({said.count('wrong')} wrong)" if "wrong" in said else ""))
            mean = sum(r.seconds for r in sel) / len(sel)
            lines.append(
                f"| {condition} | {folds} | {kept}/{total} | {wrong} | " + " | ".join(cells)
                + f" | {mean:.1f} |"
            )
    lines += ["", *recall_table(recalls)]
    lines += [
        "",
        "How facts are planted and judged: `bench/quality_calls.py`. Where each prompt comes"
        " from: `bench/quality_prompts.py`.",
        "",
    ]
    return "\n".join(lines)


def recall_table(recalls: list[Recall]) -> list[str]:
    lines = [
        "recall@3 of the archive with each fact's query in other words than the call's"
        " (`Fact.query`), every folded turn a candidate: what the recall tool returns (its"
        " 3 best matches, each with the turn after it), and the 3 best matches alone, by"
        " FTS5 (the archive's search) and by the plain scan (its fallback):",
        "",
        "| search | after fold | recalled | " + " | ".join(KINDS) + " |",
        "| --- | ---: | ---: | " + " | ".join("---" for _ in KINDS) + " |",
    ]
    for r in sorted(recalls, key=lambda r: (r.folds, r.search)):
        hits = sum(sum(v) for v in r.found.values())
        total = sum(len(v) for v in r.found.values())
        cells = [f"{sum(r.found[k])}/{len(r.found[k])}" if k in r.found else "-" for k in KINDS]
        lines.append(f"| {r.search} | {r.folds} | {hits}/{total} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="What a summary keeps, with a real model.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--gguf", type=Path, help="a GGUF file, served locally by llama.cpp")
    where.add_argument("--base-url", help="any OpenAI-compatible URL (e.g. http://host/v1)")
    where.add_argument("--openai", metavar="MODEL", help="OpenAI's API (OPENAI_API_KEY)")
    parser.add_argument("--model", default="local", help="model name sent with --base-url")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (--gguf)")
    parser.add_argument("--calls", choices=sorted(CALLS), default="held-out")
    parser.add_argument("--only", action="append", help="run only this condition (repeatable)")
    parser.add_argument("--folds", type=int, default=FOLDS, help="fold only this many spans (tuning)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("quality.md"))
    parser.add_argument(
        "--recall-only", action="store_true", help="no model: print only the recall table"
    )
    args = parser.parse_args()
    calls = CALLS[args.calls]
    if args.recall_only:
        print("\n".join(recall_table(asyncio.run(recall(calls)))))
        return 0
    if args.gguf is None and args.base_url is None and args.openai is None:
        parser.error("one of --gguf, --base-url or --openai is needed (or --recall-only)")

    async def with_model(base_url: str | None, model: str, api_key: str | None) -> list[Row]:
        where = {"base_url": base_url, "api_key": api_key} if base_url is not None else {}
        llm_ = openai.LLM(
            model=model, temperature=0.0, max_completion_tokens=MAX_OUTPUT_TOKENS, **where  # type: ignore[arg-type]
        )
        # every summarizer gets minutes per attempt (livekit's default is 10 s): a local
        # model reading a long span takes longer than that to its first token
        llm_.chat = functools.partial(llm_.chat, conn_options=PATIENT)  # type: ignore[method-assign]
        try:
            conditions = steps(llm_) | {"trim": trim_step}
            if args.only:
                conditions = {k: v for k, v in conditions.items() if k in args.only}
            return await run(calls, conditions, args.folds)
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
    text = report(
        rows, asyncio.run(recall(calls)), calls=args.calls, model=described,
        seconds=time.monotonic() - started,
    )
    if args.only or args.calls != "held-out" or args.folds != FOLDS:
        print(text)  # a tuning run: bench/quality.md is the held-out report only
        return 0
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
