"""The seconds each test file took, from a run's JUnit XML: ``tests/file_seconds.json``.

`make test` runs files in three workers, one whole file at a time (``--dist loadfile``). Whichever
files are left last decide when the run ends, so tests/conftest.py hands the longest files out
first. Refresh the table after a change that makes a file much longer or shorter::

    .venv/bin/pytest -q -n 2 --dist loadfile --junitxml=/tmp/junit.xml
    .venv/bin/python -m tests.support.file_seconds /tmp/junit.xml

A file missing from the table only runs later than it might; nothing else depends on it.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "file_seconds.json"


def load() -> dict[str, float]:
    """File path (as in a test's node id) to seconds; empty when there is no table."""
    if not TABLE.exists():
        return {}
    return {str(k): float(v) for k, v in json.loads(TABLE.read_text()).items()}


def from_junit(xml_path: Path) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        # classname: "tests.e2e.test_faults", or with a test class after the module
        parts = (case.get("classname") or "").split(".")
        while parts and not parts[-1].startswith("test_"):
            parts.pop()
        if parts:
            totals["/".join(parts) + ".py"] += float(case.get("time") or 0.0)
    return {name: round(seconds, 1) for name, seconds in sorted(totals.items())}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.support.file_seconds JUNIT.xml", file=sys.stderr)
        return 2
    TABLE.write_text(json.dumps(from_junit(Path(argv[0])), indent=0) + "\n")
    print(f"wrote {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
