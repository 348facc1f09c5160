"""Reports written to files: one CSV or Parquet file per table, the HTML page, the JSON.

Parquet is an optional extra (``pip install 'meta-agent[parquet]'``, which brings
pyarrow): asking for it without pyarrow is a usage error that says how to install it.
Parquet files carry the report's provenance in their key-value metadata
(``meta_agent.source``: ``sandbox (synthetic)`` or ``meta``) as well as in the ``source``
column every table has.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from meta_agent.agents.reporting.accounts import AccountsReport
from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.agents.reporting.tables import (
    LIVE,
    SYNTHETIC,
    Table,
    accounts_tables,
    report_tables,
)
from meta_agent.errors import RequestValidationError

TableFormat = Literal["csv", "parquet"]
PARQUET_HINT = "Parquet needs pyarrow: pip install 'meta-agent[parquet]' (or use --format csv)"


def tables_of(report: MarketerReport | AccountsReport) -> list[Table]:
    """Every table of either kind of report."""
    if isinstance(report, AccountsReport):
        return accounts_tables(report)
    return report_tables(report)


def write_tables(tables: Sequence[Table], folder: Path, fmt: TableFormat) -> list[Path]:
    """One file per table in ``folder`` (created if missing), named after the table.

    Raises:
        RequestValidationError: Parquet without pyarrow, or the folder cannot be written.
    """
    writer = _write_parquet if fmt == "parquet" else _write_csv
    if fmt == "parquet":
        _pyarrow()
    _folder(folder)
    return [writer(table, folder / f"{table.name}.{fmt}") for table in tables]


def _folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RequestValidationError(f"--out {folder}: {error.strerror}", field="out") from None


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _write_csv(table: Table, path: Path) -> Path:
    with _atomic(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=table.columns, lineterminator="\n")
        writer.writeheader()
        for row in table.rows:
            writer.writerow({name: _cell(row.get(name)) for name in table.columns})
    return path


def _pyarrow() -> Any:
    try:
        return importlib.import_module("pyarrow.parquet"), importlib.import_module("pyarrow")
    except ImportError:
        raise RequestValidationError(PARQUET_HINT, field="format") from None


def _write_parquet(table: Table, path: Path) -> Path:
    parquet, arrow = _pyarrow()
    columns = {name: [_plain(row.get(name)) for row in table.rows] for name in table.columns}
    source = table.rows[0]["source"] if table.rows else ""
    built = arrow.table(
        {name: arrow.array(values, type=_type(arrow, values)) for name, values in columns.items()}
    ).replace_schema_metadata({"meta_agent.source": source, "meta_agent.table": table.name})
    tmp = path.with_suffix(".parquet.tmp")
    parquet.write_table(built, tmp)
    os.replace(tmp, path)
    return path


def _plain(value: Any) -> Any:
    """Dates as ISO text; everything else as it is (Decimals stay exact)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _type(arrow: Any, values: list[Any]) -> Any:
    """A column's Arrow type: exact decimals keep their scale; a column of None is text."""
    present = [v for v in values if v is not None]
    if not present:
        return arrow.string()
    if all(isinstance(v, Decimal) for v in present):
        scale = max(-int(v.as_tuple().exponent) for v in present)
        return arrow.decimal128(38, max(0, scale))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return arrow.int64()
    return arrow.string()


class _atomic:  # noqa: N801 (a context manager read as a verb)
    """Write to ``path.tmp`` and move it into place, so a reader never sees half a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_suffix(path.suffix + ".tmp")

    def __enter__(self) -> Any:
        self.handle = self.tmp.open("w", encoding="utf-8", newline="")
        return self.handle

    def __exit__(self, kind: object, *_: object) -> None:
        self.handle.close()
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    """``text`` into ``path`` atomically.

    Raises:
        RequestValidationError: the file cannot be written (names ``out``).
    """
    try:
        with _atomic(path) as handle:
            handle.write(text)
    except OSError as error:
        raise RequestValidationError(f"--out {path}: {error.strerror}", field="out") from None
    return path


def report_json(report: MarketerReport | AccountsReport) -> str:
    """The report as indented JSON."""
    return json.dumps(report.model_dump(mode="json"), indent=2) + "\n"


def source_of(report: MarketerReport | AccountsReport) -> str:
    """``sandbox (synthetic)`` or ``meta``."""
    return SYNTHETIC if report.synthetic else LIVE
