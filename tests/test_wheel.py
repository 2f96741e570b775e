"""The wheel ships the presets: an installed ctxmgr finds them outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_installed_wheel_lists_and_loads_presets(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("livekit_ctxmgr-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ctxmgr/policies/summarize.toml" in names and "ctxmgr/py.typed" in names
    # the name on the index is free (``ctxmgr`` there is another project); livekit capped
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    headers = zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
    assert "Name: livekit-ctxmgr" in headers
    assert "Requires-Dist: livekit-agents<1.9,>=1.8" in headers

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import ctxmgr, json; "
        "print(json.dumps([ctxmgr.__file__, ctxmgr.available_presets(),"
        " ctxmgr.load_preset('summarize')['strategy']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    import json

    file, presets, strategy = json.loads(out)
    assert file.startswith(str(target))
    assert set(presets) >= {"trim", "summarize", "token-budget", "realtime"}
    assert strategy == "summarize"
