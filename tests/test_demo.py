"""The `make demo` script runs offline and every preset keeps the context under its budget."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

DEMO = Path(__file__).resolve().parent.parent / "examples" / "token_budget.py"


def test_demo_compacts_under_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    module = runpy.run_path(str(DEMO))
    assert module["main"](["--turns", "40", "--max-tokens", "1500"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s*\d+\s+\d", line)]
    assert len(rows) == 40
    peak = max(int(v.rstrip("*")) for row in rows for v in row[1:])
    assert peak <= 1500
    for preset in ("trim", "summarize", "token-budget", "realtime"):
        m = re.search(rf"^{preset}: (\d+) compactions", out, re.M)
        assert m and int(m.group(1)) >= 1
