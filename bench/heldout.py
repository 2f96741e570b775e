"""What each policy bills on calls it was never tuned on.

    python bench/heldout.py --tune    # sweeps every tunable policy on TRAINING; writes tuned.json
    python bench/heldout.py           # the held-out table alone (bench/run.py runs it too)

Every policy with a setting (ctxmgr's fixed-fraction trigger, the cost rule's margin,
the OpenAI cookbook's trigger, server truncation's retention ratio) is swept on the
named TRAINING configurations, and the setting with the lowest median cost / floor
that keeps every configuration within its budget is written to ``bench/tuned.json``.
The ``realtime`` preset's setting is the cost rule's best among those that keep the
last exchange, judged on the audio billings played on the realtime plugin.
The held-out run reads that file and tunes nothing: it reports HELD_OUT, other
shapes, seeds and lengths, under every price table, two budgets each. Baselines are
also shown at their best setting per held-out configuration (an oracle no deployed
policy has), so "cheaper than every baseline" is checked against that too.

ctxmgr's policies run in a real ``AgentSession`` (``ctxmgr.simulation.session``) with
the manager attached; the baselines are simulated over the same script
(``ctxmgr.simulation.baselines``); the floor is the offline optimum that summarizes
(DP). Summaries are cut to 500 tokens for every policy and the floor alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _markdown import Section, Target  # noqa: E402

from ctxmgr.cost import CostModel, Modality, load_prices  # noqa: E402
from ctxmgr.settings import Settings  # noqa: E402
from ctxmgr.simulation.baselines import (  # noqa: E402
    CookbookSummarizer,
    NaiveEveryTurn,
    Replay,
    ServerTruncation,
    floor,
    simulate,
)
from ctxmgr.simulation.realtime_run import play_realtime  # noqa: E402
from ctxmgr.simulation.report import tally  # noqa: E402
from ctxmgr.simulation.session import run_session, stand_in_llms  # noqa: E402
from ctxmgr.simulation.shapes import make_call  # noqa: E402
from ctxmgr.simulation.stand_in import SupportAgent, tools_tokens  # noqa: E402
from ctxmgr.tokens import TokenCounter  # noqa: E402

TUNED = BENCH / "tuned.json"
SUMMARY_TOKENS = 500

BILLINGS: dict[str, tuple[str, Modality]] = {
    "gpt-realtime": ("gpt-realtime", "audio"),
    "gpt-realtime, text only": ("gpt-realtime", "text"),
    "gpt-4o-mini-realtime": ("gpt-4o-mini-realtime", "audio"),
    "gpt-4o-mini (pipeline)": ("gpt-4o-mini", "text"),
}
"""Billing set-up -> (price table, how speech is billed)."""

Call = tuple[str, int, int]
"""(shape, turns, seed)."""

TRAINING_CALLS: tuple[Call, ...] = (("support", 120, 20240312), ("tool-heavy", 120, 101))
HELD_OUT_CALLS: tuple[Call, ...] = (
    ("support", 160, 2),
    ("support", 240, 3),
    ("tool-heavy", 100, 5),
    ("monologues", 80, 7),
    ("rapid", 500, 11),
)
BUDGETS = (12_000, 24_000)

SWEEPS: dict[str, tuple[Any, ...]] = {
    "ctxmgr fixed trigger": tuple((f, tail) for f in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9) for tail in (1, 2)),
    "ctxmgr cost rule": tuple(
        (m, tail) for m in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0) for tail in (0, 1, 2)
    ),
    "cookbook summarizer": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    "server truncation": (0.5, 0.6, 0.7, 0.8, 0.9, None),
}
"""Policy -> the settings swept: (trigger fraction, tail turns), (cost margin, tail turns),
trigger fraction, retention ratio (``None``: ``auto``)."""
CTXMGR = ("ctxmgr fixed trigger", "ctxmgr cost rule")
ON_THE_WIRE = "ctxmgr cost rule, realtime plugin"
"""The cost rule on the real OpenAI realtime plugin against the emulator, billed from
the server's log (``ctxmgr.simulation.realtime_run``): audio billings only."""
BACK_TO_BACK = "ctxmgr cost rule, realtime plugin, back to back"
"""The same, each user turn 20 ms after the reply whether or not a compaction is still
on its way (``play_realtime(overlap=True)``): a caller who never pauses."""
FACT_KEEPING = ("ctxmgr fixed trigger", "ctxmgr cost rule", "cookbook summarizer")


@dataclass(frozen=True)
class Config:
    call: Call
    billing: str
    budget: int

    @property
    def label(self) -> str:
        shape, turns, seed = self.call
        return f"{shape} {turns}t s{seed} | {self.billing} | {self.budget // 1000}k"


def configs(calls: tuple[Call, ...]) -> list[Config]:
    return [Config(c, b, budget) for c in calls for b in BILLINGS for budget in BUDGETS]


def ctxmgr_settings(policy: str, setting: tuple[float, int], config: Config) -> Settings:
    """The realtime preset's deep cut, with the trigger and the tail under test."""
    model, speech = BILLINGS[config.billing]
    value, tail = setting
    common: dict[str, Any] = {
        "policy": "realtime",
        "max_tokens": config.budget,
        "keep_last_turns": tail,
        "summarizer": {"max_summary_tokens": SUMMARY_TOKENS, "role": "system"},
    }
    if policy == "ctxmgr fixed trigger":
        # the preset's own trigger table is merged in: its cost rule is switched off here
        return Settings(**common, trigger={"budget_fraction": value, "price_model": None})
    return Settings(
        **common,
        trigger={
            "budget_fraction": 0.8,
            "price_model": model,
            "speech_billed_as": speech,
            "cost_margin": value,
        },
    )


def run_one(config: Config, policy: str, setting: Any) -> tuple[float, int, int, int]:
    """(cost $, peak tokens, compactions, items lost) of one policy at one setting."""
    shape, turns, seed = config.call
    model, speech = BILLINGS[config.billing]
    prices = load_prices()
    call = make_call(shape, turns, seed)
    counter = TokenCounter()
    tools = tools_tokens(SupportAgent(call, lambda *_: None).tools, counter)
    if policy in (ON_THE_WIRE, BACK_TO_BACK):
        settings = ctxmgr_settings("ctxmgr cost rule", setting, config)
        summarizer = stand_in_llms(call, summary_cap=SUMMARY_TOKENS)[1]
        run = asyncio.run(
            play_realtime(
                call, settings=settings, summarizer_llm=summarizer, overlap=policy == BACK_TO_BACK
            )
        )
        result = run.as_run_result()
    elif policy in CTXMGR:
        settings = ctxmgr_settings(policy, setting, config)
        result = asyncio.run(
            run_session(
                call,
                name=policy,
                preset=None,
                settings=settings,
                budget=config.budget,
                llms=stand_in_llms(call, summary_cap=SUMMARY_TOKENS),
                counter=counter,
                speech=speech,
            )
        )
    else:
        replay = Replay(call, counter, tools, speech=speech, summary_cap=SUMMARY_TOKENS)
        if policy == "floor":
            result = floor(
                replay, prices[model], budget=config.budget, mode="summary",
                summarizer=prices["gpt-4o-mini"], min_tail_turns=setting,
            ).result
        elif policy == "cookbook summarizer":
            result = simulate(
                replay, CookbookSummarizer(policy, trigger_tokens=int(setting * config.budget))
            )
        elif policy == "server truncation":
            result = simulate(
                replay, ServerTruncation(policy, budget=config.budget, retention_ratio=setting)
            )
        elif policy == "naive: _summarize every turn":
            result = simulate(replay, NaiveEveryTurn(policy))
        else:
            raise ValueError(policy)
    row = tally(result, CostModel(prices[model]), prices["gpt-4o-mini"])
    return row.cost_usd, row.peak, row.compactions, row.lost


Job = tuple[Config, str, Any]
Results = dict[Job, tuple[float, int, int, int]]


def run_all(jobs: list[Job], workers: int) -> Results:
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(run_one, *zip(*jobs), chunksize=1))
    return dict(zip(jobs, results))


def _ratio(
    res: Results, config: Config, policy: str, s: Any, tail: int = 1
) -> float:
    """Cost over the floor whose compactions keep at least ``tail`` turns (1: any)."""
    return res[(config, policy, s)][0] / res[(config, "floor", tail)][0]


def _held(res: Results, config: Config, policy: str, s: Any) -> bool:
    cost, peak, _, lost = res[(config, policy, s)]
    return peak <= config.budget and lost == 0


def tune(workers: int) -> dict[str, Any]:
    """Sweep on TRAINING; the best setting per policy (median ratio, every budget held)."""
    training = configs(TRAINING_CALLS)
    jobs: list[Job] = [(c, "floor", 1) for c in training]
    jobs += [(c, p, s) for c in training for p, settings in SWEEPS.items() for s in settings]
    # the realtime preset's candidates (a tail kept) also on the realtime plugin, audio billings
    jobs += [(c, ON_THE_WIRE, s) for c in _on_the_wire(training) for s in _tailed()]
    res = run_all(jobs, workers)
    tuned: dict[str, Any] = {"training": [list(c) for c in TRAINING_CALLS], "sweeps": {}}
    for policy, settings in SWEEPS.items():
        scores = _scores(res, training, policy, settings)
        tuned["sweeps"][policy] = {"best": _pick(scores, settings), "scores": scores}
    tuned["on_the_wire"] = _scores(res, _on_the_wire(training), ON_THE_WIRE, _tailed())
    return tuned


def _scores(
    res: Results, calls: list[Config], policy: str, settings: Sequence[Any]
) -> dict[str, dict[str, Any]]:
    """Per setting (as ``str``): its median and worst ratio to the floor over ``calls``,
    and whether it held every budget."""
    scores = {}
    for s in settings:
        ratios = [_ratio(res, c, policy, s) for c in calls]
        held = all(_held(res, c, policy, s) for c in calls)
        scores[str(s)] = {"median": statistics.median(ratios), "worst": max(ratios), "held": held}
    return scores


def _pick(scores: dict[str, dict[str, Any]], settings: Sequence[Any]) -> Any:
    """The setting with the lowest median among those that held every budget (all of
    them when none did)."""
    ok = [s for s in settings if scores[str(s)]["held"]] or list(settings)
    return min(ok, key=lambda s: scores[str(s)]["median"])


def _tailed() -> list[tuple[float, int]]:
    """The cost rule's settings that keep the last exchange verbatim (a tail of a turn or more)."""
    return [s for s in SWEEPS["ctxmgr cost rule"] if s[1] >= 1]


PRESET = "ctxmgr cost rule, with a tail"
"""Key of the cost rule's setting that keeps the last exchange (``_with_a_tail``)."""

SHIPPED = (0.4, 2)
"""The realtime preset's trigger and tail before the cost rule (40% of the budget, 2 turns)."""

# the tail each policy keeps, as the floor counts it (the turn being answered included)
_SAME_TAIL = {"cookbook summarizer": 2, "naive: _summarize every turn": 3}


@dataclass
class Summary:
    policy: str
    setting: str
    ratios: list[float]
    """Cost / the floor at any tail, per held-out configuration."""
    same_tail: list[float] | None
    """Cost / the floor that keeps the policy's own tail (``None``: it keeps none)."""
    over_budget: int
    lost: int

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def worst(self) -> float:
        return max(self.ratios)


def _best(tuned: dict[str, Any]) -> dict[str, Any]:
    """The tuned setting per policy (JSON keeps the (value, tail) pairs as lists)."""
    return {
        p: tuple(v["best"]) if isinstance(v["best"], list) else v["best"]
        for p, v in tuned["sweeps"].items()
    }


def _with_a_tail(tuned: dict[str, Any]) -> tuple[float, int]:
    """The ``realtime`` preset's setting: of those that keep the last exchange verbatim,
    the best on TRAINING's audio billings played on the realtime plugin (lowest median
    within every budget), which a speech-to-speech model runs."""
    best: tuple[float, int] = _pick(tuned["on_the_wire"], _tailed())
    return best


def _tail(policy: str, setting: Any) -> int | None:
    if policy in CTXMGR:
        return int(setting[1]) + 1
    return _SAME_TAIL.get(policy)




def evaluate(workers: int) -> tuple[list[Config], Results, dict[str, Any]]:
    """Run every policy at its tuned setting (the baselines at every setting) on HELD_OUT."""
    tuned = json.loads(TUNED.read_text())
    best = _best(tuned)
    best[PRESET] = _with_a_tail(tuned)
    held_out = configs(HELD_OUT_CALLS)
    jobs: list[Job] = [(c, "floor", tail) for c in held_out for tail in (1, 2, 3)]
    jobs += [(c, "naive: _summarize every turn", None) for c in held_out]
    jobs += [(c, p, best[p]) for c in held_out for p in CTXMGR]
    rules = {best["ctxmgr cost rule"], best[PRESET]}
    jobs += [(c, "ctxmgr cost rule", best[PRESET]) for c in held_out if len(rules) > 1]
    jobs += [(c, ON_THE_WIRE, r) for c in _on_the_wire(held_out) for r in rules]
    jobs += [(c, BACK_TO_BACK, best[PRESET]) for c in _on_the_wire(held_out)]
    if best["ctxmgr fixed trigger"] != SHIPPED:
        jobs += [(c, "ctxmgr fixed trigger", SHIPPED) for c in held_out]
    # the baselines at every setting: their tuned one, and their best per configuration
    jobs += [
        (c, p, s)
        for c in held_out
        for p in ("cookbook summarizer", "server truncation")
        for s in SWEEPS[p]
    ]
    return held_out, run_all(jobs, workers), best


def _on_the_wire(held_out: list[Config]) -> list[Config]:
    """The configurations a speech-to-speech model bills (speech as audio)."""
    return [c for c in held_out if BILLINGS[c.billing][1] == "audio"]


def summaries(held_out: list[Config], res: Results, best: dict[str, Any]) -> list[Summary]:
    """One line per policy and setting, the cost rule first."""
    out: list[Summary] = []

    def add(policy: str, setting: Any, label: str) -> None:
        tail = _tail(policy, setting)
        out.append(
            Summary(
                policy,
                label,
                [_ratio(res, c, policy, setting) for c in held_out],
                None if tail is None else [_ratio(res, c, policy, setting, tail) for c in held_out],
                sum(res[(c, policy, setting)][1] > c.budget for c in held_out),
                sum(res[(c, policy, setting)][3] for c in held_out),
            )
        )

    margin, tail = best["ctxmgr cost rule"]
    add("ctxmgr cost rule", best["ctxmgr cost rule"], f"margin {margin}, {tail}-turn tail (tuned)")
    if best[PRESET] != best["ctxmgr cost rule"]:
        margin, tail = best[PRESET]
        add("ctxmgr cost rule", best[PRESET], f"margin {margin}, {tail}-turn tail (tuned with a tail on the realtime plugin: the realtime preset)")
    fraction, tail = best["ctxmgr fixed trigger"]
    add("ctxmgr fixed trigger", best["ctxmgr fixed trigger"], f"trigger {fraction}, {tail}-turn tail (tuned)")
    if best["ctxmgr fixed trigger"] != SHIPPED:
        add("ctxmgr fixed trigger", SHIPPED, "trigger 0.4, 2-turn tail (the realtime preset before)")
    for p in ("cookbook summarizer", "server truncation"):
        add(p, best[p], f"{_setting(p, best[p])} (tuned)")
        # per configuration, its cheapest setting that holds the budget
        choices = [[s for s in SWEEPS[p] if _held(res, c, p, s)] or list(SWEEPS[p]) for c in held_out]
        picks = [min(ss, key=lambda s: res[(c, p, s)][0]) for c, ss in zip(held_out, choices)]
        tail = _SAME_TAIL.get(p)
        out.append(
            Summary(
                p,
                "best setting per configuration (oracle)",
                [_ratio(res, c, p, s) for c, s in zip(held_out, picks)],
                None if tail is None else [_ratio(res, c, p, s, tail) for c, s in zip(held_out, picks)],
                sum(res[(c, p, s)][1] > c.budget for c, s in zip(held_out, picks)),
                sum(res[(c, p, s)][3] for c, s in zip(held_out, picks)),
            )
        )
    add("naive: _summarize every turn", None, "-")
    return out


def _setting(policy: str, s: Any) -> str:
    if policy == "server truncation":
        return "auto" if s is None else f"retention {s}"
    return f"trigger {s}"


def _calls(calls: tuple[Call, ...]) -> str:
    return ", ".join(f"`{shape}` {turns} turns seed {seed}" for shape, turns, seed in calls)


def section(workers: int = 2) -> Section:
    """The held-out table, the cost rule per billing, and the cost targets."""
    started = time.monotonic()
    held_out, res, best = evaluate(workers)
    rows = summaries(held_out, res, best)
    s = Section(
        title="What each policy bills on held-out calls",
        intro=(
            f"Cost over the floor on the held-out set: calls {_calls(HELD_OUT_CALLS)}; billed as"
            f" {', '.join(BILLINGS)}; budgets {' and '.join(f'{b:,}' for b in BUDGETS)} tokens:"
            f" {len(held_out)} configurations. *x floor* divides by the cheapest schedule that"
            " summarizes and keeps every response within the budget, found offline, which may"
            " fold every finished turn; *x floor, same tail* by the cheapest one that keeps as"
            " many finished turns as the policy does. Settings come from `bench/tuned.json`,"
            f" written by `python bench/heldout.py --tune` on the training calls"
            f" {_calls(TRAINING_CALLS)} (same billings and budgets): nothing is tuned here."
            " ctxmgr runs in a real AgentSession; the baselines are simulated over the same"
            f" script. Summarizer: the stand-in at gpt-4o-mini prices, every summary cut to"
            f" {SUMMARY_TOKENS} tokens, for every policy and the floor alike."
        ),
        header=(
            "policy",
            "setting",
            "median x floor",
            "worst x floor",
            "median x floor, same tail",
            "worst x floor, same tail",
            "over budget",
            "items lost",
        ),
    )
    for r in rows:
        same = r.same_tail
        s.rows.append(
            (
                r.policy,
                r.setting,
                f"{r.median:.3f}",
                f"{r.worst:.3f}",
                "" if same is None else f"{statistics.median(same):.3f}",
                "" if same is None else f"{max(same):.3f}",
                f"{r.over_budget}/{len(held_out)}",
                str(r.lost),
            )
        )
    rule, rule_setting = rows[0], best["ctxmgr cost rule"]
    assert rule.same_tail is not None
    s.targets += [
        Target("cost rule vs the floor, held-out median", "<= 1.10x", f"{rule.median:.3f}x (same tail {statistics.median(rule.same_tail):.3f}x)", rule.median <= 1.10),
        Target("cost rule vs the floor, held-out worst", "<= 1.20x", f"{rule.worst:.3f}x (same tail {max(rule.same_tail):.3f}x)", rule.worst <= 1.20),
        Target("cost rule within every budget", "0 over", f"{rule.over_budget} of {len(held_out)}", rule.over_budget == 0),
    ]
    beaten = [
        c.label
        for c in held_out
        if res[(c, "ctxmgr cost rule", rule_setting)][0]
        >= min(res[(c, p, st)][0] for p in ("cookbook summarizer",) for st in SWEEPS[p] if _held(res, c, p, st))
    ]
    s.targets.append(
        Target(
            "cost rule vs the cookbook at its best setting per configuration",
            "cheaper in every configuration",
            "cheaper in all" if not beaten else f"not in {len(beaten)} of {len(held_out)}",
            not beaten,
        )
    )
    s.extra_tables.append(
        (
            "The cost rule per billing (held out):",
            ("billing", "setting", "median x floor", "worst x floor", "median x floor, same tail", "worst x floor, same tail", "compactions (median)"),
            [
                (
                    billing,
                    f"margin {rule_setting[0]}, {rule_setting[1]}-turn tail",
                    f"{statistics.median(r1):.3f}",
                    f"{max(r1):.3f}",
                    f"{statistics.median(r2):.3f}",
                    f"{max(r2):.3f}",
                    f"{statistics.median(n):.0f}",
                )
                for billing in BILLINGS
                for rule_setting in dict.fromkeys((best["ctxmgr cost rule"], best[PRESET]))
                for picked in [[c for c in held_out if c.billing == billing]]
                for r1 in [[_ratio(res, c, "ctxmgr cost rule", rule_setting) for c in picked]]
                for r2 in [[_ratio(res, c, "ctxmgr cost rule", rule_setting, rule_setting[1] + 1) for c in picked]]
                for n in [[res[(c, "ctxmgr cost rule", rule_setting)][2] for c in picked]]
            ],
        )
    )
    wire = _on_the_wire(held_out)
    s.extra_tables.append(
        (
            f"The cost rule on the realtime plugin against the emulator, billed from the server's"
            f" log, beside the same rule in the pipeline session standing in for it"
            f" ({len(wire)} held-out configurations billed as audio). Both wait for a compaction"
            f" in flight before the next user turn; *back to back* plays each turn 20 ms after"
            f" the reply whatever ctxmgr is doing:",
            ("run", "setting", "median x floor", "worst x floor", "median x floor, same tail", "worst x floor, same tail", "over budget", "items lost"),
            [
                (
                    label,
                    f"margin {rule_setting[0]}, {rule_setting[1]}-turn tail",
                    f"{statistics.median(r1):.3f}",
                    f"{max(r1):.3f}",
                    f"{statistics.median(r2):.3f}",
                    f"{max(r2):.3f}",
                    f"{sum(res[(c, policy, rule_setting)][1] > c.budget for c in wire)}/{len(wire)}",
                    str(sum(res[(c, policy, rule_setting)][3] for c in wire)),
                )
                for rule_setting in dict.fromkeys((best["ctxmgr cost rule"], best[PRESET]))
                for label, policy in (
                    ("realtime plugin + emulator (two-step apply on the wire)", ON_THE_WIRE),
                    ("realtime plugin + emulator, back to back", BACK_TO_BACK),
                    ("pipeline session", "ctxmgr cost rule"),
                )
                if (wire[0], policy, rule_setting) in res
                for r1 in [[_ratio(res, c, policy, rule_setting) for c in wire]]
                for r2 in [[_ratio(res, c, policy, rule_setting, rule_setting[1] + 1) for c in wire]]
            ],
        )
    )
    if beaten:
        s.notes.append("Where the cookbook at its best setting bills no more than the cost rule: " + "; ".join(beaten) + ".")
    s.notes.append(f"{len(res)} runs in {time.monotonic() - started:.0f} s on {workers} processes.")
    return s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="sweep on the training calls; write tuned.json")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.tune:
        tuned = tune(args.workers)
        TUNED.write_text(json.dumps(tuned, indent=1) + "\n")
        for policy, v in tuned["sweeps"].items():
            print(policy, "best:", v["best"], v["scores"][str(v["best"])])
        return 0
    print(section(args.workers).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
