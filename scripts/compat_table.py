"""Measure the sandbox through Meta's official SDK and print the README's compatibility table.

For each object type in ``sdk_fields.json`` and each live version, this runs the reads of
``tests/compat/test_sdk_objects.py`` (every SDK field in one ``api_get``, every ``get_<edge>()``
with its first page) against a fresh sandbox over loopback, and prints per type: the SDK's
fields, those the sandbox returned with a value, the SDK's edges, those that answered (and
those with rows), and per version the checks that passed (the field read and one per edge).

    .venv/bin/python scripts/compat_table.py            # print the table
    .venv/bin/python scripts/compat_table.py --write    # put it in README.md
    .venv/bin/python scripts/compat_table.py --check    # exit 1 if README.md's is out of date
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.compat.test_official_sdk import Harness  # noqa: E402
from tests.compat.test_sdk_objects import (  # noqa: E402
    SDK_OBJECTS,
    Instances,
    NoInstanceError,
    Result,
    live_versions,
    measure,
)

from meta_agent.sandbox import SandboxConfig  # noqa: E402

README = ROOT / "README.md"
START = "<!-- compat-table:start -->"
END = "<!-- compat-table:end -->"
COMMAND = ".venv/bin/python scripts/compat_table.py"


@dataclass
class Row:
    """One object type: its results per version, or why the sandbox has no instance."""

    name: str
    results: dict[str, Result]
    missing: str | None = None


def run(versions: list[str]) -> list[Row]:
    """Every type on every version, against one fresh sandbox."""
    rows = []
    with (
        tempfile.TemporaryDirectory() as workdir,
        Harness(SandboxConfig(video_processing_seconds=5)) as harness,
    ):
        instances = Instances(harness, Path(workdir))
        for name in sorted(SDK_OBJECTS):
            row = Row(name, {})
            for version in versions:
                try:
                    row.results[version] = measure(instances, name, version)
                except NoInstanceError as missing:
                    row.missing = str(missing)
                    break
            rows.append(row)
    return rows


def render(rows: list[Row], versions: list[str]) -> str:
    """The Markdown table, a totals line and the types skipped, with their reasons."""
    header = [
        "Object type",
        "SDK fields",
        "served with a value",
        "SDK edges",
        "edges answered",
        "edges with rows",
        *versions,
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    totals = {version: [0, 0] for version in versions}
    for row in rows:
        entry = SDK_OBJECTS[row.name]
        fields, edges = len(entry["fields"]), len(entry["edges"])
        if row.missing is not None:
            cells = [row.name, str(fields), "n/a", str(edges), "n/a", "n/a"]
            cells += ["skipped"] * len(versions)
        else:
            newest = row.results[versions[-1]]
            cells = [
                row.name,
                str(fields),
                str(len(newest.served)),
                str(edges),
                str(len(newest.answered)),
                str(len(newest.with_rows)),
            ]
            for version in versions:
                passed, total = row.results[version].checks()
                totals[version][0] += passed
                totals[version][1] += total
                cells.append(f"{passed}/{total}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    figures = ", ".join(f"{v} {totals[v][0]}/{totals[v][1]}" for v in versions)
    skipped = [f"- {row.name}: {row.missing}" for row in rows if row.missing is not None]
    lines.append(
        f"Checks passed (one read of every SDK field, plus one per edge): {figures}; "
        f"{len(rows) - len(skipped)} of {len(rows)} types measured"
        + (". Skipped, with the suite's reasons:" if skipped else ".")
    )
    if skipped:
        lines += ["", *skipped]
    return "\n".join(lines) + "\n"


def with_table(readme: str, table: str) -> str:
    """README text with the table between its markers replaced."""
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: list[str]) -> int:
    """Print the table, or write it into README.md, or check README.md's copy."""
    versions = live_versions()
    table = render(run(versions), versions)
    if "--write" in argv or "--check" in argv:
        readme = README.read_text()
        updated = with_table(readme, table)
        if "--check" in argv:
            if updated != readme:
                sys.stderr.write(
                    f"README.md's compatibility table is out of date; run: {COMMAND} --write\n"
                )
                return 1
            return 0
        README.write_text(updated)
        sys.stdout.write("wrote the compatibility table to README.md\n")
        return 0
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
