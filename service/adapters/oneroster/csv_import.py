"""OneRoster 1.1 / 1.2 CSV bundles: a zip with manifest.csv and one file per collection.

Rows are turned into the same dicts the REST API returns and written by the sync's own
:class:`~service.adapters.oneroster.sync.PageWriter`, so a CSV import maps, validates and deactivates
exactly like a sync: ``bulk`` files replace their collection (rows no longer listed are deactivated, the
learner guard applies), ``delta`` files change what they list, ``absent`` ones are skipped. Every problem
names its file, line and column; problems that do not stop a row (an unknown column, an extra cell, a
date that is not ISO 8601 in a column the service does not use) are warnings.

The upload is bounded (``oneroster.max_csv_bytes``) and so is what it unpacks to
(``oneroster.max_csv_uncompressed_bytes``, checked against the declared sizes first and the bytes
actually read second, so a lying header cannot inflate past it).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster.errors import InvalidBundle
from service.adapters.oneroster.models import OneRosterConnection
from service.adapters.oneroster.repository import ConnectionRepository, SyncRepository
from service.adapters.oneroster.service import secret_context
from service.adapters.oneroster.sync import ORDER, PageWriter, SyncState, finish_collection
from service.config import Settings
from service.crypto import secret_box
from service.errors import FieldError

CSV_CONNECTION_NAME = "CSV uploads"
CSV_BASE_URL = "csv:upload"
BATCH = 1000
MAX_ROWS_PER_FILE = 2_000_000
MAX_ISSUES = 1000
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


@dataclass
class Bundle:
    version: str
    modes: dict[str, str]
    files: dict[str, bytes]
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, file: str, line: int | None, column: str | None, message: str) -> None:
        if len(self.warnings) < MAX_ISSUES:
            self.warnings.append({"file": file, "line": line, "column": column, "message": message})


def _bundle_error(message: str) -> InvalidBundle:
    return InvalidBundle(message, [FieldError("body.file", message, "invalid_bundle")])


def open_bundle(data: bytes, *, max_uncompressed: int) -> Bundle:
    """Unpack and check a bundle: zip structure, sizes, manifest."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _bundle_error(f"the upload is not a zip archive: {exc}") from exc
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) > 100:
            raise _bundle_error(f"the archive holds {len(members)} files; a OneRoster bundle has at most 100")
        declared = sum(i.file_size for i in members)
        if declared > max_uncompressed:
            raise _bundle_error(
                f"the archive unpacks to {declared} bytes, more than the {max_uncompressed} allowed"
            )
        files: dict[str, bytes] = {}
        total = 0
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
                    f"{name} is compressed more than {MAX_RATIO}:1; refusing a likely zip bomb"
                )
            try:
                with archive.open(info) as member:
                    content = member.read(max_uncompressed - total + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
                raise _bundle_error(f"{name} cannot be read: {exc}") from exc
            total += len(content)
            if total > max_uncompressed:
                raise _bundle_error(f"the archive unpacks to more than the {max_uncompressed} bytes allowed")
            files[name.lower()] = content
    if "manifest.csv" not in files:
        raise _bundle_error("the archive has no manifest.csv")
    bundle = Bundle(version="1.1", modes={}, files=files)
    for line, row in _rows(bundle, "manifest.csv", manifest=True):
        key, value = row.get("propertyName", "").strip(), row.get("value", "").strip()
        if key == "oneroster.version":
            if value not in ("1.0", "1.1", "1.2"):
                raise _bundle_error(
                    f"manifest.csv line {line}: oneroster.version '{value}' is not 1.0, 1.1 or 1.2"
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
        if mode != "absent" and f"{collection.lower()}.csv" not in files:
            raise _bundle_error(f"manifest.csv lists {collection} as {mode} but {collection}.csv is missing")
    return bundle


def _rows(bundle: Bundle, name: str, *, manifest: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file; header problems and ragged rows become warnings."""
    raw = bundle.files[name.lower()]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bundle_error(f"{name} is not UTF-8: {exc}") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise _bundle_error(f"{name} line 1: {exc}") from exc
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
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _bundle_error(f"{name} line {reader.line_num}: {exc}") from exc
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS_PER_FILE:
            raise _bundle_error(f"{name} has more than {MAX_ROWS_PER_FILE} rows")
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
    if bundle.modes.get("roles", "absent") == "absent" or "roles.csv" not in bundle.files:
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
    """One CSV file through the sync's page writer, in batches, errors located by line and column."""

    def __init__(
        self, collection: str, name: str, repo: SyncRepository, state: SyncState, run_id: uuid.UUID
    ) -> None:
        self.collection = collection
        self.name = name
        self.columns = FIELD_COLUMNS.get(collection, {})
        self.lines_by_sid: dict[str, int] = {}
        self.batch: list[dict[str, Any]] = []
        self.batch_lines: list[int] = []
        self.writer = PageWriter(repo, state, run_id, locate=self.locate)

    def locate(self, sid: str | None, position: int | None, fld: str) -> dict[str, Any]:
        line = (
            self.batch_lines[position] if position is not None and position < len(self.batch_lines) else None
        )
        if line is None and sid is not None:
            line = self.lines_by_sid.get(sid)
        return {"file": self.name, "line": line, "column": self.columns.get(fld, fld)}

    async def flush(self) -> None:
        if self.batch:
            await self.writer.write(self.collection, self.batch, where=self.name)
            self.batch.clear()
            self.batch_lines.clear()

    async def run(self, bundle: Bundle, roles: dict[str, list[dict[str, Any]]]) -> None:
        for line, row in _rows(bundle, self.name):
            record = to_record(self.collection, row, roles)
            if record.get("sourcedId"):
                self.lines_by_sid[record["sourcedId"]] = line
            self.batch.append(record)
            self.batch_lines.append(line)
            if len(self.batch) >= BATCH:
                await self.flush()
        await self.flush()


async def import_bundle(
    session: AsyncSession, tenant_id: uuid.UUID, settings: Settings, data: bytes, *, override: bool
) -> dict[str, Any]:
    """Import a bundle in the caller's transaction; the report lists every problem by file/line/column."""
    bundle = open_bundle(data, max_uncompressed=settings.oneroster.max_csv_uncompressed_bytes)
    connection_id = await csv_connection(session, tenant_id, settings, bundle.version)
    run_id = uuid.uuid4()
    repo = SyncRepository(session, tenant_id, connection_id)
    state = SyncState(mode="delta", since=None, max_samples=MAX_ISSUES)
    roles = _roles(bundle)
    modes: dict[str, str] = {}
    for collection in ORDER:
        mode = bundle.modes.get(collection.lower(), "absent")
        name = f"{collection}.csv"
        if mode == "absent" or name.lower() not in bundle.files:
            continue
        modes[collection] = mode
        await _FileImport(collection, name, repo, state, run_id).run(bundle, roles)
        state.mode = "full" if mode == "bulk" else "delta"
        await finish_collection(
            repo,
            state,
            collection,
            job_id=run_id,
            override=override,
            share=settings.oneroster.max_deactivation_share,
        )
    report = state.report()
    report.pop("since", None)
    report.pop("failed_collections", None)
    report.pop("high_water_mark", None)
    report["mode"] = modes
    report["version"] = bundle.version
    report["warnings"] = bundle.warnings
    report["connection_id"] = str(connection_id)
    return report
