"""The archive: every removed item is kept, searchable, per session, across restarts."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from livekit.agents import llm

from ctxmgr import CompactionPlan, TailWindow, TokenCounter
from ctxmgr import archive as archive_mod
from ctxmgr.apply import Applier, fingerprints
from ctxmgr.archive import MemoryArchive, SQLiteArchive
from ctxmgr.testing.memory import InMemoryBackend

from .builders import Ctx

pytestmark = pytest.mark.unit


def _ctx() -> Ctx:
    b = Ctx().system()
    b.user("My name is Ana Lopez and my order number is 4417-B.").assistant("Thanks Ana, noted.")
    b.user("Ship it to 12 Baker Street, Leeds.").call("c1").assistant("Done, it ships Friday.")
    return b.turn(3)


def _said(*texts: str) -> list[llm.ChatItem]:
    b = Ctx()
    for text in texts:
        b.user(text)
    return list(b.ctx.items)


@pytest.fixture(params=["memory", "sqlite"])
def archive(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    a = MemoryArchive() if request.param == "memory" else SQLiteArchive(tmp_path / "a.db")
    yield a
    a.close()


def test_write_keeps_items_verbatim_in_order(archive) -> None:  # noqa: ANN001
    b = _ctx()
    n = archive.write("s1", b.ctx.items[1:7], compaction_id="k1", summary_id="sum1",
                      summary_text="Ana, order 4417-B")
    rows = archive.items("s1")
    assert n == len(rows) == 6
    assert [r.item_id for r in rows] == b.ids()[1:7]
    assert rows[0].text == "My name is Ana Lopez and my order number is 4417-B."
    assert (rows[0].kind, rows[3].kind, rows[4].kind) == ("user", "function_call", "function_call_output")
    assert all(r.summary_id == "sum1" and r.compaction_id == "k1" for r in rows)


def test_search_ranks_the_matching_turn_first(archive) -> None:  # noqa: ANN001
    b = _ctx()
    archive.write("s1", b.ctx.items[1:], compaction_id="k1", summary_id=None)
    hits = archive.search("s1", "what was the order number?", limit=3)
    assert hits and "4417-B" in hits[0].text
    assert "Baker Street" in archive.search("s1", "street address", limit=1)[0].text


def test_sessions_never_see_each_others_items(archive) -> None:  # noqa: ANN001
    archive.write("a", _ctx().ctx.items[1:3], compaction_id="k", summary_id=None)
    assert archive.search("b", "Ana order", limit=3) == []
    assert archive.items("b") == []


def test_compactions_group_items_with_their_summary(archive) -> None:  # noqa: ANN001
    b = _ctx()
    archive.write("s", b.ctx.items[1:3], compaction_id="k1", summary_id="sumA", summary_text="A")
    archive.write("s", b.ctx.items[3:5], compaction_id="k2", summary_id=None)
    first, second = archive.compactions("s")
    assert (first.summary_id, first.summary_text, len(first.items)) == ("sumA", "A", 2)
    assert (second.summary_id, second.summary_text, len(second.items)) == (None, None, 2)


def test_sqlite_archive_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    first = SQLiteArchive(path)
    first.write("s", _ctx().ctx.items[1:5], compaction_id="k", summary_id=None)
    first.close()
    again = SQLiteArchive(path)
    assert len(again.items("s")) == 4
    assert "4417-B" in again.search("s", "order number", limit=1)[0].text
    assert again.sessions() == ["s"]
    again.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_without_fts5_search_scans_with_one_warning(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(archive_mod, "_FTS_SQL", "CREATE VIRTUAL TABLE t USING no_such_module(x)")
    with caplog.at_level(logging.WARNING, logger="ctxmgr"):
        a = MemoryArchive() if kind == "memory" else SQLiteArchive(tmp_path / "scan.db")
        b = _ctx()
        a.write("s", b.ctx.items[1:5], compaction_id="k", summary_id=None, summary_text="Ana")
        a.write("t", _said("I will call you back tomorrow."), compaction_id="k", summary_id=None)
        assert "4417-B" in a.search("s", "order number", limit=1)[0].text
        assert "Baker Street" in a.search("s", 'street "address" NEAR*', limit=1)[0].text
        assert a.search("t", "calls", limit=1) == []  # the scan matches exact words, as before
        assert a.search("t", "order", limit=1) == []  # and only the session's own
        assert a.forget("s", [b.ids()[1]], ["Ana"]) == 1
        assert a.search("s", "Lopez", limit=1) == [] and a.compactions("s")[0].summary_text == "[forgotten]"
        assert [r.position for r in a.items("s")] == [0, 1, 2]
    assert not a.fts
    assert [r.getMessage() for r in caplog.records] == [
        "SQLite has no FTS5: the archive is searched with a plain scan"
    ]
    a.close()


def test_the_memory_archive_is_a_sqlite_memory_database_searched_with_fts5() -> None:
    a = MemoryArchive()
    assert a.fts and a.path == ":memory:" and isinstance(a, SQLiteArchive)
    a.close()


def test_search_ranks_a_rare_word_above_a_common_one(archive) -> None:  # noqa: ANN001
    # every line is as long and matches one query word once: only BM25's weight for
    # the rarer word puts the last line first (the plain scan ties, oldest first)
    archive.write("s", _said(*(f"Your order {n} is confirmed." for n in range(5)),
                             "Your refund 9 is confirmed."), compaction_id="k", summary_id=None)
    hits = archive.search("s", "order refund", limit=3)
    assert hits[0].text == "Your refund 9 is confirmed." and len(hits) == 3


def test_search_matches_word_forms(archive) -> None:  # noqa: ANN001
    archive.write("s", _said("I will call you back tomorrow.", "We deliver on Fridays.",
                             "The delivery is late."), compaction_id="k", summary_id=None)
    assert [h.text for h in archive.search("s", "calls", limit=3)] == ["I will call you back tomorrow."]
    assert [h.text for h in archive.search("s", "delivered", limit=3)] == ["We deliver on Fridays."]
    assert [h.text for h in archive.search("s", "deliveries", limit=3)] == ["The delivery is late."]


@pytest.mark.parametrize("query", [
    "7731-K", 'order "7731-K', '"', '""', "order AND", "NOT order", "order NEAR street",
    "NEAR(order street, 2)", "order*", "*", "^order", "text:order", "(order", "order OR",
    "'", "-", "+", "_", "O'Brien's order", "{order}", "[7731]", "order\\", "ordér 7731/K",
])
def test_punctuation_and_fts_operators_in_a_query_never_raise(archive, query: str) -> None:  # noqa: ANN001
    archive.write("s", _said("Ship it to 12 Baker Street.", "My order is 7731-K."),
                  compaction_id="k", summary_id=None)
    hits = archive.search("s", query, limit=3)
    if "7731" in query or "order" in query.lower():
        assert "7731-K" in hits[0].text


def test_sessions_sharing_an_index_each_get_their_own_best_matches(archive) -> None:  # noqa: ANN001
    archive.write("a", _said(*(f"order {n} order order" for n in range(6))),
                  compaction_id="k", summary_id=None)
    archive.write("b", _said("Ship it to 12 Baker Street.", "My order is 7731-K."),
                  compaction_id="k", summary_id=None)
    assert [h.text for h in archive.search("b", "order", limit=3)] == ["My order is 7731-K."]
    assert {h.session_id for h in archive.search("a", "order street", limit=10)} == {"a"}


def test_forget_removes_items_renumbers_and_redacts_summaries(archive) -> None:  # noqa: ANN001
    b = _ctx()
    archive.write("s", b.ctx.items[1:3], compaction_id="k1", summary_id="sum1",
                  summary_text="Ana Lopez, order 4417-B.")
    archive.write("s", b.ctx.items[3:5], compaction_id="k2", summary_id=None)
    archive.write("t", b.ctx.items[1:3], compaction_id="k1", summary_id="sum1",
                  summary_text="Ana Lopez, order 4417-B.")
    first = b.ids()[1]
    assert archive.forget("s", [first, "no-such-item"], ["Ana Lopez", "4417-B"]) == 1
    rows = archive.items("s")
    assert [r.item_id for r in rows] == b.ids()[2:5] and [r.position for r in rows] == [0, 1, 2]
    assert archive.search("s", "Lopez", limit=3) == []
    assert archive.search("s", "Baker", limit=1)[0].position == 1
    assert archive.compactions("s")[0].summary_text == "[forgotten], order [forgotten]."
    assert archive.search("t", "order number", limit=1)[0].item_id == first  # another call's
    assert archive.compactions("t")[0].summary_text == "Ana Lopez, order 4417-B."


def test_the_memory_archive_stays_readable_after_close() -> None:
    # ContextManager.aclose() closes the archive it made; an audit may come after
    a = MemoryArchive()
    a.write("s", _ctx().ctx.items[1:3], compaction_id="k", summary_id=None, summary_text="A")
    a.close()
    assert len(a.items("s")) == 2 and a.compactions("s")[0].summary_text == "A"
    assert "4417-B" in a.search("s", "order", limit=1)[0].text


def test_the_memory_archive_takes_writes_and_searches_from_many_threads() -> None:
    a = MemoryArchive()

    def call(n: int) -> int:
        found = 0
        for t in range(20):
            said = llm.ChatMessage(id=f"u{t}", role="user", content=[f"order {n}-{t} placed"])
            a.write(f"s{n}", [said], compaction_id=f"k{t}", summary_id=None)
            found += len(a.search(f"s{n}", f"order {n}", limit=50))
        return found

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(call, range(8))) > 0
    assert all(len(a.items(f"s{n}")) == 20 for n in range(8))
    assert all(len(a.search(f"s{n}", "order", limit=50)) == 20 for n in range(8))


def test_an_archive_made_with_the_old_tokenizer_opens_and_searches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with monkeypatch.context() as m:  # the index as archives made it before porter
        m.setattr(archive_mod, "_FTS_SQL", archive_mod._FTS_SQL.replace(", tokenize='porter unicode61'", ""))
        old = SQLiteArchive(path)
        old.write("s", _ctx().ctx.items[1:5], compaction_id="k1", summary_id=None)
        old.close()
    again = SQLiteArchive(path)
    assert again.fts
    again.write("s", _said("I will call you back tomorrow."), compaction_id="k2", summary_id=None)
    assert "4417-B" in again.search("s", "order number", limit=1)[0].text
    assert "call you back" in again.search("s", "call", limit=1)[0].text  # a row written now
    assert again.search("s", "calls", limit=3) == []  # the old index keeps exact words
    gone = again.items("s")[0].item_id
    assert again.forget("s", [gone], []) == 1 and again.search("s", "Lopez", limit=3) == []
    sql = again._db.execute("SELECT sql FROM sqlite_master WHERE name = 'archived_fts'").fetchone()[0]
    assert "porter" not in sql
    again.close()


def test_a_new_archive_file_matches_word_forms(tmp_path: Path) -> None:
    a = SQLiteArchive(tmp_path / "new.db")
    a.write("s", _said("I will call you back tomorrow."), compaction_id="k", summary_id=None)
    a.close()
    again = SQLiteArchive(tmp_path / "new.db")
    assert "call you back" in again.search("s", "calls", limit=1)[0].text
    again.close()


async def test_items_are_archived_before_the_delete_and_a_failed_delete_loses_nothing() -> None:
    b = _ctx()
    backend = InMemoryBackend(b.ctx)
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=0.2)
    archive = MemoryArchive()
    ids = b.ids()[1:7]
    plan = CompactionPlan("trim", tuple(ids), None, 0, 0)
    order: list[str] = []

    def write(p: CompactionPlan) -> None:
        order.append("archive")
        archive.write("s", [backend.local.get_by_id(i) for i in p.remove_ids],  # type: ignore[misc]
                      compaction_id="k", summary_id=None)

    backend.on_update = lambda _ctx: order.append("update")
    backend.fail_next_update = RuntimeError("connection lost")
    out = await applier.apply(plan, summary=None, planned_fingerprints=fingerprints(b.ctx, ids),
                              before_delete=write)
    assert out.status == "failed" and order == ["archive", "update"]
    assert [i.id for i in backend.local.items] == b.ids()  # nothing deleted
    assert [r.item_id for r in archive.items("s")] == ids   # and all of it archived


def test_item_text_skips_bookkeeping_and_empty_messages() -> None:
    assert archive_mod.item_text(llm.AgentConfigUpdate(instructions="x")) is None
    assert archive_mod.item_text(llm.ChatMessage(role="assistant", content=[])) is None


def test_the_memory_archive_opens_its_database_at_its_first_use() -> None:
    # most calls never compact: an open SQLite database costs about 70 KiB a manager
    archive = MemoryArchive()
    assert archive._conn is None
    assert archive.search("s", "order") == [] and archive._conn is not None
    assert archive.fts


class _ThreadNotingArchive(MemoryArchive):
    """Notes the thread each write runs in (and fails every write when told to)."""

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []
        self.fail = fail

    def write(self, *args: Any, **kwargs: Any) -> int:
        self.threads.append(threading.current_thread())
        if self.fail:
            raise OSError("disk full")
        return super().write(*args, **kwargs)


async def test_awrite_runs_the_write_off_the_event_loop_thread() -> None:
    archive = _ThreadNotingArchive()
    written = await archive.awrite("s", _said("Order 4417-B, please."), compaction_id="k",
                                   summary_id=None)
    assert written == 1 and [r.text for r in archive.items("s")] == ["Order 4417-B, please."]
    assert archive.threads and threading.main_thread() not in archive.threads


async def test_aclose_waits_for_the_writes_asked_for_before(tmp_path: Path) -> None:
    archive = SQLiteArchive(tmp_path / "a.db")
    said = _said(*(f"turn {n}" for n in range(20)))
    writes = [
        asyncio.ensure_future(archive.awrite("s", [item], compaction_id=f"k{n}", summary_id=None))
        for n, item in enumerate(said)
    ]
    await asyncio.sleep(0)  # each write is on its way to the archive thread
    await archive.aclose()
    assert sum(await asyncio.gather(*writes)) == 20
    again = SQLiteArchive(tmp_path / "a.db")
    assert len(again.items("s")) == 20
    again.close()


async def test_a_compaction_archives_off_the_event_loop_thread() -> None:
    b = _ctx()
    backend = InMemoryBackend(b.ctx)
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=0.2)
    archive = _ThreadNotingArchive()
    ids = b.ids()[1:7]

    async def write(p: CompactionPlan) -> None:
        await archive_mod.store(archive, "s", [backend.local.get_by_id(i) for i in p.remove_ids],  # type: ignore[misc]
                                compaction_id="k", summary_id=None)

    out = await applier.apply(CompactionPlan("trim", tuple(ids), None, 0, 0), summary=None,
                              planned_fingerprints=fingerprints(b.ctx, ids), before_delete=write)
    assert out.status == "applied" and [r.item_id for r in archive.items("s")] == ids
    assert archive.threads and threading.main_thread() not in archive.threads


async def test_a_write_that_fails_off_the_event_loop_still_aborts_the_delete() -> None:
    b = _ctx()
    backend = InMemoryBackend(b.ctx)
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=0.2)
    archive = _ThreadNotingArchive(fail=True)
    ids = b.ids()[1:7]

    async def write(p: CompactionPlan) -> None:
        await archive_mod.store(archive, "s", [backend.local.get_by_id(i) for i in p.remove_ids],  # type: ignore[misc]
                                compaction_id="k", summary_id=None)

    out = await applier.apply(CompactionPlan("trim", tuple(ids), None, 0, 0), summary=None,
                              planned_fingerprints=fingerprints(b.ctx, ids), before_delete=write)
    assert (out.status, out.stage) == ("failed", "archive")
    assert isinstance(out.error, OSError)
    assert [i.id for i in backend.local.items] == b.ids()  # nothing deleted
    assert archive.threads and threading.main_thread() not in archive.threads


async def test_an_item_edited_while_the_archive_is_written_is_not_deleted() -> None:
    # the write lets the event loop run: the plan is validated again before the delete
    b = _ctx()
    backend = InMemoryBackend(b.ctx)
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=0.2)
    ids = b.ids()[1:7]
    edited = backend.local.get_by_id(ids[0])
    assert isinstance(edited, llm.ChatMessage)

    async def write(p: CompactionPlan) -> None:
        await asyncio.sleep(0)
        edited.content = ["[redacted by the app]"]

    out = await applier.apply(CompactionPlan("trim", tuple(ids), None, 0, 0), summary=None,
                              planned_fingerprints=fingerprints(b.ctx, ids), before_delete=write)
    assert out.status == "applied" and out.plan is not None
    assert ids[0] not in out.plan.remove_ids and ids[0] in out.kept_ids
    assert backend.local.get_by_id(ids[0]) is edited


async def test_a_reply_that_starts_while_the_archive_is_written_delays_the_delete() -> None:
    # the write runs outside the applier's lock: the delete waits for the next quiet
    # moment, with what was archived, instead of failing for want of one
    b = _ctx()
    backend = InMemoryBackend(b.ctx)
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=1.0)
    ids = b.ids()[1:7]
    writes: list[tuple[str, ...]] = []

    async def write(p: CompactionPlan) -> None:
        writes.append(p.remove_ids)
        backend.quiescent = False  # a reply starts meanwhile, and ends 50 ms later
        asyncio.get_running_loop().call_later(0.05, setattr, backend, "quiescent", True)
        await asyncio.sleep(0.01)

    out = await applier.apply(CompactionPlan("trim", tuple(ids), None, 0, 0), summary=None,
                              planned_fingerprints=fingerprints(b.ctx, ids), before_delete=write)
    assert out.status == "applied" and out.plan is not None
    assert writes == [tuple(ids)] and out.plan.remove_ids == tuple(ids)
    assert not {i.id for i in backend.local.items} & set(ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
async def test_a_forked_process_writes_in_its_own_archive_thread() -> None:
    # a process pool's worker forked after the parent wrote: the parent's archive thread
    # does not exist there, and a write handed to it would wait forever
    await MemoryArchive().awrite("s", _said("before the fork"), compaction_id="k", summary_id=None)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one write, its result through the pipe, then out
        code = 1
        try:
            archive = MemoryArchive()
            written = asyncio.run(
                asyncio.wait_for(
                    archive.awrite("s", _said("in the child"), compaction_id="k", summary_id=None),
                    timeout=5,
                )
            )
            code = 0 if written == 1 else 1
        finally:
            os.write(write, bytes([code]))
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 1) == b"\x00" and os.waitstatus_to_exitcode(status) == 0
