"""OneRoster 1.1 / 1.2 CSV bundles: a zip with manifest.csv and one file per collection.

Rows are turned into the same dicts the REST API returns and written by the sync's own
:class:`~service.adapters.oneroster.sync.PageWriter`, so a CSV import maps, validates and deactivates
exactly like a sync: ``bulk`` files replace their collection (rows no longer listed are deactivated, the
learner guard applies), ``delta`` files change what they list, ``absent`` ones are skipped. Every problem
names its file, line and column; problems that do not stop a row (an unknown column, an extra cell, a
date that is not ISO 8601 in a column the service does not use) are warnings.

The upload is bounded (``oneroster.max_csv_bytes``) and so is what it unpacks to
(``oneroster.max_csv_uncompressed_bytes``, checked against the declared sizes first and the bytes
actually read second, so a lying header cannot inflate past it). Files are parsed as streams straight
out of the archive (never unpacked whole), so memory does not grow with the bundle.

An upload is all or nothing: the whole import runs in one savepoint, and anything that makes the
bundle unusable (a corrupt archive, a file that is not UTF-8 or not CSV, a required column missing, the
deactivation guard) undoes everything written and answers 4xx naming the file, line and column. So does
a single row that cannot be written (a value that does not map, a reference to a record the bundle and
the district do not have, a duplicate enrollment, a result refused as evidence): the 422 lists every such
row by file, line and column (at most ``MAX_ROW_ERRORS``). A parent or an org membership that cannot be
linked leaves its row written and is reported (``KEPT_ROW_KINDS``).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster.errors import InvalidBundle
from service.adapters.oneroster.models import OneRosterConnection
from service.adapters.oneroster.repository import ConnectionRepository, SyncRepository
from service.adapters.oneroster.service import secret_context
from service.adapters.oneroster.sync import (
    ORDER,
    PARENTED,
    GuardRefused,
    PageWriter,
    SyncState,
    check_guards,
    deactivate_collection,
    link_parents,
    refusal_message,
)
from service.config import Settings
from service.crypto import secret_box
from service.errors import FieldError

CSV_CONNECTION_NAME = "CSV uploads"
CSV_BASE_URL = "csv:upload"
BATCH = 1000
MAX_ROWS_PER_FILE = 2_000_000
MAX_ISSUES = 1000
#: Rows that cannot be written refuse the upload; at most this many are listed in the 422.
MAX_ROW_ERRORS = 100
#: Problems that leave their row written (a link left out): reported, they do not refuse the upload.
KEPT_ROW_KINDS = frozenset({"unknown_parent", "unknown_org"})
#: Compression ratio beyond which a member is treated as a zip bomb.
MAX_RATIO = 200
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$")

#: The columns each file may have (1.1 and 1.2 together); others are reported as warnings.
COLUMNS: dict[str, set[str]] = {
    "orgs": {"sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"},
    "academicSessions": {
        "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
        "parentSourcedId", "schoolYear",
    },
    "courses": {
        "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades",
        "orgSourcedId", "subjects", "subjectCodes",
    },
    "users": {
        "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
        "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
        "agentSourcedIds", "grades", "password", "userMasterIdentifier", "preferredGivenName",
        "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns",
    },
    "roles": {
        "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate",
        "endDate", "orgSourcedId", "userProfileSourcedId",
    },
    "classes": {
        "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
        "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods",
    },
    "enrollments": {
        "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
        "role", "primary", "beginDate", "endDate",
    },
    "categories": {"sourcedId", "status", "dateLastModified", "title", "weight"},
    "lineItems": {
        "sourcedId", "status", "dateLastModified", "title", "description", "assignDate", "dueDate",
        "classSourcedId", "categorySourcedId", "gradingPeriodSourcedId", "resultValueMin", "resultValueMax",
        "schoolSourcedId", "academicSessionSourcedId",
    },
    "results": {
        "sourcedId", "status", "dateLastModified", "lineItemSourcedId", "studentSourcedId", "scoreStatus",
        "score", "scoreDate", "comment", "classSourcedId",
    },
}  # fmt: skip
#: Columns a file cannot do without: missing, every row would fail (or, for sourcedId, a bulk file
#: would look like "everything was deleted"), so the upload is refused naming the column.
REQUIRED: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "name", "type"),
    "academicSessions": ("sourcedId", "title", "type", "startDate", "endDate"),
    "courses": ("sourcedId", "title"),
    "users": ("sourcedId", "givenName", "familyName"),
    "roles": ("userSourcedId", "role"),
    "classes": ("sourcedId", "title", "schoolSourcedId"),
    "enrollments": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
    "categories": ("sourcedId", "title"),
    "lineItems": ("sourcedId", "title"),
    "results": ("sourcedId", "lineItemSourcedId", "studentSourcedId"),
}
DATE_COLUMNS = {"dateLastModified", "startDate", "endDate", "beginDate", "assignDate", "dueDate", "scoreDate"}
#: A mapping problem's field -> the CSV column it came from.
FIELD_COLUMNS: dict[str, dict[str, str]] = {
    "orgs": {"parent": "parentSourcedId"},
    "academicSessions": {"parent": "parentSourcedId"},
    "courses": {"org": "orgSourcedId", "org_id": "orgSourcedId"},
    "users": {"roles": "role", "roles.role": "role", "preferredFirstName": "preferredGivenName"},
    "classes": {
        "school": "schoolSourcedId",
        "school_id": "schoolSourcedId",
        "academic_session_id": "termSourcedIds",
        "terms": "termSourcedIds",
    },
    "enrollments": {
        "user": "userSourcedId",
        "person_id": "userSourcedId",
        "class": "classSourcedId",
        "class_id": "classSourcedId",
    },
    "lineItems": {
        "class_id": "classSourcedId",
        "category_id": "categorySourcedId",
        "academic_session_id": "gradingPeriodSourcedId",
    },
    "results": {
        "lineItem": "lineItemSourcedId",
        "line_item_id": "lineItemSourcedId",
        "student": "studentSourcedId",
        "learner_id": "studentSourcedId",
    },
}


@dataclass(frozen=True)
class CsvFieldError(FieldError):
    """A problem located in a file of the bundle."""

    file: str | None = None
    line: int | None = None
    column: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "file": self.file, "line": self.line, "column": self.column}


@dataclass
class Bundle:
    version: str
    modes: dict[str, str]
    archive: zipfile.ZipFile
    members: dict[str, zipfile.ZipInfo]
    max_uncompressed: int
    unpacked: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, file: str, line: int | None, column: str | None, message: str) -> None:
        if len(self.warnings) < MAX_ISSUES:
            self.warnings.append({"file": file, "line": line, "column": column, "message": message})

    def has(self, name: str) -> bool:
        return name.lower() in self.members


def _bundle_error(
    message: str, *, file: str | None = None, line: int | None = None, column: str | None = None
) -> InvalidBundle:
    return InvalidBundle(
        message, [CsvFieldError("body.file", message, "invalid_bundle", file=file, line=line, column=column)]
    )


class _Metered(io.RawIOBase):
    """A member of the archive read as a stream, counting what it unpacks against the bundle's limit."""

    def __init__(self, raw: IO[bytes], bundle: Bundle, name: str) -> None:
        self.raw, self.bundle, self.name = raw, bundle, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        self.bundle.unpacked += len(data)
        if self.bundle.unpacked > self.bundle.max_uncompressed:
            raise _bundle_error(
                f"the archive unpacks to more than the {self.bundle.max_uncompressed} bytes allowed",
                file=self.name,
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_bundle(source: IO[bytes] | bytes, *, max_uncompressed: int) -> Bundle:
    """Open and check a bundle: zip structure, declared sizes, manifest. Files are read later, as
    streams (:func:`_rows`)."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _bundle_error(f"the upload is not a zip archive: {exc}") from exc
    members = [i for i in archive.infolist() if not i.is_dir()]
    if len(members) > 100:
        raise _bundle_error(f"the archive holds {len(members)} files; a OneRoster bundle has at most 100")
    declared = sum(i.file_size for i in members)
    if declared > max_uncompressed:
        raise _bundle_error(
            f"the archive unpacks to {declared} bytes, more than the {max_uncompressed} allowed"
        )
    csvs: dict[str, zipfile.ZipInfo] = {}
    for info in members:
        name = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
        if not name.lower().endswith(".csv"):
            continue
        if (
            info.compress_size
            and info.file_size > 1024 * 1024
            and info.file_size / info.compress_size > MAX_RATIO
        ):
            raise _bundle_error(
                f"{name} is compressed more than {MAX_RATIO}:1; refusing a likely zip bomb", file=name
            )
        csvs[name.lower()] = info
    if "manifest.csv" not in csvs:
        raise _bundle_error("the archive has no manifest.csv")
    bundle = Bundle(version="1.1", modes={}, archive=archive, members=csvs, max_uncompressed=max_uncompressed)
    for line, row in _rows(bundle, "manifest.csv", manifest=True):
        key, value = row.get("propertyName", "").strip(), row.get("value", "").strip()
        if key == "oneroster.version":
            if value not in ("1.0", "1.1", "1.2"):
                raise _bundle_error(
                    f"manifest.csv line {line}: oneroster.version '{value}' is not 1.0, 1.1 or 1.2",
                    file="manifest.csv",
                    line=line,
                    column="value",
                )
            bundle.version = "1.2" if value == "1.2" else "1.1"
        elif key.startswith("file."):
            mode = value.lower()
            name = key.removeprefix("file.")
            if mode not in ("bulk", "delta", "absent"):
                bundle.warn(
                    "manifest.csv", line, "value", f"{key} is '{value}', not bulk, delta or absent: skipped"
                )
                mode = "absent"
            bundle.modes[name.lower()] = mode
    for collection in (*ORDER, "roles"):
        mode = bundle.modes.get(collection.lower(), "absent")
        if mode != "absent" and not bundle.has(f"{collection}.csv"):
            raise _bundle_error(
                f"manifest.csv lists {collection} as {mode} but {collection}.csv is missing",
                file=f"{collection}.csv",
            )
    return bundle


def _required(bundle: Bundle, collection: str) -> tuple[str, ...]:
    required = REQUIRED.get(collection, ("sourcedId",))
    if collection == "users" and bundle.version != "1.2":
        required = (*required, "role")  # 1.2 bundles carry roles in roles.csv
    return required


def check_headers(bundle: Bundle) -> None:
    """Refuse, before anything is written, a file that lacks a column it cannot do without."""
    for collection in (*ORDER, "roles"):
        name = f"{collection}.csv"
        if bundle.modes.get(collection.lower(), "absent") == "absent" or not bundle.has(name):
            continue
        header = _header_only(bundle, name)
        if header is None:
            continue
        missing = [c for c in _required(bundle, collection) if c not in header]
        if missing:
            errors: list[FieldError] = [
                CsvFieldError(
                    "body.file",
                    f"{name} line 1: the required column {c} is missing",
                    "missing_column",
                    file=name,
                    line=1,
                    column=c,
                )
                for c in missing
            ]
            raise InvalidBundle(
                f"{name} lacks the required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                "nothing was imported",
                errors,
            )


def _header_only(bundle: Bundle, name: str) -> list[str] | None:
    with _open_text(bundle, name) as text:
        try:
            return [h.strip() for h in next(csv.reader(text))]
        except StopIteration:
            return None
        except (csv.Error, UnicodeDecodeError, zlib.error, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise _unreadable(name, 1, exc) from exc


def _open_text(bundle: Bundle, name: str) -> io.TextIOWrapper:
    info = bundle.members[name.lower()]
    try:
        raw = bundle.archive.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, zlib.error) as exc:
        raise _bundle_error(f"{name} cannot be read: {exc}", file=name) from exc
    return io.TextIOWrapper(
        io.BufferedReader(_Metered(raw, bundle, name), 64 * 1024), encoding="utf-8-sig", newline=""
    )


def _unreadable(name: str, line: int | None, exc: BaseException) -> InvalidBundle:
    if isinstance(exc, InvalidBundle):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        reason = f"is not UTF-8: {exc.reason}"
    elif isinstance(exc, csv.Error):
        reason = f"is not valid CSV: {exc}"
    else:
        reason = f"cannot be unpacked (corrupt archive): {exc}"
    where = f" line {line}" if line is not None else ""
    return _bundle_error(f"{name}{where} {reason}", file=name, line=line)


def _rows(bundle: Bundle, name: str, *, manifest: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file read as a stream; header problems and ragged rows become
    warnings; an unreadable file (corrupt data, not UTF-8, broken quoting) is a 422 naming the line."""
    with _open_text(bundle, name) as text:
        reader = csv.reader(text)
        line = 1
        try:
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                return
            collection = name.removesuffix(".csv")
            known = COLUMNS.get(next((c for c in COLUMNS if c.lower() == collection.lower()), ""), set())
            if not manifest:
                for index, column in enumerate(header):
                    if not column:
                        bundle.warn(name, 1, f"#{index + 1}", "empty column name: the column is ignored")
                    elif known and column not in known:
                        bundle.warn(name, 1, column, "unknown column: ignored")
            count = 0
            while True:
                line = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                count += 1
                if count > MAX_ROWS_PER_FILE:
                    raise _bundle_error(f"{name} has more than {MAX_ROWS_PER_FILE} rows", file=name)
                if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                    bundle.warn(
                        name,
                        line,
                        None,
                        f"{len(cells)} cells where the header has {len(header)}: the extra ones are ignored",
                    )
                row = {h: c.strip() for h, c in zip(header, cells, strict=False) if h}
                if not manifest:
                    for column in DATE_COLUMNS & row.keys():
                        if row[column] and not _ISO.match(row[column]):
                            bundle.warn(name, line, column, f"'{row[column]}' is not an ISO 8601 date")
                            if column == "dateLastModified":
                                row[column] = ""
                yield line, row
        except (csv.Error, UnicodeDecodeError, zlib.error, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise _unreadable(name, line, exc) from exc


def _ref(value: str | None) -> dict[str, str] | None:
    return {"sourcedId": value} if value else None


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def to_record(collection: str, row: dict[str, str], roles: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A CSV row as the REST API would send the record."""
    out: dict[str, Any] = {k: v for k, v in row.items() if v != ""}
    out["status"] = row.get("status") or "active"
    if collection in ("orgs", "academicSessions"):
        out["parent"] = _ref(out.pop("parentSourcedId", None))
    elif collection == "courses":
        out["org"] = _ref(out.pop("orgSourcedId", None))
        out["grades"] = _list(out.get("grades"))
        out["subjects"] = _list(out.get("subjects"))
    elif collection == "users":
        out["orgs"] = [{"sourcedId": s} for s in _list(out.pop("orgSourcedIds", None))]
        out["grades"] = _list(out.get("grades"))
        if "preferredGivenName" in out:
            out["preferredFirstName"] = out.pop("preferredGivenName")
        out["primaryOrg"] = _ref(out.pop("primaryOrgSourcedId", None))
        out["roles"] = roles.get(row.get("sourcedId", ""), [])
    elif collection == "classes":
        out["course"] = _ref(out.pop("courseSourcedId", None))
        out["school"] = _ref(out.pop("schoolSourcedId", None))
        out["terms"] = [{"sourcedId": s} for s in _list(out.pop("termSourcedIds", None))]
        out["grades"] = _list(out.get("grades"))
        out["subjects"] = _list(out.get("subjects"))
    elif collection == "enrollments":
        out["class"] = _ref(out.pop("classSourcedId", None))
        out["user"] = _ref(out.pop("userSourcedId", None))
        out["school"] = _ref(out.pop("schoolSourcedId", None))
    elif collection == "lineItems":
        out["class"] = _ref(out.pop("classSourcedId", None))
        out["category"] = _ref(out.pop("categorySourcedId", None))
        out["gradingPeriod"] = _ref(
            out.pop("gradingPeriodSourcedId", None) or out.pop("academicSessionSourcedId", None)
        )
    elif collection == "results":
        out["lineItem"] = _ref(out.pop("lineItemSourcedId", None))
        out["student"] = _ref(out.pop("studentSourcedId", None))
    return out


def _roles(bundle: Bundle) -> dict[str, list[dict[str, Any]]]:
    """1.2 roles.csv grouped by user: the users' ``roles[]``."""
    out: dict[str, list[dict[str, Any]]] = {}
    if bundle.modes.get("roles", "absent") == "absent" or not bundle.has("roles.csv"):
        return out
    for line, row in _rows(bundle, "roles.csv"):
        user, role = row.get("userSourcedId"), row.get("role")
        if not user or not role:
            bundle.warn(
                "roles.csv", line, "userSourcedId" if not user else "role", "empty: the role is ignored"
            )
            continue
        if (row.get("status") or "active").lower() == "tobedeleted":
            continue
        out.setdefault(user, []).append(
            {"roleType": row.get("roleType") or "primary", "role": role, "org": _ref(row.get("orgSourcedId"))}
        )
    return out


async def csv_connection(
    session: AsyncSession, tenant_id: uuid.UUID, settings: Settings, version: str
) -> uuid.UUID:
    """The tenant's pseudo-connection for uploads: its record index lets a bulk file deactivate what an
    earlier upload listed and this one does not."""
    repo = ConnectionRepository(session, tenant_id)
    existing = await repo.by_base_url(CSV_BASE_URL)
    if existing is not None:
        if existing.version != version:
            existing.version = version
            await repo.add(existing)
        return existing.id
    connection_id = uuid.uuid4()
    connection = OneRosterConnection(
        id=connection_id,
        tenant_id=tenant_id,
        name=CSV_CONNECTION_NAME,
        base_url=CSV_BASE_URL,
        version=version,
        token_url=CSV_BASE_URL,
        client_id="csv",
        client_secret_encrypted=secret_box(settings).encrypt("", context=secret_context(connection_id)),
        scopes=[],
    )
    await repo.add(connection)
    return connection_id


class _FileImport:
    """One CSV file through the sync's page writer, in batches, errors located by line and column.
    Lines are remembered per batch (what the writer reports on), and for the whole file only where
    problems surface after the last batch (parents of orgs and academic sessions)."""

    def __init__(
        self, collection: str, name: str, repo: SyncRepository, state: SyncState, run_id: uuid.UUID
    ) -> None:
        self.collection = collection
        self.name = name
        self.columns = FIELD_COLUMNS.get(collection, {})
        self.keep_lines = collection in PARENTED
        self.lines_by_sid: dict[str, int] = {}
        self.batch: list[dict[str, Any]] = []
        self.batch_lines: list[int] = []
        self.batch_sids: dict[str, int] = {}
        self.writer = PageWriter(repo, state, run_id, locate=self.locate, trust_modified=False)

    def locate(self, sid: str | None, position: int | None, fld: str) -> dict[str, Any]:
        line = (
            self.batch_lines[position] if position is not None and position < len(self.batch_lines) else None
        )
        if line is None and sid is not None:
            line = self.batch_sids.get(sid) or self.lines_by_sid.get(sid)
        return {"file": self.name, "line": line, "column": self.columns.get(fld, fld)}

    async def flush(self) -> None:
        if self.batch:
            await self.writer.write(self.collection, self.batch, where=self.name)
            self.batch.clear()
            self.batch_lines.clear()
            self.batch_sids.clear()

    async def run(self, bundle: Bundle, roles: dict[str, list[dict[str, Any]]]) -> None:
        for line, row in _rows(bundle, self.name):
            record = to_record(self.collection, row, roles)
            if record.get("sourcedId"):
                self.batch_sids[record["sourcedId"]] = line
                if self.keep_lines:
                    self.lines_by_sid[record["sourcedId"]] = line
            self.batch.append(record)
            self.batch_lines.append(line)
            if len(self.batch) >= BATCH:
                await self.flush()
        await self.flush()


def _refusing_count(state: SyncState) -> int:
    return sum(count for kind, count in state.errors.items() if kind not in KEPT_ROW_KINDS)


def _refuse_bad_rows(state: SyncState) -> None:
    """A row that could not be written (a value that does not map, a reference to nothing, a duplicate,
    a result refused as evidence) refuses the whole upload: raise :class:`InvalidBundle` listing every
    such row by file, line and column (at most :data:`MAX_ROW_ERRORS`). Problems that leave the row
    written (:data:`KEPT_ROW_KINDS`) stay in the report."""
    total = _refusing_count(state)
    if not total:
        return
    shown = [sample for sample in state.samples if sample.get("kind") not in KEPT_ROW_KINDS][:MAX_ROW_ERRORS]
    errors: list[FieldError] = [
        CsvFieldError(
            "body.file",
            str(sample.get("message") or sample.get("kind")),
            str(sample.get("kind")),
            file=sample.get("file") or sample.get("where"),
            line=sample.get("line"),
            column=sample.get("column") or sample.get("field"),
        )
        for sample in shown
    ]
    kinds = ", ".join(
        f"{kind} {count}" for kind, count in sorted(state.errors.items()) if kind not in KEPT_ROW_KINDS
    )
    first = errors[0] if errors else None
    where = ""
    if isinstance(first, CsvFieldError):
        where = f" (first: {first.file} line {first.line}, column {first.column}: {first.message})"
    more = f"; the first {len(errors)} are listed" if total > len(errors) else ""
    raise InvalidBundle(
        f"{total} row(s) cannot be imported ({kinds}), so nothing was written{where}{more}", errors
    )


async def import_bundle(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    settings: Settings,
    data: IO[bytes] | bytes,
    *,
    override: bool,
) -> dict[str, Any]:
    """Import a bundle, all or nothing, in a savepoint of the caller's transaction; the report lists
    every skipped row by file/line/column. Raises :class:`InvalidBundle` (nothing written) when the
    bundle is unusable and :class:`GuardRefused` when it would deactivate too much."""
    bundle = open_bundle(data, max_uncompressed=settings.oneroster.max_csv_uncompressed_bytes)
    with bundle.archive:
        check_headers(bundle)
        async with session.begin_nested():
            return await _import(session, tenant_id, settings, bundle, override=override)


async def _import(
    session: AsyncSession, tenant_id: uuid.UUID, settings: Settings, bundle: Bundle, *, override: bool
) -> dict[str, Any]:
    connection_id = await csv_connection(session, tenant_id, settings, bundle.version)
    run_id = uuid.uuid4()
    repo = SyncRepository(session, tenant_id, connection_id)
    state = SyncState(mode="delta", since=None, max_samples=MAX_ISSUES)
    roles = _roles(bundle)
    modes: dict[str, str] = {}
    for collection in ORDER:
        mode = bundle.modes.get(collection.lower(), "absent")
        name = f"{collection}.csv"
        if mode == "absent" or not bundle.has(name):
            continue
        modes[collection] = mode
        importer = _FileImport(collection, name, repo, state, run_id)
        await importer.run(bundle, roles)
        await link_parents(repo, state, collection, locate=importer.locate)
        if _refusing_count(state) >= MAX_ROW_ERRORS:
            break  # enough to show; the bundle is refused whatever the rest holds
    _refuse_bad_rows(state)
    full = {c: m == "bulk" for c, m in modes.items()}
    oneroster = settings.oneroster
    if not override:
        refusals = await check_guards(
            repo,
            full,
            job_id=run_id,
            share=oneroster.max_deactivation_share,
            floor=oneroster.deactivation_guard_floor,
        )
        if refusals:
            raise GuardRefused(refusal_message(refusals, oneroster.max_deactivation_share))
    for collection in modes:
        await deactivate_collection(repo, state, collection, job_id=run_id, full=full[collection])
    await repo.forget_seen(run_id)
    report = state.report()
    for key in ("since", "failed_collections", "high_water_mark", "page_sizes", "full_pulls"):
        report.pop(key, None)
    report["mode"] = modes
    report["version"] = bundle.version
    report["warnings"] = bundle.warnings
    report["connection_id"] = str(connection_id)
    return report
