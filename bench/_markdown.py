"""Bench sections and their Markdown: a table per measurement, targets checked honestly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    """A stated target and what this run measured against it."""

    name: str
    """What is measured, e.g. "plan+guard at 10,000 items"."""
    goal: str
    """The target as stated, e.g. "< 5 ms"."""
    measured: str
    """The figure this run got, formatted."""
    met: bool | None
    """``None`` when the bench could not decide (e.g. a figure was not measured)."""


@dataclass
class Section:
    """One measurement: a heading, a table, notes, and the targets it checks."""

    title: str
    intro: str
    header: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    extra_tables: list[tuple[str, Sequence[str], list[Sequence[str]]]] = field(default_factory=list)
    """``(caption, header, rows)`` of further tables under the main one."""

    def markdown(self) -> str:
        """The section as Markdown."""
        parts = [f"## {self.title}", "", self.intro, "", table(self.header, self.rows)]
        for caption, header, rows in self.extra_tables:
            parts += ["", caption, "", table(header, rows)]
        if self.notes:
            parts += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(parts)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; numeric-looking columns are right-aligned."""
    def numeric(col: int) -> bool:
        cells = [r[col] for r in rows if col < len(r) and r[col]]
        return bool(cells) and all(c[0].isdigit() or c[0] in "+-<~" for c in cells)

    align = ["---:" if numeric(i) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def targets_table(sections: Sequence[Section]) -> str:
    """Every target of every section, with the verdict."""
    rows = []
    for section in sections:
        for t in section.targets:
            verdict = "met" if t.met else "**MISSED**" if t.met is False else "n/a"
            rows.append((t.name, t.goal, t.measured, verdict))
    return table(("target", "goal", "measured", "verdict"), rows)
