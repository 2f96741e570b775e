"""The archive: every removed item is kept, searchable, per session, across restarts."""

from __future__ import annotations

import logging
from pathlib import Path

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


def test_without_fts5_search_scans_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(archive_mod, "_FTS_SQL", "CREATE VIRTUAL TABLE t USING no_such_module(x)")
    with caplog.at_level(logging.WARNING, logger="ctxmgr"):
        a = SQLiteArchive(tmp_path / "scan.db")
    assert not a.fts and any("FTS5" in r.getMessage() for r in caplog.records)
    a.write("s", _ctx().ctx.items[1:5], compaction_id="k", summary_id=None)
    assert "4417-B" in a.search("s", "order number", limit=1)[0].text
    a.close()


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
