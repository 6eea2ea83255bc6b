"""OneRoster records (REST JSON or CSV rows turned into the same dicts) -> roster and gradebook rows.

Pure: no I/O. :func:`map_record` validates one raw record through its wire model and returns a
:class:`Mapped` (column values plus the references it makes, still as sourcedIds) or a list of
:class:`Problem` naming the offending field. The sync resolves references in bulk and writes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from pydantic import ValidationError

from service.adapters.oneroster import wire

ORG_TYPES = {"department", "school", "district", "local", "state", "national"}
SESSION_TYPES = {
    "gradingperiod": "gradingPeriod",
    "semester": "semester",
    "schoolyear": "schoolYear",
    "term": "term",
}
PERSON_ROLES = {
    r.lower(): r
    for r in (
        "administrator",
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
    )
}
ENROLLMENT_ROLES = {"administrator", "proctor", "student", "teacher", "aide"}
CLASS_TYPES = {"homeroom", "scheduled"}
#: OneRoster 1.0/1.1 "districtAdministrator" style and 1.1 "administrator" differences need no map;
#: these older spellings do.
ROLE_ALIASES = {"learner": "student", "instructor": "teacher", "sitedministrator": "siteAdministrator"}
MAX_TEXT = 255


@dataclass(frozen=True)
class Problem:
    """Why a record (or one of its fields) cannot be used; ``kind`` groups it in reports."""

    kind: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Ref:
    """A reference to resolve: the target collection and the provider's sourcedId."""

    collection: str
    sourced_id: str
    required: bool = False


@dataclass
class Mapped:
    collection: str
    sourced_id: str
    deleted: bool
    values: dict[str, Any]
    #: column -> reference (resolved to the local id by the sync)
    refs: dict[str, Ref] = field(default_factory=dict)
    #: parent sourcedId, linked once the whole collection is in (orgs, academic sessions)
    parent_ref: str | None = None
    #: users: (org sourcedId, role, role type) memberships
    orgs: list[tuple[str, str, str]] = field(default_factory=list)
    date_last_modified: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def digest(self, resolved: dict[str, Any]) -> str:
        """A fingerprint of everything written: same digest, nothing to write. Versioned
        (``DIGEST_VERSION`` + hash) so that a digest an older release wrote is recognised as such
        (:func:`is_current_digest`) and compared with :meth:`legacy_digest` instead."""
        payload = (
            self.values,
            resolved,
            self.parent_ref,
            sorted(self.orgs) if len(self.orgs) > 1 else self.orgs,
        )
        # orjson serialises dates and UUIDs itself, in C; OPT_SORT_KEYS makes it independent of the
        # order the mapping built the dicts in.
        data = orjson.dumps(payload, default=_json_default, option=orjson.OPT_SORT_KEYS)
        return DIGEST_VERSION + hashlib.blake2b(data, digest_size=20).hexdigest()

    def legacy_digest(self, resolved: dict[str, Any]) -> str:
        """The digest releases before 2026-12-07 stored (unversioned): compared only with such a
        stored digest, so that the first sync after the upgrade finds the same records unchanged
        (and only rewrites their digest) instead of rewriting every row."""
        payload = {
            "v": self.values,
            "r": {k: str(v) if v is not None else None for k, v in sorted(resolved.items())},
            "p": self.parent_ref,
            "o": sorted(self.orgs),
        }
        text = json.dumps(payload, sort_keys=True, default=_json_default, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


#: The prefix of digests written by :meth:`Mapped.digest`; unprefixed digests are legacy ones.
DIGEST_VERSION = "2:"


def is_current_digest(digest: str) -> bool:
    return digest.startswith(DIGEST_VERSION)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class MappingFailed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _validation_problems(exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        kind = "missing_field" if err["type"] == "missing" else "invalid_value"
        out.append(Problem(kind, loc, f"{loc}: {err['msg']}"))
    return out


def _text(problems: list[Problem], name: str, value: str | None, *, required: bool = False) -> str | None:
    if value is None or not str(value).strip():
        if required:
            problems.append(Problem("missing_field", name, f"{name} is empty"))
        return None
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        problems.append(Problem("invalid_value", name, f"{name} is longer than {MAX_TEXT} characters"))
        return None
    return text


def _status(record: wire.Base) -> str:
    return "inactive" if record.status.strip().lower() == "inactive" else "active"


def _ref(r: wire.Ref | None, collection: str, *, required: bool = False) -> Ref | None:
    return None if r is None else Ref(collection, r.sourced_id, required)


def _role(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip()
    key = ROLE_ALIASES.get(key.lower(), key)
    return PERSON_ROLES.get(key.lower())


#: The keys a result may carry to be mapped by :func:`_plain_result` (anything else: the wire model).
_RESULT_KEYS = frozenset(
    {
        "sourcedId",
        "status",
        "dateLastModified",
        "lineItem",
        "student",
        "score",
        "scoreStatus",
        "scoreDate",
        "comment",
    }
)
_REF_KEYS = frozenset({"sourcedId", "type", "href"})


def _plain_ref(value: Any) -> str | None:
    """The sourcedId of a reference in its plain form (an object of strings, the id already trimmed)."""
    if type(value) is not dict or not value.keys() <= _REF_KEYS:
        return None
    sid = value.get("sourcedId")
    if type(sid) is not str or not sid or sid != sid.strip():
        return None
    for key in ("type", "href"):
        extra = value.get(key)
        if extra is not None and type(extra) is not str:
            return None
    return sid


@functools.lru_cache(maxsize=65_536)
def _required_ref(collection: str, sourced_id: str) -> Ref:
    """Refs are immutable: the many results of one line item or student share one."""
    return Ref(collection, sourced_id, True)


def _plain_result(raw: dict[str, Any]) -> Mapped | None:
    """A result in the plain form nearly every provider sends (an active record, references as
    objects, a numeric score, a ``YYYY-MM-DD`` date), mapped without the wire model: the same
    :class:`Mapped` as :func:`map_record` makes of it (tests/adapters/oneroster/test_mapping_fast.py
    compares both), at a fraction of the cost, since results are most of a district's records.
    None for anything else, which then goes through the wire model and its error reporting."""
    if not raw.keys() <= _RESULT_KEYS:
        return None
    sid = raw.get("sourcedId")
    if type(sid) is not str or not sid or len(sid) > MAX_TEXT or sid != sid.strip():
        return None
    if raw.get("status", "active") != "active":
        return None
    modified = raw.get("dateLastModified")
    if modified is not None and (type(modified) is not str or not modified or modified != modified.strip()):
        return None
    line_item, student = _plain_ref(raw.get("lineItem")), _plain_ref(raw.get("student"))
    if line_item is None or student is None:
        return None
    score = raw.get("score")
    if score is not None:
        if type(score) is int:
            score = float(score)
        elif type(score) is not float:
            return None
    score_status = raw.get("scoreStatus")
    if score_status is not None:
        if type(score_status) is not str or len(score_status) > MAX_TEXT:
            return None
        if score_status != score_status.strip():
            return None
        score_status = score_status or None
    day = raw.get("scoreDate")
    if day is not None:
        if type(day) is not str or len(day) != 10 or day[4] != "-" or day[7] != "-" or not day.isascii():
            return None
        if not (day[:4].isdigit() and day[5:7].isdigit() and day[8:].isdigit()):
            return None
        try:
            day = date(int(day[:4]), int(day[5:7]), int(day[8:]))
        except ValueError:
            return None
    comment = raw.get("comment")
    if comment is not None:
        if type(comment) is not str:
            return None
        comment = comment.strip()[:10_000] or None
    return Mapped(
        collection="results",
        sourced_id=sid,
        deleted=False,
        values={
            "score": score,
            "score_status": score_status,
            "score_date": day,
            "comment": comment,
            "status": "active",
        },
        refs={
            "line_item_id": _required_ref("lineItems", line_item),
            "learner_id": _required_ref("users", student),
        },
        date_last_modified=modified,
    )


def map_record(collection: str, raw: dict[str, Any]) -> Mapped:
    """Validate and map one record; raises :class:`MappingFailed` with every problem found."""
    if collection == "results":
        plain = _plain_result(raw)
        if plain is not None:
            return plain
    return map_wire_record(collection, raw)


def map_wire_record(collection: str, raw: dict[str, Any]) -> Mapped:
    """:func:`map_record` through the wire model, whatever the record's form."""
    model_type = wire.COLLECTIONS[collection][0]
    try:
        record = model_type.model_validate(raw)
    except ValidationError as exc:
        raise MappingFailed(_validation_problems(exc)) from None
    problems: list[Problem] = []
    mapped = Mapped(
        collection=collection,
        sourced_id=record.sourced_id,
        deleted=record.deleted,
        values={},
        date_last_modified=record.date_last_modified,
        extras=wire.extras(record),
    )
    status = _status(record)
    if isinstance(record, wire.WireOrg):
        org_type = record.type.strip().lower()
        if org_type not in ORG_TYPES:
            problems.append(Problem("invalid_value", "type", f"type '{record.type}' is not an org type"))
        mapped.values = {
            "name": _text(problems, "name", record.name, required=True),
            "type": org_type,
            "identifier": _text(problems, "identifier", record.identifier),
            "status": status,
        }
        mapped.parent_ref = record.parent.sourced_id if record.parent else None
    elif isinstance(record, wire.WireAcademicSession):
        session_type = SESSION_TYPES.get(record.type.strip().lower())
        if session_type is None:
            problems.append(Problem("invalid_value", "type", f"type '{record.type}' is not a session type"))
        if record.start_date is None:
            problems.append(Problem("missing_field", "startDate", "startDate is empty"))
        if record.end_date is None:
            problems.append(Problem("missing_field", "endDate", "endDate is empty"))
        if record.start_date and record.end_date and record.end_date < record.start_date:
            problems.append(Problem("invalid_value", "endDate", "endDate is before startDate"))
        year: int | None = None
        if record.school_year:
            try:
                year = int(str(record.school_year).strip()[:4])
            except ValueError:
                problems.append(Problem("invalid_value", "schoolYear", f"schoolYear '{record.school_year}'"))
        elif record.end_date is not None:
            year = record.end_date.year
        mapped.values = {
            "title": _text(problems, "title", record.title, required=True),
            "type": session_type,
            "start_date": record.start_date,
            "end_date": record.end_date,
            "school_year": year,
            "status": status,
        }
        mapped.parent_ref = record.parent.sourced_id if record.parent else None
    elif isinstance(record, wire.WireCourse):
        mapped.values = {
            "title": _text(problems, "title", record.title, required=True),
            "course_code": _text(problems, "courseCode", record.course_code),
            "subject": _text(problems, "subjects", record.subjects[0]) if record.subjects else None,
            "grade_levels": record.grades[:20],
            "status": status,
        }
        mapped.refs = {"org_id": Ref("orgs", record.org.sourced_id)} if record.org else {}
    elif isinstance(record, wire.WireUser):
        _map_user(record, mapped, problems, status)
    elif isinstance(record, wire.WireClass):
        class_type = (record.class_type or "scheduled").strip().lower()
        if class_type not in CLASS_TYPES:
            problems.append(Problem("invalid_value", "classType", f"classType '{record.class_type}'"))
        if record.school is None:
            problems.append(Problem("missing_field", "school", "a class needs its school"))
        mapped.values = {
            "title": _text(problems, "title", record.title, required=True),
            "class_code": _text(problems, "classCode", record.class_code),
            "class_type": class_type,
            "location": _text(problems, "location", record.location),
            "grades": record.grades[:20],
            "subjects": [s[:100] for s in record.subjects[:20]],
            "status": status,
        }
        refs: dict[str, Ref] = {}
        if record.course is not None:
            refs["course_id"] = Ref("courses", record.course.sourced_id)
        if record.school is not None:
            refs["school_id"] = Ref("orgs", record.school.sourced_id, True)
        if record.terms:
            refs["academic_session_id"] = Ref("academicSessions", record.terms[0].sourced_id)
        mapped.refs = refs
    elif isinstance(record, wire.WireEnrollment):
        role = record.role.strip()
        role = "administrator" if role.lower() == "administrator" else role.lower()
        if role not in ENROLLMENT_ROLES:
            problems.append(
                Problem("invalid_value", "role", f"role '{record.role}' is not an enrollment role")
            )
        if record.user is None:
            problems.append(Problem("missing_field", "user", "an enrollment needs its user"))
        if record.class_ is None:
            problems.append(Problem("missing_field", "class", "an enrollment needs its class"))
        mapped.values = {
            "role": role,
            "primary": record.primary,
            "begin_date": record.begin_date,
            "end_date": record.end_date,
            "status": status,
        }
        mapped.refs = {
            k: v
            for k, v in {
                "person_id": _ref(record.user, "users", required=True),
                "class_id": _ref(record.class_, "classes", required=True),
            }.items()
            if v is not None
        }
    elif isinstance(record, wire.WireCategory):
        mapped.values = {
            "title": _text(problems, "title", record.title, required=True),
            "weight": record.weight,
            "status": status,
        }
    elif isinstance(record, wire.WireLineItem):
        objectives = [i for s in record.learning_objective_set for i in s.learning_objective_ids][:100]
        mapped.values = {
            "title": _text(problems, "title", record.title, required=True),
            "assign_date": record.assign_date,
            "due_date": record.due_date,
            "result_value_min": record.result_value_min,
            "result_value_max": record.result_value_max,
            "learning_objective_ids": objectives,
            "status": status,
        }
        mapped.refs = {
            k: v
            for k, v in {
                "class_id": _ref(record.class_, "classes"),
                "category_id": _ref(record.category, "categories"),
                "academic_session_id": _ref(record.grading_period, "academicSessions"),
            }.items()
            if v is not None
        }
    elif isinstance(record, wire.WireResult):
        if record.line_item is None:
            problems.append(Problem("missing_field", "lineItem", "a result needs its line item"))
        if record.student is None:
            problems.append(Problem("missing_field", "student", "a result needs its student"))
        mapped.values = {
            "score": record.score,
            "score_status": _text(problems, "scoreStatus", record.score_status),
            "score_date": record.score_date,
            "comment": record.comment[:10_000] if record.comment else None,
            "status": status,
        }
        mapped.refs = {
            k: v
            for k, v in {
                "line_item_id": _ref(record.line_item, "lineItems", required=True),
                "learner_id": _ref(record.student, "users", required=True),
            }.items()
            if v is not None
        }
    if mapped.deleted:
        # A tombstone needs nothing but its id (providers often blank the rest). When it does carry a
        # usable record, the record is kept as inactive, so that what refers to it still resolves and
        # the outcome does not depend on whether the sync saw it before it was deleted.
        if problems:
            mapped.values, mapped.refs, mapped.orgs, mapped.parent_ref = {}, {}, [], None
        else:
            mapped.values["status"] = "inactive"
        return mapped
    if problems:
        raise MappingFailed(problems)
    return mapped


def _map_user(record: wire.WireUser, mapped: Mapped, problems: list[Problem], status: str) -> None:
    memberships: list[tuple[str, str, str]] = []
    primary: str | None = None
    if record.roles:  # 1.2
        ordered = sorted(record.roles, key=lambda r: 0 if r.role_type.lower() == "primary" else 1)
        for entry in ordered:
            role = _role(entry.role)
            if role is None:
                problems.append(Problem("invalid_value", "roles.role", f"role '{entry.role}' is not known"))
                continue
            primary = primary or role
            if entry.org is not None:
                kind = "primary" if entry.role_type.lower() == "primary" else "secondary"
                memberships.append((entry.org.sourced_id, role, kind))
    elif record.role:  # 1.1
        primary = _role(record.role)
        if primary is None:
            problems.append(Problem("invalid_value", "role", f"role '{record.role}' is not known"))
        else:
            for index, org in enumerate(record.orgs):
                memberships.append((org.sourced_id, primary, "primary" if index == 0 else "secondary"))
    else:
        problems.append(
            Problem("missing_field", "roles", "the user has no role (roles[] and role are empty)")
        )
    if (
        record.primary_org is not None
        and primary is not None
        and all(m[0] != record.primary_org.sourced_id for m in memberships)
    ):
        memberships.insert(0, (record.primary_org.sourced_id, primary, "primary"))
    email = _text(problems, "email", record.email)
    if email is not None and ("@" not in email or len(email) > 320):
        email = None  # a malformed address is dropped, not fatal: the person is still rostered
    mapped.values = {
        "role": primary,
        "given_name": _text(problems, "givenName", record.given_name, required=True),
        "family_name": _text(problems, "familyName", record.family_name, required=True),
        "middle_name": _text(problems, "middleName", record.middle_name),
        "preferred_name": _text(problems, "preferredFirstName", record.preferred_first_name),
        "email": email,
        "username": _text(problems, "username", record.username),
        "identifier": _text(problems, "identifier", record.identifier),
        "grades": record.grades[:20],
        "status": status,
    }
    mapped.orgs = list(dict.fromkeys(memberships))
