"""Course records from a CSV upload (history that predates the sync: prior schools, transfer credit).

Pure: no I/O. :func:`parse` turns the bytes into :class:`CsvRow` values or raises
:class:`CourseCsvInvalid` naming every problem by line and column. The roster service resolves the
learners and courses the rows name and writes them all or none.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from service.errors import FieldError, ValidationFailedError
from service.roster.schemas import CourseRecordCreate

#: Bytes per upload and rows per upload; more is refused before anything is read.
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5_000
#: Problems listed in one answer (the rest are counted).
MAX_ERRORS = 100

LEARNER_COLUMNS = ("learner_id", "learner_sourced_id")
RECORD_COLUMNS = (
    "course_title",
    "course_code",
    "subject",
    "term_title",
    "school_year",
    "school_name",
    "grade",
    "grade_numeric",
    "grade_scale",
    "credits_attempted",
    "credits_earned",
    "status",
    "completed_on",
)
COLUMNS = (*LEARNER_COLUMNS, "course_sourced_id", *RECORD_COLUMNS, "source_ref")


class CourseCsvInvalid(ValidationFailedError):
    code = "invalid_csv"


@dataclass(frozen=True)
class CsvRow:
    line: int
    learner_id: uuid.UUID | None
    learner_sourced_id: str | None
    course_sourced_id: str | None
    source_ref: str | None
    values: dict[str, Any]


def loc(line: int, column: str) -> str:
    return f"body.line[{line}].{column}"


class Problems:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.count = 0

    def add(self, line: int, column: str, message: str, kind: str = "invalid") -> None:
        self.count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(FieldError(loc(line, column), message, kind))

    def raise_if_any(self) -> None:
        if self.count:
            more = f" (the first {MAX_ERRORS} are listed)" if self.count > MAX_ERRORS else ""
            plural = "s" if self.count != 1 else ""
            raise CourseCsvInvalid(
                f"the CSV has {self.count} problem{plural}{more}; nothing was imported",
                self.errors,
            )


def _header_error(message: str, kind: str = "invalid") -> CourseCsvInvalid:
    return CourseCsvInvalid(message, [FieldError(loc(1, "header"), message, kind)])


def parse(raw: bytes) -> list[CsvRow]:
    """Every row of the upload, validated; raises :class:`CourseCsvInvalid` with all problems found."""
    if len(raw) > MAX_BYTES:
        raise _header_error(f"the CSV is larger than {MAX_BYTES} bytes", "too_large")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _header_error(f"the CSV is not UTF-8 (byte {exc.start})", "encoding") from None
    if "\x00" in text:
        raise _header_error("the CSV contains the NUL character", "encoding")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise _header_error("the CSV is empty", "missing") from None
    except csv.Error as exc:
        raise _header_error(f"the header is not valid CSV: {exc}") from None
    names = [h.strip() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise _header_error(f"unknown columns: {', '.join(unknown[:10])}; known: {', '.join(COLUMNS)}")
    if len(set(names)) != len(names):
        raise _header_error("a column appears twice")
    missing = [n for n in ("school_year", "grade") if n not in names]
    if not any(n in names for n in LEARNER_COLUMNS):
        missing.insert(0, "learner_id or learner_sourced_id")
    if missing:
        raise _header_error(f"missing columns: {', '.join(missing)}", "missing")
    problems = Problems()
    rows: list[CsvRow] = []
    seen_refs: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise _header_error(f"at most {MAX_ROWS} rows per upload", "too_long")
            if len(cells) != len(names):
                problems.add(line, "row", f"{len(cells)} cells where the header has {len(names)}")
                continue
            row = parse_row(line, dict(zip(names, (c.strip() for c in cells), strict=True)), problems)
            if row is None:
                continue
            if row.source_ref is not None:
                if row.source_ref in seen_refs:
                    problems.add(line, "source_ref", f"repeats line {seen_refs[row.source_ref]}", "duplicate")
                    continue
                seen_refs[row.source_ref] = line
            rows.append(row)
    except csv.Error as exc:
        problems.add(reader.line_num, "row", f"not valid CSV: {exc}")
    problems.raise_if_any()
    if not rows:
        raise _header_error("the CSV has no rows", "missing")
    return rows


def parse_row(line: int, cells: dict[str, str], problems: Problems) -> CsvRow | None:
    before = problems.count
    learner_id: uuid.UUID | None = None
    learner_sid = cells.get("learner_sourced_id") or None
    if cells.get("learner_id"):
        try:
            learner_id = uuid.UUID(cells["learner_id"])
        except ValueError:
            problems.add(line, "learner_id", "not a UUID")
    elif learner_sid is None:
        problems.add(line, "learner_sourced_id", "give learner_id or learner_sourced_id", "missing")
    for column in ("learner_sourced_id", "course_sourced_id", "source_ref"):
        if len(cells.get(column) or "") > 255:
            problems.add(line, column, "longer than 255 characters", "too_long")
    course_sid = cells.get("course_sourced_id") or None
    values: dict[str, Any] = {k: v for k, v in cells.items() if k in RECORD_COLUMNS and v != ""}
    if "course_title" not in values and course_sid is None:
        problems.add(line, "course_title", "required without course_sourced_id", "missing")
    try:
        # Checked here so that every field problem is named by its column; course_title is filled in
        # from the course when a course_sourced_id names one.
        CourseRecordCreate.model_validate({"course_title": "-", **values})
    except ValidationError as exc:
        for err in exc.errors():
            column = str(err["loc"][0]) if err["loc"] else "row"
            problems.add(line, column, err["msg"], err["type"])
    if problems.count > before:
        return None
    return CsvRow(line, learner_id, learner_sid, course_sid, cells.get("source_ref") or None, values)
