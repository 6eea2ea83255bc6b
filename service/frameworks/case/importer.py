"""CASE CFPackage import: :func:`parse_package` (the lenient, report-keeping parser)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from service.errors import FieldError
from service.frameworks.case.common import (
    _ADOPTION_FROM_STATUS,
    _ASSOCIATION_CONSUMED,
    _ASSOCIATION_KEPT,
    _ASSOCIATION_TYPES,
    _ATTRIBUTE_EXTENSIONS,
    _ATTRIBUTE_TYPES,
    _COMPETENCY_EXTENSIONS,
    _COMPETENCY_TYPES,
    _DOC_CONSUMED,
    _DOC_KEPT,
    _EXT_ASSOCIATION_RE,
    _GRADE_BAND_TYPES,
    _INT32,
    _ITEM_CONSUMED,
    _ITEM_KEPT,
    _LOOK_FOR_TYPES,
    _NO_DOCUMENT,
    _PACKAGE_KEYS,
    _STATUS_FROM_ADOPTION,
    _UUID_RE,
    ATTRIBUTE_TYPE,
    CASE_VERSION,
    COMPETENCY_TYPE,
    EXT_CATEGORY,
    EXT_FOUNDATIONAL,
    EXT_GRADE_BANDS,
    EXT_KIND,
    EXT_LAUNCH,
    EXT_LEVEL_ID,
    EXT_LEVELS,
    EXT_LOOK_FORS,
    MAX_ERRORS,
    CaseImportError,
    _derived_id,
    _is_int,
    _is_number,
    _kind_from_title,
    _norm_type,
    _render_counts,
    default_rubric_id,
    derive_title,
    item_type_id,
)
from service.frameworks.tree import (
    CATEGORIES,
    KINDS,
    AttributeNode,
    CompetencyNode,
    DescriptorNode,
    FrameworkTree,
    GradeBand,
    ImportReport,
    LevelNode,
)
from service.schemas import contains_nul


@dataclass
class _Item:
    index: int
    loc: str
    id: uuid.UUID
    statement: str
    abbreviated: str | None
    code: str | None
    type_name: str | None
    list_enumeration: str | None
    kept: dict[str, Any]
    extensions: dict[str, Any]
    portrait: dict[str, Any]
    education_level: list[str]
    parent: uuid.UUID | None = None  # primary isChildOf parent; None means the document
    association_id: uuid.UUID | None = None
    sequence: int | None = None
    children: list[uuid.UUID] = field(default_factory=list)
    role: str = ""  # attribute, competency, grade_band, look_for
    order: int = 0  # pre-order index


@dataclass
class _Edge:
    loc: str
    id: uuid.UUID
    child: uuid.UUID
    parent: uuid.UUID  # the document id or an item id
    sequence: int | None


@dataclass
class _CriterionLevel:
    loc: str
    id: uuid.UUID
    quality: str | None
    description: str | None
    score: float | None
    position: int | None
    level_ref: uuid.UUID | None


@dataclass
class _Criterion:
    loc: str
    id: uuid.UUID
    item: uuid.UUID
    levels: list[_CriterionLevel]


class _Parser:
    def __init__(self, max_items: int, max_associations: int) -> None:
        self.max_items = max_items
        self.max_associations = max_associations
        self.errors: list[FieldError] = []
        self.error_count = 0
        self.ignored: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.ids: dict[uuid.UUID, str] = {}
        # isChildOf edges beyond an item's first parent: kept as plain associations.
        self.secondary: list[_Edge] = []
        self.derived_level_ids: dict[tuple[str, str], uuid.UUID] = {}

    # -- bookkeeping

    def fail(self, loc: str, message: str, type_: str = "invalid") -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(FieldError(loc, message, type_))

    def warn(self, message: str) -> None:
        self.warnings[message] += 1

    def ignore(self, path: str) -> None:
        self.ignored[path] += 1

    def claim(self, ident: uuid.UUID, loc: str) -> bool:
        other = self.ids.get(ident)
        if other is not None:
            self.fail(
                f"{loc}.identifier", f"duplicate identifier {ident} (also used by {other})", "duplicate"
            )
            return False
        self.ids[ident] = loc
        return True

    def raise_if_failed(self) -> None:
        if self.error_count:
            more = f" (the first {MAX_ERRORS} are listed)" if self.error_count > MAX_ERRORS else ""
            raise CaseImportError(
                f"the CFPackage cannot be imported: {self.error_count} problem(s){more}", list(self.errors)
            )

    # -- typed member access; absent and null members read as None

    def string(self, obj: dict[str, Any], key: str, loc: str, *, max_len: int | None = None) -> str | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"{loc}.{key}", "expected a string", "type_error")
            return None
        if max_len is not None and len(value) > max_len:
            self.fail(f"{loc}.{key}", f"longer than {max_len} characters", "too_long")
            return None
        return value

    def strings(self, obj: dict[str, Any], key: str, loc: str, *, max_len: int = 500) -> list[str]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{loc}.{key}", "expected an array of strings", "type_error")
            return []
        if any(len(v) > max_len for v in value):
            self.fail(f"{loc}.{key}", f"an entry is longer than {max_len} characters", "too_long")
            return []
        return list(value)

    def integer(self, obj: dict[str, Any], key: str, loc: str) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if not _is_int(value):
            self.fail(f"{loc}.{key}", "expected an integer", "type_error")
            return None
        if not _INT32[0] <= value <= _INT32[1]:
            self.fail(f"{loc}.{key}", "outside the 32-bit integer range", "out_of_range")
            return None
        return int(value)

    def number(self, obj: dict[str, Any], key: str, loc: str) -> float | None:
        value = obj.get(key)
        if value is None:
            return None
        if not _is_number(value):
            self.fail(f"{loc}.{key}", "expected a number", "type_error")
            return None
        if not -1e9 <= value <= 1e9:
            self.fail(f"{loc}.{key}", "outside the supported range", "out_of_range")
            return None
        return float(value)

    def obj(self, obj: dict[str, Any], key: str, loc: str) -> dict[str, Any]:
        value = obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(f"{loc}.{key}", "expected an object", "type_error")
            return {}
        return dict(value)

    def date_value(self, obj: dict[str, Any], key: str, loc: str) -> date | None:
        value = self.string(obj, key, loc)
        if value is None or not value.strip():
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value).date()
        except ValueError:
            self.fail(f"{loc}.{key}", f"not a date (YYYY-MM-DD): {value[:40]!r}", "invalid_date")
            return None
        self.warn(f"{key} given as a date-time; its date part is used")
        return parsed

    def timestamp(self, obj: dict[str, Any], key: str, loc: str, what: str) -> datetime | None:
        value = obj.get(key)
        if value is None:
            self.warn(f"{what} without lastChangeDateTime")
            return None
        if not isinstance(value, str):
            self.fail(f"{loc}.{key}", "expected a date-time string", "type_error")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.warn(f"{what} with an unreadable lastChangeDateTime (ignored)")
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def uuid_value(self, value: object, loc: str) -> uuid.UUID | None:
        if not isinstance(value, str):
            self.fail(loc, "expected a string (a UUID)", "type_error")
            return None
        if not _UUID_RE.match(value):
            self.fail(loc, f"not a UUID: {value[:60]!r}", "invalid_uuid")
            return None
        return uuid.UUID(value)

    def identifier(
        self, obj: dict[str, Any], loc: str, what: str, *, derive: bool = False
    ) -> uuid.UUID | None:
        """The object's UUID; lenient: taken from the ``uri`` when ``identifier`` is missing."""
        if obj.get("identifier") is not None:
            return self.uuid_value(obj["identifier"], f"{loc}.identifier")
        uri = obj.get("uri")
        if isinstance(uri, str) and uri:
            tail = uri.rstrip("/").rsplit("/", 1)[-1]
            if _UUID_RE.match(tail):
                self.warn(f"{what} without identifier: taken from its uri")
                return uuid.UUID(tail)
            if derive:
                self.warn(f"{what} without identifier: derived from its uri")
                return uuid.uuid5(uuid.NAMESPACE_URL, uri)
        self.fail(f"{loc}.identifier", "required: a UUID identifier", "missing")
        return None

    def uri(self, obj: dict[str, Any], loc: str) -> None:
        if obj.get("uri") is not None and not isinstance(obj["uri"], str):
            self.fail(f"{loc}.uri", "expected a string", "type_error")

    def link(self, value: object, loc: str, path: str) -> dict[str, Any] | None:
        """A LinkURI kept for export: an object with title, identifier (UUID) and uri."""
        if not isinstance(value, dict):
            self.fail(loc, "expected an object (title, identifier, uri)", "type_error")
            return None
        title, ident, uri = value.get("title"), value.get("identifier"), value.get("uri")
        if not (isinstance(ident, str) and _UUID_RE.match(ident) and isinstance(uri, str)):
            self.ignore(f"{path} (incomplete link)")
            return None
        return {"title": title if isinstance(title, str) else ident, "identifier": ident.lower(), "uri": uri}

    def kept(self, obj: dict[str, Any], spec: dict[str, str], loc: str, path: str) -> dict[str, Any]:
        """Members CASE defines but the tree has no field for: type-checked, kept for export."""
        out: dict[str, Any] = {}
        for key, kind in spec.items():
            if obj.get(key) is None:
                continue
            value = obj[key]
            kloc = f"{loc}.{key}"
            if kind == "str":
                text = self.string(obj, key, loc)
                if text is not None:
                    out[key] = text
            elif kind == "strs":
                values = self.strings(obj, key, loc, max_len=10_000)
                if values:
                    out[key] = values
            elif kind == "date":
                day = self.date_value(obj, key, loc)
                if day is not None:
                    out[key] = day.isoformat()
            elif kind == "object":
                if not isinstance(value, dict):
                    self.fail(kloc, "expected an object", "type_error")
                elif value:
                    out[key] = value
            elif kind == "link":
                link = self.link(value, kloc, f"{path}.{key}")
                if link is not None:
                    out[key] = link
            elif kind == "links":
                if not isinstance(value, list):
                    self.fail(kloc, "expected an array of links", "type_error")
                    continue
                links = [self.link(v, f"{kloc}[{i}]", f"{path}.{key}[*]") for i, v in enumerate(value)]
                if any(lk is not None for lk in links):
                    out[key] = [lk for lk in links if lk is not None]
        return out

    def unknown(self, obj: dict[str, Any], known: frozenset[str] | set[str], path: str) -> None:
        for key in obj:
            if key not in known:
                self.ignore(f"{path}.{key}")

    # -- the package

    def parse(self, data: object) -> tuple[FrameworkTree, ImportReport]:
        if not isinstance(data, dict):
            raise CaseImportError(
                "a CFPackage must be a JSON object",
                [FieldError("body", "expected a JSON object with a CFDocument", "type_error")],
            )
        self.check_sizes(data)
        if contains_nul(data):
            raise CaseImportError(
                "the CFPackage contains the NUL character (U+0000), which no text field may hold",
                [FieldError("body", "must not contain the NUL character (U+0000)", "string_nul")],
            )
        for key in data:
            if key not in _PACKAGE_KEYS:
                self.ignore(key)
        package_extensions = self.obj(data, "extensions", "body")

        doc = data.get("CFDocument")
        if not isinstance(doc, dict):
            self.fail(
                "body.CFDocument",
                "required: the CFDocument object" if doc is None else "expected an object",
                "missing" if doc is None else "type_error",
            )
            doc = {}
        tree = self.document(doc)
        if package_extensions:
            tree.extra["package"] = {"extensions": package_extensions}

        raw_items = self.array(data, "CFItems")
        raw_associations = self.array(data, "CFAssociations")
        items = self.items(raw_items)
        if tree.id == _NO_DOCUMENT:
            # Without a document identifier every top-level link would read as dangling: noise, not news.
            self.raise_if_failed()
        item_types = self.definitions(data, tree.id)
        edges, others = self.associations(raw_associations, tree.id, items)
        rubric = self.rubric(data, items)
        self.raise_if_failed()

        self.check_cycles(items, edges)
        self.raise_if_failed()

        self.build_tree(tree, items, edges, item_types)
        kept_associations = self.other_associations(others, items)
        if kept_associations:
            tree.extra["associations"] = kept_associations
        self.apply_rubric(tree, rubric)
        self.raise_if_failed()

        report = ImportReport(
            items=len(items),
            attributes=len(tree.attributes),
            competencies=len(tree.competencies),
            levels=len(tree.levels),
            associations=len(edges) + len(kept_associations),
            ignored=_render_counts(self.ignored),
            warnings=_render_counts(self.warnings),
        )
        return tree, report

    def check_sizes(self, data: dict[str, Any]) -> None:
        """Refuse oversized packages before building anything: time and memory stay bounded."""
        problems: list[FieldError] = []
        items, associations = data.get("CFItems"), data.get("CFAssociations")
        if isinstance(items, list) and len(items) > self.max_items:
            problems.append(
                FieldError(
                    "body.CFItems", f"{len(items)} items; at most {self.max_items} are accepted", "too_many"
                )
            )
        if isinstance(associations, list) and len(associations) > self.max_associations:
            problems.append(
                FieldError(
                    "body.CFAssociations",
                    f"{len(associations)} associations; at most {self.max_associations} are accepted",
                    "too_many",
                )
            )
        rubrics = data.get("CFRubrics")
        if isinstance(rubrics, list):
            criteria = [
                c
                for r in rubrics[: self.max_items + 1]
                if isinstance(r, dict) and isinstance(r.get("CFRubricCriteria"), list)
                for c in r["CFRubricCriteria"][: self.max_items + 1]
            ][: self.max_items + 1]
            cells = sum(
                len(c["CFRubricCriterionLevels"])
                for c in criteria
                if isinstance(c, dict) and isinstance(c.get("CFRubricCriterionLevels"), list)
            )
            if len(rubrics) > self.max_items or len(criteria) > self.max_items:
                problems.append(
                    FieldError("body.CFRubrics", f"more than {self.max_items} rubric criteria", "too_many")
                )
            elif cells > self.max_associations:
                problems.append(
                    FieldError(
                        "body.CFRubrics",
                        f"{cells} criterion levels; at most {self.max_associations} are accepted",
                        "too_many",
                    )
                )
        if problems:
            raise CaseImportError("the CFPackage is too large to import", problems)

    def array(self, data: dict[str, Any], key: str) -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"body.{key}", "expected an array", "type_error")
            return []
        return value

    def document(self, doc: dict[str, Any]) -> FrameworkTree:
        loc = "body.CFDocument"
        doc_id = self.identifier(doc, loc, "CFDocument") if doc else None
        if doc_id is not None:
            self.claim(doc_id, loc)
        self.uri(doc, loc)
        title = self.string(doc, "title", loc, max_len=500)
        if doc and doc.get("title") is None:
            self.fail(f"{loc}.title", "required: the framework title", "missing")
        elif title is not None and not title.strip():
            self.fail(f"{loc}.title", "the framework title is empty", "empty")
        title = (title or "").strip()
        creator = self.string(doc, "creator", loc, max_len=500) or None
        publisher = self.string(doc, "publisher", loc, max_len=500) or None
        description = self.string(doc, "description", loc) or None
        language = self.string(doc, "language", loc, max_len=35) or None
        version = self.string(doc, "version", loc, max_len=50) or "1"
        subjects = self.strings(doc, "subject", loc)
        adoption = self.string(doc, "adoptionStatus", loc, max_len=200)
        adoption_date = self.date_value(doc, "statusStartDate", loc)
        last_change = self.timestamp(doc, "lastChangeDateTime", loc, "CFDocument") if doc else None
        if doc.get("caseVersion") is not None and doc.get("caseVersion") != CASE_VERSION:
            self.warn(f"caseVersion {str(doc.get('caseVersion'))[:10]!r} read as CASE {CASE_VERSION}")
        extensions = self.obj(doc, "extensions", loc)
        kept = self.kept(doc, _DOC_KEPT, loc, "CFDocument")
        self.unknown(doc, _DOC_CONSUMED | set(_DOC_KEPT), "CFDocument")

        status = "draft"
        if adoption is not None and adoption.strip():
            mapped = _STATUS_FROM_ADOPTION.get(_norm_type(adoption))
            if mapped is None:
                self.warn(
                    f"adoptionStatus {adoption[:40]!r} is not Draft/Adopted/Deprecated: imported as draft"
                )
            else:
                status = mapped
            if _ADOPTION_FROM_STATUS[status] != adoption:
                kept["adoptionStatus"] = adoption

        kind: str | None = None
        raw_kind = extensions.pop(EXT_KIND, None)
        if raw_kind is not None:
            if isinstance(raw_kind, str) and raw_kind in KINDS:
                kind = raw_kind
            else:
                self.fail(f"{loc}.extensions.{EXT_KIND}", f"one of {', '.join(KINDS)}", "invalid_choice")
        if kind is None and raw_kind is None:
            kind = _kind_from_title(title)
            if kind is None:
                kind = "graduate"
                if doc:
                    self.warn(
                        f"no extensions.{EXT_KIND} and no kind in the title: imported as a graduate portrait"
                    )
        if extensions:
            kept["extensions"] = extensions

        framework_id = doc_id or _NO_DOCUMENT
        tree = FrameworkTree(
            id=framework_id,
            kind=kind or "graduate",
            title=title,
            version=version,
            status=status,
            adoption_date=adoption_date,
            description=description,
            creator=creator,
            publisher=publisher,
            language=language,
            subjects=subjects,
            rubric_id=default_rubric_id(framework_id),
            last_change=last_change,
        )
        if kept:
            tree.extra["document"] = kept
        return tree

    def items(self, raw: list[Any]) -> dict[uuid.UUID, _Item]:
        items: dict[uuid.UUID, _Item] = {}
        for index, obj in enumerate(raw):
            loc = f"body.CFItems[{index}]"
            if not isinstance(obj, dict):
                self.fail(loc, "expected an object", "type_error")
                continue
            item_id = self.identifier(obj, loc, "CFItem")
            self.uri(obj, loc)
            full = self.string(obj, "fullStatement", loc)
            abbreviated = self.string(obj, "abbreviatedStatement", loc, max_len=500)
            code = self.string(obj, "humanCodingScheme", loc, max_len=100)
            type_name = self.string(obj, "CFItemType", loc, max_len=200)
            if obj.get("CFItemTypeURI") is not None:
                type_link = obj["CFItemTypeURI"]
                if not isinstance(type_link, dict):
                    self.fail(
                        f"{loc}.CFItemTypeURI", "expected an object (title, identifier, uri)", "type_error"
                    )
                elif type_name is None and isinstance(type_link.get("title"), str):
                    type_name = type_link["title"][:200]
            self.timestamp(obj, "lastChangeDateTime", loc, "CFItem")
            extensions = self.obj(obj, "extensions", loc)
            portrait = self.portrait_extensions(extensions, f"{loc}.extensions")
            kept = self.kept(obj, _ITEM_KEPT, loc, "CFItems[*]")
            education = kept.get("educationLevel", [])
            self.unknown(obj, _ITEM_CONSUMED | set(_ITEM_KEPT), "CFItems[*]")
            statement = full if full and full.strip() else abbreviated
            if statement is None or not statement.strip():
                if full is not None or "fullStatement" not in obj:
                    self.fail(f"{loc}.fullStatement", "required: the statement text", "missing")
                continue
            if full is None or not full.strip():
                self.warn("CFItem without fullStatement: its abbreviatedStatement is used")
            if item_id is None or not self.claim(item_id, loc):
                continue
            list_enumeration = kept.get("listEnumeration")
            items[item_id] = _Item(
                index=index,
                loc=loc,
                id=item_id,
                statement=statement,
                abbreviated=abbreviated if abbreviated and abbreviated.strip() else None,
                code=code or None,
                type_name=type_name or None,
                list_enumeration=list_enumeration if isinstance(list_enumeration, str) else None,
                kept=kept,
                extensions=extensions,
                portrait=portrait,
                education_level=education,
            )
        return items

    def portrait_extensions(self, ext: dict[str, Any], loc: str) -> dict[str, Any]:
        """Type-check the Portrait members of a CFItem's extensions; the parsed values by key."""
        out: dict[str, Any] = {}
        if ext.get(EXT_CATEGORY) is not None:
            value = ext[EXT_CATEGORY]
            if isinstance(value, str) and value in CATEGORIES:
                out[EXT_CATEGORY] = value
            else:
                self.fail(f"{loc}.{EXT_CATEGORY}", f"one of {', '.join(CATEGORIES)}", "invalid_choice")
        if ext.get(EXT_GRADE_BANDS) is not None:
            value = ext[EXT_GRADE_BANDS]
            bands: list[GradeBand] = []
            if not isinstance(value, list):
                self.fail(f"{loc}.{EXT_GRADE_BANDS}", "expected an array of {band, descriptor}", "type_error")
            else:
                for i, entry in enumerate(value):
                    band = entry.get("band") if isinstance(entry, dict) else None
                    text = entry.get("descriptor") if isinstance(entry, dict) else None
                    if not (isinstance(band, str) and 0 < len(band) <= 20 and isinstance(text, str) and text):
                        self.fail(
                            f"{loc}.{EXT_GRADE_BANDS}[{i}]",
                            "expected {band: string (at most 20), descriptor: string}",
                            "type_error",
                        )
                        continue
                    bands.append(GradeBand(band, text))
            out[EXT_GRADE_BANDS] = bands
        if ext.get(EXT_LOOK_FORS) is not None:
            value = ext[EXT_LOOK_FORS]
            if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
                out[EXT_LOOK_FORS] = list(value)
            else:
                self.fail(f"{loc}.{EXT_LOOK_FORS}", "expected an array of non-empty strings", "type_error")
        if ext.get(EXT_LAUNCH) is not None:
            value = ext[EXT_LAUNCH]
            if _is_int(value) and 1900 <= value <= 2200:
                out[EXT_LAUNCH] = int(value)
            else:
                self.fail(
                    f"{loc}.{EXT_LAUNCH}", "expected a school year (ending year, 1900-2200)", "type_error"
                )
        if ext.get(EXT_FOUNDATIONAL) is not None:
            value = ext[EXT_FOUNDATIONAL]
            if isinstance(value, bool):
                out[EXT_FOUNDATIONAL] = value
            else:
                self.fail(f"{loc}.{EXT_FOUNDATIONAL}", "expected true or false", "type_error")
        return out

    def definitions(self, data: dict[str, Any], framework_id: uuid.UUID) -> dict[str, str]:
        """CFItemType titles by identifier (to read CFItemTypeURI); the rest of CFDefinitions is reported."""
        titles: dict[str, str] = {}
        defs = data.get("CFDefinitions")
        if defs is None:
            return titles
        if not isinstance(defs, dict):
            self.fail("body.CFDefinitions", "expected an object", "type_error")
            return titles
        for key, value in defs.items():
            if key == "CFItemTypes":
                if not isinstance(value, list):
                    self.fail("body.CFDefinitions.CFItemTypes", "expected an array", "type_error")
                    continue
                for entry in value:
                    if not isinstance(entry, dict):
                        continue
                    ident, title = entry.get("identifier"), entry.get("title")
                    if isinstance(ident, str) and isinstance(title, str):
                        titles[ident.lower()] = title
                        if ident.lower() != str(item_type_id(framework_id, title)):
                            self.ignore("CFDefinitions.CFItemTypes[*] (regenerated on export)")
            elif key in ("CFConcepts", "CFSubjects", "CFLicenses", "CFAssociationGroupings"):
                if isinstance(value, list):
                    for _ in value:
                        self.ignore(f"CFDefinitions.{key}[*]")
                elif value is not None:
                    self.fail(f"body.CFDefinitions.{key}", "expected an array", "type_error")
            else:
                self.ignore(f"CFDefinitions.{key}")
        return titles

    def node_link(
        self, obj: dict[str, Any], key: str, loc: str
    ) -> tuple[uuid.UUID | None, dict[str, Any]] | None:
        """An association end: its UUID when it has one, and the link as given."""
        value = obj.get(key)
        if value is None:
            self.fail(f"{loc}.{key}", "required: the node link", "missing")
            return None
        if not isinstance(value, dict):
            self.fail(f"{loc}.{key}", "expected an object (title, identifier, uri)", "type_error")
            return None
        ident, uri = value.get("identifier"), value.get("uri")
        for member in ("identifier", "uri", "title", "targetType"):
            if value.get(member) is not None and not isinstance(value[member], str):
                self.fail(f"{loc}.{key}.{member}", "expected a string", "type_error")
                return None
        if ident is None and isinstance(uri, str):
            tail = uri.rstrip("/").rsplit("/", 1)[-1]
            if _UUID_RE.match(tail):
                self.warn("association end without identifier: taken from its uri")
                ident = tail
        if ident is None:
            self.fail(f"{loc}.{key}.identifier", "required: the identifier of the node", "missing")
            return None
        parsed = uuid.UUID(ident) if _UUID_RE.match(ident) else None
        return parsed, dict(value, identifier=ident)

    def associations(
        self, raw: list[Any], doc_id: uuid.UUID, items: dict[uuid.UUID, _Item]
    ) -> tuple[list[_Edge], list[dict[str, Any]]]:
        edges: list[_Edge] = []
        others: list[dict[str, Any]] = []
        for index, obj in enumerate(raw):
            loc = f"body.CFAssociations[{index}]"
            if not isinstance(obj, dict):
                self.fail(loc, "expected an object", "type_error")
                continue
            assoc_id = self.identifier(obj, loc, "CFAssociation", derive=True)
            self.uri(obj, loc)
            kind = self.string(obj, "associationType", loc, max_len=200)
            if kind is None and "associationType" not in obj:
                self.fail(f"{loc}.associationType", "required: the association type", "missing")
            origin = self.node_link(obj, "originNodeURI", loc)
            destination = self.node_link(obj, "destinationNodeURI", loc)
            sequence = self.integer(obj, "sequenceNumber", loc)
            self.timestamp(obj, "lastChangeDateTime", loc, "CFAssociation")
            if assoc_id is None or kind is None or origin is None or destination is None:
                continue
            if not self.claim(assoc_id, loc):
                continue
            if kind == "isChildOf" or _norm_type(kind) == "ischildof":
                if kind != "isChildOf":
                    self.warn(f"associationType {kind[:20]!r} read as isChildOf")
                self.unknown(obj, _ASSOCIATION_CONSUMED, "CFAssociations[*]")
                child, parent = origin[0], destination[0]
                problem = False
                if child is None or child not in items:
                    where = "the document" if child == doc_id else "not a CFItem of this package"
                    self.fail(f"{loc}.originNodeURI", f"isChildOf origin is {where} (dangling)", "dangling")
                    problem = True
                if parent is None or (parent != doc_id and parent not in items):
                    self.fail(
                        f"{loc}.destinationNodeURI",
                        "isChildOf destination is neither this CFDocument nor one of its CFItems (dangling)",
                        "dangling",
                    )
                    problem = True
                if not problem and child == parent:
                    self.fail(loc, "an item cannot be its own parent (isChildOf cycle)", "cycle")
                    problem = True
                if not problem and child is not None and parent is not None:
                    edges.append(_Edge(loc, assoc_id, child, parent, sequence))
                continue
            self.unknown(
                obj, _ASSOCIATION_CONSUMED | set(_ASSOCIATION_KEPT) | {"CFDocumentURI"}, "CFAssociations[*]"
            )
            if "CFDocumentURI" in obj:
                self.ignore("CFAssociations[*].CFDocumentURI")
            ends = [origin[0], destination[0]]
            if not any(e is not None and (e == doc_id or e in items) for e in ends):
                self.fail(loc, "neither end is this CFDocument or one of its CFItems (dangling)", "dangling")
                continue
            if kind not in _ASSOCIATION_TYPES and not _EXT_ASSOCIATION_RE.match(kind):
                self.ignore(f"CFAssociations[*] of type {kind[:40]!r} (not a CASE 1.1 type)")
                continue
            record: dict[str, Any] = {"identifier": str(assoc_id), "associationType": kind}
            for member, (parsed, link) in (("originNodeURI", origin), ("destinationNodeURI", destination)):
                if parsed is not None and (parsed == doc_id or parsed in items):
                    record[member] = {"identifier": str(parsed)}
                elif isinstance(link.get("uri"), str):
                    out = {"title": link.get("title") or link["identifier"], "identifier": link["identifier"]}
                    out["uri"] = link["uri"]
                    if isinstance(link.get("targetType"), str):
                        out["targetType"] = link["targetType"]
                    record[member] = out
                else:
                    self.ignore("CFAssociations[*] to an outside node without uri")
                    break
            else:
                if sequence is not None:
                    record["sequenceNumber"] = sequence
                record.update(self.kept(obj, _ASSOCIATION_KEPT, loc, "CFAssociations[*]"))
                others.append(record)
        return edges, others

    def rubric(
        self, data: dict[str, Any], items: dict[uuid.UUID, _Item]
    ) -> tuple[dict[str, Any], list[LevelNode] | None, list[_Criterion]] | None:
        rubrics = self.array(data, "CFRubrics")
        if not rubrics:
            return None
        for _ in rubrics[1:]:
            self.ignore("CFRubrics[1:] (only the first rubric is imported)")
        raw = rubrics[0]
        loc = "body.CFRubrics[0]"
        if not isinstance(raw, dict):
            self.fail(loc, "expected an object", "type_error")
            return None
        rubric_id = self.identifier(raw, loc, "CFRubric")
        if rubric_id is not None:
            self.claim(rubric_id, loc)
        self.uri(raw, loc)
        self.timestamp(raw, "lastChangeDateTime", loc, "CFRubric")
        info: dict[str, Any] = {"identifier": rubric_id}
        for key in ("title", "description"):
            text = self.string(raw, key, loc)
            if text:
                info[key] = text
        extensions = self.obj(raw, "extensions", loc)
        levels: list[LevelNode] | None = None
        if EXT_LEVELS in extensions:
            levels = self.levels(extensions.pop(EXT_LEVELS), f"{loc}.extensions.{EXT_LEVELS}")
        if extensions:
            info["extensions"] = extensions
        self.unknown(
            raw,
            {
                "identifier",
                "uri",
                "title",
                "description",
                "lastChangeDateTime",
                "CFRubricCriteria",
                "extensions",
            },
            "CFRubrics[0]",
        )
        criteria: list[_Criterion] = []
        raw_criteria = raw.get("CFRubricCriteria")
        if raw_criteria is not None and not isinstance(raw_criteria, list):
            self.fail(f"{loc}.CFRubricCriteria", "expected an array", "type_error")
            raw_criteria = []
        for ci, crit in enumerate(raw_criteria or []):
            cloc = f"{loc}.CFRubricCriteria[{ci}]"
            criterion = self.criterion(crit, cloc, items)
            if criterion is not None:
                criteria.append(criterion)
        return info, levels, criteria

    def levels(self, value: object, loc: str) -> list[LevelNode]:
        if not isinstance(value, list):
            self.fail(loc, "expected an array of levels", "type_error")
            return []
        out: list[LevelNode] = []
        positions: set[int] = set()
        for i, entry in enumerate(value):
            lloc = f"{loc}[{i}]"
            if not isinstance(entry, dict):
                self.fail(lloc, "expected an object", "type_error")
                continue
            level_id = self.identifier(entry, lloc, "rubric level")
            position = self.integer(entry, "position", lloc)
            title = self.string(entry, "title", lloc, max_len=200)
            description = self.string(entry, "description", lloc)
            score = self.number(entry, "score", lloc)
            proficient = entry.get("proficient", False)
            if not isinstance(proficient, bool):
                self.fail(f"{lloc}.proficient", "expected true or false", "type_error")
                proficient = False
            if position is None or position < 0:
                self.fail(f"{lloc}.position", "required: a position (0 = lowest)", "missing")
                continue
            if position in positions:
                self.fail(f"{lloc}.position", f"two levels have position {position}", "duplicate")
                continue
            positions.add(position)
            if not title:
                self.fail(f"{lloc}.title", "required: the level title", "missing")
                continue
            if level_id is None or not self.claim(level_id, lloc):
                continue
            out.append(LevelNode(level_id, position, title, description or None, score, proficient))
        return sorted(out, key=lambda lv: lv.position)

    def criterion(self, crit: object, loc: str, items: dict[uuid.UUID, _Item]) -> _Criterion | None:
        if not isinstance(crit, dict):
            self.fail(loc, "expected an object", "type_error")
            return None
        crit_id = self.identifier(crit, loc, "CFRubricCriterion")
        self.uri(crit, loc)
        item_link = crit.get("CFItemURI")
        item_id: uuid.UUID | None = None
        if item_link is None:
            self.ignore("CFRubrics[0].CFRubricCriteria[*] without CFItemURI")
        elif not isinstance(item_link, dict):
            self.fail(f"{loc}.CFItemURI", "expected an object (title, identifier, uri)", "type_error")
        else:
            item_id = self.uuid_value(item_link.get("identifier"), f"{loc}.CFItemURI.identifier")
            if item_id is not None and item_id not in items:
                self.fail(
                    f"{loc}.CFItemURI", "the criterion's CFItem is not in this package (dangling)", "dangling"
                )
                item_id = None
        for key in ("category", "description", "weight", "extensions"):
            if crit.get(key) is not None:
                self.ignore(f"CFRubrics[0].CFRubricCriteria[*].{key}")
        self.unknown(
            crit,
            {
                "identifier",
                "uri",
                "CFItemURI",
                "position",
                "rubricId",
                "lastChangeDateTime",
                "CFRubricCriterionLevels",
                "category",
                "description",
                "weight",
                "extensions",
            },
            "CFRubrics[0].CFRubricCriteria[*]",
        )
        raw_levels = crit.get("CFRubricCriterionLevels")
        if raw_levels is not None and not isinstance(raw_levels, list):
            self.fail(f"{loc}.CFRubricCriterionLevels", "expected an array", "type_error")
            raw_levels = []
        levels: list[_CriterionLevel] = []
        for li, cell in enumerate(raw_levels or []):
            lloc = f"{loc}.CFRubricCriterionLevels[{li}]"
            parsed = self.criterion_level(cell, lloc)
            if parsed is not None:
                levels.append(parsed)
        if crit_id is None or not self.claim(crit_id, loc) or item_id is None:
            return None
        return _Criterion(loc, crit_id, item_id, levels)

    def criterion_level(self, cell: object, loc: str) -> _CriterionLevel | None:
        if not isinstance(cell, dict):
            self.fail(loc, "expected an object", "type_error")
            return None
        cell_id = self.identifier(cell, loc, "CFRubricCriterionLevel")
        self.uri(cell, loc)
        quality = self.string(cell, "quality", loc, max_len=200)
        description = self.string(cell, "description", loc)
        score = self.number(cell, "score", loc)
        position = self.integer(cell, "position", loc)
        level_ref: uuid.UUID | None = None
        extensions = cell.get("extensions")
        if extensions is not None:
            if not isinstance(extensions, list) or not all(isinstance(e, dict) for e in extensions):
                self.fail(f"{loc}.extensions", "expected an array of objects", "type_error")
            else:
                for ext in extensions:
                    if ext.get(EXT_LEVEL_ID) is not None:
                        level_ref = self.uuid_value(ext[EXT_LEVEL_ID], f"{loc}.extensions.{EXT_LEVEL_ID}")
                    for key in ext:
                        if key != EXT_LEVEL_ID:
                            self.ignore(
                                f"CFRubrics[0].CFRubricCriteria[*].CFRubricCriterionLevels[*].extensions.{key}"
                            )
        if cell.get("feedback") is not None:
            self.ignore("CFRubrics[0].CFRubricCriteria[*].CFRubricCriterionLevels[*].feedback")
        self.unknown(
            cell,
            {
                "identifier",
                "uri",
                "quality",
                "description",
                "score",
                "position",
                "feedback",
                "rubricCriterionId",
                "lastChangeDateTime",
                "extensions",
            },
            "CFRubrics[0].CFRubricCriteria[*].CFRubricCriterionLevels[*]",
        )
        if cell_id is None or not self.claim(cell_id, loc):
            return None
        return _CriterionLevel(loc, cell_id, quality, description, score, position, level_ref)

    # -- structure

    def check_cycles(self, items: dict[uuid.UUID, _Item], edges: list[_Edge]) -> None:
        """Every isChildOf edge between items, depth-first without recursion: O(items + edges)."""
        parents: dict[uuid.UUID, list[_Edge]] = {}
        for link in edges:
            if link.parent in items:
                parents.setdefault(link.child, []).append(link)
        state: dict[uuid.UUID, int] = {}  # 1 = on the current path, 2 = done
        for start in parents:
            if start in state:
                continue
            state[start] = 1
            stack: list[tuple[uuid.UUID, Iterator[_Edge]]] = [(start, iter(parents.get(start, ())))]
            while stack:
                node, pending = stack[-1]
                edge: _Edge | None = next(pending, None)
                if edge is None:
                    state[node] = 2
                    stack.pop()
                    continue
                seen = state.get(edge.parent, 0)
                if seen == 1:
                    self.fail(
                        edge.loc,
                        f"isChildOf cycle: {edge.child} is a child of {edge.parent}, which descends from it",
                        "cycle",
                    )
                elif seen == 0:
                    state[edge.parent] = 1
                    stack.append((edge.parent, iter(parents.get(edge.parent, ()))))

    def build_tree(
        self,
        tree: FrameworkTree,
        items: dict[uuid.UUID, _Item],
        edges: list[_Edge],
        item_types: dict[str, str],
    ) -> None:
        secondary: list[_Edge] = []
        for edge in edges:
            item = items[edge.child]
            if item.association_id is None:
                item.parent = None if edge.parent == tree.id else edge.parent
                item.association_id = edge.id
                item.sequence = edge.sequence
            else:
                secondary.append(edge)
                self.warn("CFItem with several isChildOf parents: the first places it in the tree")
        self.secondary = secondary
        roots: list[uuid.UUID] = []
        for item in items.values():
            if item.association_id is None:
                item.association_id = _derived_id(item.id, "isChildOf")
                self.warn("CFItem without an isChildOf association: placed under the CFDocument")
            if item.parent is None:
                roots.append(item.id)
            else:
                items[item.parent].children.append(item.id)

        def sort_key(item_id: uuid.UUID) -> tuple[int, int, int]:
            item = items[item_id]
            if item.sequence is not None:
                return (0, item.sequence, item.index)
            if item.list_enumeration is not None and item.list_enumeration.isdigit():
                return (0, int(item.list_enumeration[:9]), item.index)
            return (1, 0, item.index)

        # Pre-order walk (parents before children): decides roles, positions and nesting.
        counter = 0
        attributes: list[tuple[int, AttributeNode]] = []
        competencies: list[tuple[int, CompetencyNode]] = []
        by_id: dict[uuid.UUID, AttributeNode | CompetencyNode] = {}
        stack: list[tuple[uuid.UUID, int]] = [(r, 1) for r in sorted(roots, key=sort_key, reverse=True)]
        while stack:
            item_id, depth = stack.pop()
            item = items[item_id]
            item.order = counter
            counter += 1
            node = self.place(tree, item, depth, items, by_id, item_types)
            if isinstance(node, AttributeNode):
                attributes.append((item.index, node))
            elif isinstance(node, CompetencyNode):
                competencies.append((item.index, node))
            if node is not None:
                by_id[item.id] = node
            stack.extend((c, depth + 1) for c in sorted(item.children, key=sort_key, reverse=True))
        tree.attributes = [n for _, n in sorted(attributes, key=lambda p: (p[1].position, p[0]))]
        tree.competencies = [n for _, n in sorted(competencies, key=lambda p: (p[1].position, p[0]))]

    def place(
        self,
        tree: FrameworkTree,
        item: _Item,
        depth: int,
        items: dict[uuid.UUID, _Item],
        by_id: dict[uuid.UUID, AttributeNode | CompetencyNode],
        item_types: dict[str, str],
    ) -> AttributeNode | CompetencyNode | None:
        type_key = _norm_type(item.type_name) if item.type_name else ""
        parent = by_id.get(item.parent) if item.parent is not None else None
        if type_key in _GRADE_BAND_TYPES | _LOOK_FOR_TYPES:
            if isinstance(parent, CompetencyNode) and not item.children:
                item.role = "folded"
                if type_key in _GRADE_BAND_TYPES:
                    parent.grade_bands.append(GradeBand(self.band_label(item), item.statement))
                    self.warn("Grade Band Descriptor CFItem folded into its competency")
                else:
                    parent.look_fors.append(item.statement)
                    self.warn("Look-for CFItem folded into its competency")
                return None
            self.warn(f"{item.type_name} CFItem not directly under a competency: imported as a competency")
        if type_key in _ATTRIBUTE_TYPES:
            role = "attribute" if depth == 1 else "competency"
            if depth != 1:
                self.warn("attribute-typed CFItem below the top level: imported as a competency")
        elif type_key in _COMPETENCY_TYPES:
            role = "competency"
        else:
            role = "attribute" if depth == 1 and item.children else "competency"
        item.role = role

        if item.sequence is not None:
            position = item.sequence
        elif item.list_enumeration is not None and item.list_enumeration.isdigit():
            position = int(item.list_enumeration[:9])
        else:
            position = item.order
        assert item.association_id is not None
        extra = dict(item.kept)
        canonical = ATTRIBUTE_TYPE if role == "attribute" else COMPETENCY_TYPE
        if item.type_name and item.type_name != canonical:
            extra["CFItemType"] = item.type_name
        extensions = dict(item.extensions)
        consumed = _ATTRIBUTE_EXTENSIONS if role == "attribute" else _COMPETENCY_EXTENSIONS
        for key in consumed:
            extensions.pop(key, None)
        if extensions:
            extra["extensions"] = extensions

        if role == "attribute":
            title = item.abbreviated or derive_title(item.statement)
            return AttributeNode(
                id=item.id,
                title=title,
                code=item.code,
                description=item.statement if item.statement != title else None,
                foundational=bool(item.portrait.get(EXT_FOUNDATIONAL, False)),
                position=position,
                association_id=item.association_id,
                extra=extra,
            )
        attribute_id: uuid.UUID | None = None
        parent_id: uuid.UUID | None = None
        if isinstance(parent, AttributeNode):
            attribute_id = parent.id
        elif isinstance(parent, CompetencyNode):
            parent_id = parent.id
            attribute_id = parent.attribute_id
        return CompetencyNode(
            id=item.id,
            title=item.abbreviated or derive_title(item.statement),
            statement=item.statement,
            code=item.code,
            category=item.portrait.get(EXT_CATEGORY),
            attribute_id=attribute_id,
            parent_id=parent_id,
            position=position,
            grade_bands=list(item.portrait.get(EXT_GRADE_BANDS, [])),
            look_fors=list(item.portrait.get(EXT_LOOK_FORS, [])),
            launch_school_year=item.portrait.get(EXT_LAUNCH),
            association_id=item.association_id,
            criterion_id=_derived_id(item.id, "CFRubricCriterion"),
            extra=extra,
        )

    @staticmethod
    def band_label(item: _Item) -> str:
        if item.abbreviated:
            label = item.abbreviated
        elif item.code:
            label = item.code
        elif item.education_level:
            first, last = item.education_level[0], item.education_level[-1]
            label = first if first == last else f"{first}-{last}"
        else:
            label = "all"
        return label[:20]

    def other_associations(
        self,
        others: list[dict[str, Any]],
        items: dict[uuid.UUID, _Item],
    ) -> list[dict[str, Any]]:
        """Associations outside the tree (and extra isChildOf parents), kept for export."""
        records: list[dict[str, Any]] = []
        for edge in self.secondary:
            record: dict[str, Any] = {
                "identifier": str(edge.id),
                "associationType": "isChildOf",
                "originNodeURI": {"identifier": str(edge.child)},
                "destinationNodeURI": {"identifier": str(edge.parent)},
            }
            if edge.sequence is not None:
                record["sequenceNumber"] = edge.sequence
            records.append(record)
        kept: list[dict[str, Any]] = []
        for record in [*records, *others]:
            internal = [
                uuid.UUID(end["identifier"])
                for end in (record["originNodeURI"], record["destinationNodeURI"])
                if len(end) == 1
            ]
            if any(ident in items and items[ident].role == "folded" for ident in internal):
                self.ignore("CFAssociations[*] to a folded grade band or look-for item")
                continue
            kept.append(record)
        return kept

    def apply_rubric(
        self,
        tree: FrameworkTree,
        rubric: tuple[dict[str, Any], list[LevelNode] | None, list[_Criterion]] | None,
    ) -> None:
        if rubric is None:
            return
        info, levels, criteria = rubric
        rubric_id = info.pop("identifier")
        if rubric_id is not None:
            tree.rubric_id = rubric_id
        if info:
            tree.extra["rubric"] = info
        competencies = {c.id: c for c in tree.competencies}
        derived = levels is None
        if levels is None:
            levels = self.derive_levels(tree, criteria)
        tree.levels = levels
        if not levels and not criteria:
            self.warn("CFRubric without criteria or levels: no rubric scale imported")
        by_id = {lv.id: lv for lv in levels}
        by_position = {lv.position: lv for lv in levels}
        by_title = {lv.title.casefold(): lv for lv in levels}
        position_of = {lv.id: lv.position for lv in levels}
        seen_items: set[uuid.UUID] = set()
        for criterion in criteria:
            comp = competencies.get(criterion.item)
            if comp is None:
                self.ignore("CFRubrics[0].CFRubricCriteria[*] for an item that is not a competency")
                continue
            if criterion.item in seen_items:
                self.ignore("CFRubrics[0].CFRubricCriteria[*] repeating a competency")
                continue
            seen_items.add(criterion.item)
            comp.criterion_id = criterion.id
            taken: set[uuid.UUID] = set()
            for cell in criterion.levels:
                level = self.match_level(cell, by_id, by_position, by_title, derived=derived)
                if level is None:
                    self.ignore("CFRubricCriterionLevels[*] matching no rubric level")
                    continue
                if level.id in taken:
                    self.ignore("CFRubricCriterionLevels[*] repeating a level of the same criterion")
                    continue
                text = cell.description or None
                if text is None:
                    self.ignore("CFRubricCriterionLevels[*] without description")
                    continue
                taken.add(level.id)
                comp.descriptors.append(DescriptorNode(cell.id, level.id, text))
            comp.descriptors.sort(key=lambda d: position_of.get(d.level_id, 0))

    @staticmethod
    def _cell_key(cell: _CriterionLevel) -> tuple[str, str] | None:
        if cell.position is not None:
            return ("position", str(cell.position))
        if cell.quality:
            return ("quality", cell.quality.casefold())
        return None

    def match_level(
        self,
        cell: _CriterionLevel,
        by_id: dict[uuid.UUID, LevelNode],
        by_position: dict[int, LevelNode],
        by_title: dict[str, LevelNode],
        *,
        derived: bool,
    ) -> LevelNode | None:
        if cell.level_ref is not None and cell.level_ref in by_id:
            return by_id[cell.level_ref]
        if derived:
            key = self._cell_key(cell)
            level_id = self.derived_level_ids.get(key) if key else None
            return by_id.get(level_id) if level_id else None
        if cell.quality and cell.quality.casefold() in by_title:
            return by_title[cell.quality.casefold()]
        if cell.position is not None:
            return by_position.get(cell.position)
        return None

    def derive_levels(self, tree: FrameworkTree, criteria: list[_Criterion]) -> list[LevelNode]:
        """The rubric scale from criterion levels, for packages without ``portraitLevels``."""
        groups: dict[tuple[str, str], list[_CriterionLevel]] = {}
        for criterion in criteria:
            for cell in criterion.levels:
                key = self._cell_key(cell)
                if key is None:
                    self.ignore("CFRubricCriterionLevels[*] without position or quality")
                    continue
                groups.setdefault(key, []).append(cell)
        if not groups:
            return []
        self.warn("rubric levels derived from the criterion levels (no extensions.portraitLevels)")
        first = {key: cells[0] for key, cells in groups.items()}
        order = list(groups)
        if all(first[k].score is not None for k in order):
            order.sort(key=lambda k: first[k].score or 0.0)  # stable: ties keep first-seen order
        elif all(k[0] == "position" for k in order):
            order.sort(key=lambda k: int(k[1]))
        levels: list[LevelNode] = []
        proficient_taken = False
        for position, key in enumerate(order):
            cell = first[key]
            title = cell.quality or f"Level {key[1]}"
            level_id = _derived_id(tree.rubric_id, "level", *key)
            self.derived_level_ids[key] = level_id
            proficient = not proficient_taken and title.casefold() in (
                "proficient",
                "meets",
                "meets expectations",
            )
            proficient_taken = proficient_taken or proficient
            levels.append(LevelNode(level_id, position, title[:200], None, cell.score, proficient))
        return levels


def parse_package(
    data: object, *, max_items: int = 20_000, max_associations: int = 100_000
) -> tuple[FrameworkTree, ImportReport]:
    """Map a CASE CFPackage (1.1, or leniently 1.0-style) to a framework tree and an import report.

    Raises :class:`CaseImportError` with every problem found when the package cannot be imported.
    Packages with more than ``max_items`` CFItems or ``max_associations`` CFAssociations are refused before
    anything is built.
    """
    return _Parser(max_items, max_associations).parse(data)
