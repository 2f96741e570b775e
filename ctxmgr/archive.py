"""The archive: every item a compaction folds or drops, written before the delete.

```python
archive = SQLiteArchive("calls.db")          # or MemoryArchive() (the default)
archive.write("call-42", items, summary_id="item_abc")
await archive.awrite("call-42", items, summary_id="item_abc")   # off the event loop
archive.search("call-42", "order number", limit=3)
archive.compactions("call-42")               # what each compaction replaced, for audits
```

The archive holds transcripts: see the README's privacy notes. Nothing from it is
ever put in a log message.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from livekit.agents import llm

from .log import logger

__all__ = [
    "Archive",
    "ArchivedItem",
    "Compaction",
    "FORGOTTEN",
    "MemoryArchive",
    "SQLiteArchive",
    "item_text",
    "open_archive",
    "redact",
]


@dataclass(frozen=True)
class ArchivedItem:
    """One item a compaction removed, as it was."""

    session_id: str
    item_id: str
    kind: str
    """``user``, ``assistant``, ``system``, ``function_call`` or ``function_call_output``."""
    text: str
    created_at: float
    summary_id: str | None
    """The summary that replaced it (``None`` when it was trimmed)."""
    compaction_id: str
    """The compaction that removed it (its ``request_id`` in events)."""
    position: int
    """Order within the session's archive (0 is the oldest archived item)."""


@dataclass(frozen=True)
class Compaction:
    """What one compaction replaced: its items and the summary that took their place."""

    compaction_id: str
    summary_id: str | None
    items: tuple[ArchivedItem, ...]
    summary_text: str | None


def item_text(item: llm.ChatItem) -> tuple[str, str] | None:
    """``(kind, text)`` of an item worth archiving, or ``None`` (bookkeeping, empty)."""
    if isinstance(item, llm.ChatMessage):
        parts = [item.text_content or ""]
        parts += [c.transcript for c in item.content if isinstance(c, llm.AudioContent) and c.transcript]
        text = "\n".join(p for p in parts if p).strip()
        return (item.role, text) if text else None
    if isinstance(item, llm.FunctionCall):
        return "function_call", f"{item.name}({item.arguments})"
    if isinstance(item, llm.FunctionCallOutput):
        return "function_call_output", f"{item.name}: {item.output}"
    return None


@runtime_checkable
class Archive(Protocol):
    """Where folded items go. Writes must be durable before they return."""

    def write(
        self,
        session_id: str,
        items: Sequence[llm.ChatItem],
        *,
        compaction_id: str,
        summary_id: str | None,
        summary_text: str | None = None,
    ) -> int:
        """Archive ``items`` (context order); returns how many were written."""
        ...

    def search(self, session_id: str, query: str, *, limit: int = 3) -> list[ArchivedItem]:
        """Best matches for ``query`` among the session's items, best first."""
        ...

    def items(self, session_id: str) -> list[ArchivedItem]:
        """Every archived item of the session, oldest first."""
        ...

    def compactions(self, session_id: str) -> list[Compaction]:
        """What each compaction of the session replaced, oldest first."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...

    # optional: ``forget(session_id, item_ids, quotes) -> int`` removes items and
    # blanks ``quotes`` in the stored summaries (``ContextManager.forget`` refuses
    # an archive without it)
    #
    # optional: ``async awrite(...)``, ``write`` off the event loop, and ``async
    # aclose()``, which closes after the writes in flight. ``ContextManager`` awaits
    # them when present; an archive without them is written on the event loop


_WORD = re.compile(r"\w+", re.UNICODE)
_FTS_SQL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS archived_fts USING fts5("
    "text, content='archived_items', content_rowid='rowid', tokenize='porter unicode61')"
)
"""The search index. ``porter`` matches word forms ("calls" finds "call"); a table made
before it (plain ``unicode61``) keeps its own tokenizer, for its rows and its queries."""


def query_terms(query: str) -> list[str]:
    """The words of a free-text query, lower-cased, deduplicated, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        seen.setdefault(word, None)
    return list(seen)


class SQLiteArchive:
    """An archive in a SQLite database (WAL mode), searchable with FTS5 (BM25).

    ``path=":memory:"`` keeps it in memory (``MemoryArchive``), without WAL.

    Where SQLite lacks FTS5, search falls back to a plain scan, with one warning.
    Safe to share between the sessions of one process: every row carries its
    session id and every query filters on it.

    ``read_only=True`` opens an existing archive for reading (``ctxmgr archive show``):
    no table is created and the journal mode is left alone, so the file is never
    written. It raises ``sqlite3.DatabaseError`` when the file is missing, is not a
    SQLite database or holds no archive.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._opening = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._fts = False
        if read_only:
            self._conn = _connect_read_only(Path(path))
            self._fts = _has_table(self._conn, "archived_fts")
        elif self.path != ":memory:":
            self._open()  # a bad path fails here, not at the first compaction

    @property
    def _db(self) -> sqlite3.Connection:
        # an in-memory archive opens at its first use: most calls never compact, and
        # an open SQLite database costs about 70 KiB
        if self._conn is None:
            self._open()
        assert self._conn is not None
        return self._conn

    @property
    def fts(self) -> bool:
        """Whether search uses FTS5 (``False``: the plain scan, where SQLite lacks it)."""
        if self._conn is None:
            self._open()
        return self._fts

    def _open(self) -> None:
        with self._opening:
            if self._conn is not None:
                return
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            self._create_tables(db)
            self._fts = _create_fts(db)
            self._conn = db

    @staticmethod
    def _create_tables(db: sqlite3.Connection) -> None:
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS archived_items (
                rowid INTEGER PRIMARY KEY,
                session_id TEXT NOT NULL,
                item_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                text TEXT NOT NULL,
                created_at REAL NOT NULL,
                archived_at REAL NOT NULL,
                summary_id TEXT,
                compaction_id TEXT NOT NULL,
                UNIQUE (session_id, item_id)
            );
            CREATE TABLE IF NOT EXISTS summaries (
                session_id TEXT NOT NULL,
                compaction_id TEXT NOT NULL,
                text TEXT NOT NULL,
                PRIMARY KEY (session_id, compaction_id)
            );
            """
        )

    def write(
        self,
        session_id: str,
        items: Sequence[llm.ChatItem],
        *,
        compaction_id: str,
        summary_id: str | None,
        summary_text: str | None = None,
    ) -> int:
        now = time.time()
        written = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for item in items:
                    described = item_text(item)
                    if described is None:
                        continue
                    kind, text = described
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO archived_items (session_id, item_id, kind, text,"
                        " created_at, archived_at, summary_id, compaction_id)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (session_id, item.id, kind, text, item.created_at, now, summary_id,
                         compaction_id),
                    )
                    if cursor.rowcount and self.fts:
                        self._db.execute(
                            "INSERT INTO archived_fts (rowid, text) VALUES (?, ?)",
                            (cursor.lastrowid, text),
                        )
                    written += cursor.rowcount
                if summary_text is not None:
                    self._db.execute(
                        "INSERT OR REPLACE INTO summaries VALUES (?, ?, ?)",
                        (session_id, compaction_id, summary_text),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return written

    def search(self, session_id: str, query: str, *, limit: int = 3) -> list[ArchivedItem]:
        terms = query_terms(query)
        if not terms:
            return []
        if not self.fts:
            return _scan(self.items(session_id), terms, limit)
        # each term an FTS5 string: a word holds no '"', so punctuation, quotes and
        # operators in the query (AND, NOT, NEAR, *, ^, :) are never syntax
        match = " OR ".join(f'"{t}"' for t in terms)
        with self._lock:
            rows = self._db.execute(
                "SELECT a.session_id, a.item_id, a.kind, a.text, a.created_at, a.summary_id,"
                " a.compaction_id, a.rowid FROM archived_fts f JOIN archived_items a ON a.rowid = f.rowid"
                " WHERE archived_fts MATCH ? AND a.session_id = ?"
                " ORDER BY bm25(archived_fts), a.rowid LIMIT ?",
                (match, session_id, limit),
            ).fetchall()
            positions = self._positions(session_id)
        return [_archived(r[:7], positions[r[7]]) for r in rows]

    def _positions(self, session_id: str) -> dict[int, int]:
        ids = self._db.execute(
            "SELECT rowid FROM archived_items WHERE session_id = ? ORDER BY rowid", (session_id,)
        ).fetchall()
        return {rowid: n for n, (rowid,) in enumerate(ids)}

    def items(self, session_id: str) -> list[ArchivedItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT session_id, item_id, kind, text, created_at, summary_id, compaction_id"
                " FROM archived_items"
                " WHERE session_id = ? ORDER BY rowid",
                (session_id,),
            ).fetchall()
        return [_archived(r, n) for n, r in enumerate(rows)]

    def compactions(self, session_id: str) -> list[Compaction]:
        with self._lock:
            texts = dict(
                self._db.execute(
                    "SELECT compaction_id, text FROM summaries WHERE session_id = ?", (session_id,)
                ).fetchall()
            )
        return _group(self.items(session_id), texts)

    def forget(self, session_id: str, item_ids: Collection[str], quotes: Sequence[str]) -> int:
        """Remove the items (and their search index entries); blank each of ``quotes`` in
        the stored summaries. Returns how many items were removed."""
        removed = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for item_id in item_ids:
                    row = self._db.execute(
                        "SELECT rowid, text FROM archived_items WHERE session_id = ? AND item_id = ?",
                        (session_id, item_id),
                    ).fetchone()
                    if row is None:
                        continue
                    if self.fts:
                        self._db.execute(
                            "INSERT INTO archived_fts (archived_fts, rowid, text)"
                            " VALUES ('delete', ?, ?)",
                            row,
                        )
                    self._db.execute("DELETE FROM archived_items WHERE rowid = ?", (row[0],))
                    removed += 1
                summaries = self._db.execute(
                    "SELECT compaction_id, text FROM summaries WHERE session_id = ?", (session_id,)
                ).fetchall()
                for compaction_id, text in summaries:
                    self._db.execute(
                        "UPDATE summaries SET text = ? WHERE session_id = ? AND compaction_id = ?",
                        (redact(text, quotes), session_id, compaction_id),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return removed

    async def awrite(
        self,
        session_id: str,
        items: Sequence[llm.ChatItem],
        *,
        compaction_id: str,
        summary_id: str | None,
        summary_text: str | None = None,
    ) -> int:
        """``write`` in ctxmgr's archive thread: the event loop runs on meanwhile.

        Writes run one at a time, in the order they were asked for (one thread for
        every archive of the process).
        """

        def write() -> int:
            return self.write(
                session_id,
                items,
                compaction_id=compaction_id,
                summary_id=summary_id,
                summary_text=summary_text,
            )

        return await asyncio.get_running_loop().run_in_executor(_writer(), write)

    async def aclose(self) -> None:
        """``close`` in the archive thread, after the writes asked for before."""
        await asyncio.get_running_loop().run_in_executor(_writer(), self.close)

    def sessions(self) -> list[str]:
        """Session ids present in the database, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT session_id FROM archived_items GROUP BY session_id ORDER BY MIN(rowid)"
            ).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


class MemoryArchive(SQLiteArchive):
    """An archive in memory, for the life of the object (the default): a SQLite
    ``:memory:`` database, searched like ``SQLiteArchive`` (FTS5, BM25; a plain scan
    where SQLite lacks FTS5)."""

    def __init__(self) -> None:
        super().__init__(":memory:")

    def close(self) -> None:
        # the database goes with the object; until then it stays readable, so an audit
        # after ``ContextManager.aclose()`` (which closes the archive it made) still works
        pass


_WRITER: ThreadPoolExecutor | None = None
_WRITER_LOCK = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    """The one thread archive writes run in (made at the first write)."""
    global _WRITER
    with _WRITER_LOCK:
        if _WRITER is None:
            _WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ctxmgr-archive")
        return _WRITER


def _forget_writer() -> None:
    # a forked child (a process pool's worker) has none of its parent's threads: an
    # executor inherited from it would take writes and never run them
    global _WRITER, _WRITER_LOCK
    _WRITER, _WRITER_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_writer)


def _create_fts(db: sqlite3.Connection) -> bool:
    try:
        db.execute(_FTS_SQL)
    except sqlite3.OperationalError:
        logger.warning("SQLite has no FTS5: the archive is searched with a plain scan")
        return False
    return True


def _connect_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: SQLite neither creates the file nor writes it (a WAL database still
    # gets the -wal/-shm side files a reader needs)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    try:
        missing = [t for t in ("archived_items", "summaries") if not _has_table(db, t)]
    except sqlite3.DatabaseError:
        db.close()
        raise
    if missing:
        db.close()
        raise sqlite3.DatabaseError(f"not a ctxmgr archive (no {' or '.join(missing)} table)")
    return db


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


FORGOTTEN = "[forgotten]"
"""What ``forget`` puts where a summary quoted a forgotten item."""


def redact(text: str, quotes: Sequence[str]) -> str:
    """``text`` with each non-empty quote replaced by ``FORGOTTEN``."""
    for quote in sorted({q for q in quotes if q.strip()}, key=len, reverse=True):
        text = text.replace(quote, FORGOTTEN)
    return text


def _archived(row: Sequence[object], position: int) -> ArchivedItem:
    session_id, item_id, kind, text, created_at, summary_id, compaction_id = row
    return ArchivedItem(
        str(session_id), str(item_id), str(kind), str(text), float(created_at),  # type: ignore[arg-type]
        None if summary_id is None else str(summary_id), str(compaction_id), position,
    )


def _scan(rows: list[ArchivedItem], terms: list[str], limit: int) -> list[ArchivedItem]:
    scored = []
    for row in rows:
        words = _WORD.findall(row.text.lower())
        score = sum(words.count(t) for t in terms) / (1 + len(words)) ** 0.5
        if score > 0:
            scored.append((-score, row.position, row))
    return [row for *_, row in sorted(scored)[:limit]]


def _group(items: list[ArchivedItem], summary_texts: dict[str, str]) -> list[Compaction]:
    groups: dict[str, list[ArchivedItem]] = {}
    for row in items:
        groups.setdefault(row.compaction_id, []).append(row)
    return [
        Compaction(cid, rows[0].summary_id, tuple(rows), summary_texts.get(cid))
        for cid, rows in groups.items()
    ]


async def store(
    archive: Archive,
    session_id: str,
    items: Sequence[llm.ChatItem],
    *,
    compaction_id: str,
    summary_id: str | None,
    summary_text: str | None = None,
) -> int:
    """``archive.write``, off the event loop when the archive can (``awrite``)."""
    awrite = getattr(archive, "awrite", None)
    if awrite is None:
        return archive.write(
            session_id, items, compaction_id=compaction_id, summary_id=summary_id,
            summary_text=summary_text,
        )
    written: int = await awrite(
        session_id, items, compaction_id=compaction_id, summary_id=summary_id,
        summary_text=summary_text,
    )
    return written


async def close(archive: Archive) -> None:
    """``archive.close``, after the writes in flight when the archive can (``aclose``)."""
    aclose = getattr(archive, "aclose", None)
    if aclose is None:
        archive.close()
    else:
        await aclose()


def open_archive(path: str | None) -> Archive:
    """A SQLite archive at ``path``, or a memory archive when ``path`` is ``None``."""
    return SQLiteArchive(path) if path else MemoryArchive()
