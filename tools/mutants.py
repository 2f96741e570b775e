"""Mutation gate: break ctxmgr one line at a time and check that the race harness notices.

Each mutant is a textual edit of one file of ``ctxmgr/``, applied to a copy of
the package in a temporary directory; the race harness alone (``python -m
ctxmgr.testing.chaos``, never the unit tests) then plays the seeds on that copy.
A schedule kills a mutant when it fails with the mutant and passed unbroken in
the same invocation. ::

    python tools/mutants.py                 # every mutant, seeds 0-199 (the ones make test runs)
    python tools/mutants.py --seeds 48      # a fast subset
    python tools/mutants.py --only verify_disabled
    python tools/mutants.py --write         # make mutants: also writes the README's table
    python tools/mutants.py --jobs 2        # two mutants at once (two cores)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- mutants:begin -->", "<!-- mutants:end -->"


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    edits: tuple[tuple[str, str], ...]
    """(old, new) pairs; each old text must occur in the file."""
    equivalent: str | None = None
    """Why no schedule can kill it, or only by chance (another safeguard holds the same
    line in every race, or it takes a load the schedules cannot force); ``test`` must
    then kill it."""
    test: str | None = None
    """A test (pytest node id) that kills it, run on the mutated copy."""
    provider: str = "openai"
    """The provider whose plugin and wire variant the harness plays (``--provider``)."""


MUTANTS = (
    Mutant(
        "summary_and_deletes_in_one_update",
        "apply.py",
        (("two_step = summary is not None and self.backend.two_step", "two_step = False"),),
    ),
    Mutant(
        "guard_ignores_protected_ids",
        "guard.py",
        (("    if protected_ids:\n        ids =", "    if False:\n        ids ="),),
    ),
    Mutant(
        "in_progress_items_not_frozen",
        "guard.py",
        (("    if in_progress is not None:\n", "    if False:\n"),),
        equivalent=(
            "a running tool keeps livekit's realtime agent `thinking`, so no apply runs"
            " while a call has no output (also with the waits for pending speech and"
            " background tools removed: 0 of 200)"
        ),
        test="tests/test_guard.py::test_call_without_output_is_in_progress_and_freezes_what_follows",
    ),
    Mutant(
        "remote_view_protects_nothing",
        "remote.py",
        (("    protected = set(unsettled)\n", "    protected: set[str] = set()\n"),),
    ),
    Mutant("tail_off_by_one", "guard.py", (("start = i\n", "start = i + 1\n"),)),
    Mutant(
        "no_revalidation",
        "apply.py",
        (
            ("current = self._revalidate(plan, planned_fingerprints, summary)", "current = plan"),
            ("final = self._revalidate(current, planned_fingerprints, summary)", "final = current"),
        ),
    ),
    Mutant(
        "verify_disabled",
        "apply.py",
        (
            ("self._verify(current, summary, before)", "None"),
            ("self._verify(final, summary, before)", "None"),
        ),
    ),
    Mutant("summary_unconfirmed", "apply.py", (("await self._confirm({summary.id})", "pass"),)),
    Mutant(
        "server_last_item_unprotected",
        "remote.py",
        (("        protected.add(remote.items[-1].id)", "        pass"),),
    ),
    Mutant(
        "no_placeholder_detection",
        "remote.py",
        (
            ("    if local_item is remote_item:\n        return True", "    if False:\n        pass"),
            ("return shared or _awaiting_transcript(local_item, remote_item)", "return False"),
        ),
    ),
    Mutant(
        "quiescence_skipped",
        "apply.py",
        (
            (
                "return self.backend.is_running() and self.backend.is_quiescent()",
                "return self.backend.is_running()",
            ),
        ),
    ),
    Mutant(
        "no_wait_for_livekit_realtime_locks",
        "backends/agent.py",
        (("while any(_would_wait(lock) for lock in locks):", "while False:"),),
    ),
    Mutant(
        "lock_handed_to_a_waiter_looks_free",
        "backends/agent.py",
        (("return lock.locked() or any(not w.cancelled() for w in waiters or ())",
          "return lock.locked()"),),
        equivalent=(
            "load: ctxmgr's poll must fall in the one event-loop turn between livekit's"
            " release and its waiting update running (seed 590, 96 replays at once: 1 and"
            " 3 fail with it, 0 without)"
        ),
        test=(
            "tests/test_agent_backend.py"
            "::test_a_lock_released_to_a_waiting_task_is_not_free_until_that_task_ran"
        ),
    ),
    Mutant(
        "pair_closure_removed",
        "guard.py",
        (
            (
                "if going and len(going) < len(group):",
                "if False:",
            ),
        ),
    ),
    Mutant(
        "inactive_agent_compacted",
        "signals.py",
        (
            (
                '    if activity is None or getattr(activity, "_closed", False):\n        return False',
                "    if activity is None:\n        return True",
            ),
        ),
    ),
    Mutant(
        "summary_anchored_to_unacked_item",
        "apply.py",
        (("while at > 0 and ids[at - 1] in pinned:", "while False:"),),
    ),
    Mutant(
        "tail_counts_unconfirmed_turns",
        "apply.py",
        (("confirmed = [i for i in items if i.id not in pinned]", "confirmed = list(items)"),),
    ),
    Mutant(
        "tail_in_server_order_only",
        "apply.py",
        (("tail, {*protected, *recent}, tally=counted", "tail, protected, tally=counted"),),
        equivalent=(
            "no schedule of seeds 0-599 reaches it (seed 331 did, at an earlier commit,"
            " and no longer does)"
        ),
        test=(
            "tests/test_apply.py"
            "::test_a_reply_recent_in_the_agents_context_stays_though_old_on_the_server"
        ),
    ),
    Mutant(
        "archive_failure_ignored",
        "apply.py",
        (("            raise _Fail(\"archive\", e) from e", "            pass"),),
    ),
    Mutant(
        "partial_copy_written_back",
        "apply.py",
        (("return len(old) < len(new) and new.startswith(old)", "return False"),),
    ),
    Mutant(
        "summary_revives_what_the_app_removed",
        "apply.py",
        (('            raise _Skip("span_edited")\n', "            pass\n"),),
    ),
    Mutant(
        "local_copy_sent",
        "apply.py",
        (
            (
                "return live_union(self.backend.read_local(), self.backend.read_remote())",
                "return list(self.backend.read_local().items)",
            ),
        ),
    ),
    Mutant(
        "no_pins_for_unacked_items",
        "apply.py",
        (("pinned = self.backend.pinned_ids()", "pinned: set[str] = set()"),),
    ),
    Mutant(
        "mirror_keeper_places_nothing",
        "remote.py",
        (("        if place_as_requested(", "        if False and place_as_requested("),),
        provider="xai",
    ),
    Mutant(
        "anonymous_delete_acks_left_unnamed",
        "remote.py",
        (("                event[\"item_id\"] = sent\n", "                pass\n"),),
        provider="xai",
    ),
)

_FAIL = re.compile(r"^FAIL seed=(\d+):", re.MULTILINE)


def _failing(package_parent: Path, first: int, seeds: int, provider: str = "openai") -> set[int]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    done = subprocess.run(
        [sys.executable, "-m", "ctxmgr.testing.chaos", "--first", str(first), "--seeds",
         str(seeds), "--contender", "ctxmgr", "--provider", provider],
        cwd=package_parent, env=env, capture_output=True, text=True, check=False,
    )
    if "schedules=" not in done.stdout:
        raise RuntimeError(f"the harness did not run:\n{done.stdout}\n{done.stderr}")
    return {int(s) for s in _FAIL.findall(done.stdout)}


def _copy(into: Path) -> None:
    shutil.copytree(ROOT / "ctxmgr", into / "ctxmgr")
    shutil.copytree(ROOT / "policies", into / "policies")  # found beside the package


def _mutated_copy(mutant: Mutant, into: Path) -> None:
    _copy(into)
    path = into / "ctxmgr" / mutant.file
    text = path.read_text()
    for old, new in mutant.edits:
        if old not in text:
            raise SystemExit(f"mutant {mutant.name}: {old!r} is not in ctxmgr/{mutant.file}")
        text = text.replace(old, new)
    path.write_text(text)


def _test_fails(package_parent: Path, test: str) -> bool:
    """Run one test against the copy in ``package_parent``; True when it fails."""
    shutil.copytree(ROOT / "tests", package_parent / "tests", dirs_exist_ok=True)
    shutil.copy(ROOT / "pyproject.toml", package_parent / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=package_parent, env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{test} did not run:\n{done.stdout}\n{done.stderr}")
    return done.returncode == 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--only", action="append", default=None)
    parser.add_argument(
        "--jobs", type=int, default=1, help="mutants judged at once (each a harness run)"
    )
    parser.add_argument(
        "--write", action="store_true", help="also write the table into README.md"
    )
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "unbroken"
        _copy(base)
        unbroken = {
            provider: _failing(base, args.first, args.seeds, provider)
            for provider in dict.fromkeys(m.provider for m in chosen)
        }
        for mutant in chosen:
            if mutant.test is not None and _test_fails(base, mutant.test):
                raise SystemExit(f"{mutant.test} fails on the unbroken code")
    lines = [
        f"Printed by `python tools/mutants.py --first {args.first} --seeds {args.seeds}"
        f"{f' --jobs {args.jobs}' if args.jobs > 1 else ''}` at"
        f" commit {commit_label()}; unbroken, "
        + "; ".join(
            f"{len(failing)} of {args.seeds} schedules fail on {provider}"
            f"{': ' + str(sorted(failing)) if failing else ''}"
            for provider, failing in unbroken.items()
        )
        + ".",
        "",
        f"| mutant | schedules that kill it (of {args.seeds}) | first killing seed"
        " | why the race cannot (or only by chance); the test that kills it |",
        "| --- | ---: | ---: | --- |",
    ]
    print("\n".join(lines), flush=True)
    survivors = []

    def judge(mutant: Mutant) -> tuple[list[int], bool]:
        with tempfile.TemporaryDirectory() as tmp:
            _mutated_copy(mutant, Path(tmp))
            failing = _failing(Path(tmp), args.first, args.seeds, mutant.provider)
            kills = sorted(failing - unbroken[mutant.provider])
            test_kills = mutant.test is not None and _test_fails(Path(tmp), mutant.test)
        return kills, test_kills

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        # in order; ``jobs`` harness runs at once (each is one process on one core)
        for mutant, (kills, test_kills) in zip(chosen, pool.map(judge, chosen)):
            first = str(kills[0]) if kills else "-"
            instead = "-"
            if mutant.equivalent is not None:
                verdict = "fails" if test_kills else "PASSES (not killed)"
                instead = f"{mutant.equivalent}; `{mutant.test}` {verdict}"
            name = mutant.name
            if mutant.provider != "openai":
                name += f" ({mutant.provider})"
            lines.append(f"| {name} | {len(kills)} | {first} | {instead} |")
            print(lines[-1], flush=True)
            if len(kills) < 2 and not (mutant.equivalent is not None and test_kills):
                survivors.append(mutant.name)
    if survivors:
        lines.append(f"\nNot killed by more than one schedule: {', '.join(survivors)}.")
        print(lines[-1])
    if args.write:
        readme = ROOT / "README.md"
        text = readme.read_text()
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        readme.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[end:])
    return 1 if survivors else 0


def commit_label() -> str:
    """The short commit, and whether ctxmgr/ differs from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "ctxmgr"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return f"{head}{' (ctxmgr/ modified)' if dirty else ''}"


if __name__ == "__main__":
    sys.exit(main())
