"""Constants and small helpers shared by the CASE import, export and read views."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime

from service.errors import ValidationFailedError

CASE_API_PATH = "/ims/case/v1p1"
CASE_VERSION = "1.1"
#: At most this many problems are listed in one CaseImportError.
MAX_ERRORS = 100
#: Titles derived from a long ``fullStatement`` are cut to about this many characters.
TITLE_LENGTH = 150

EXT_KIND = "portraitKind"
EXT_CATEGORY = "portraitCategory"
EXT_GRADE_BANDS = "portraitGradeBands"
EXT_LOOK_FORS = "portraitLookFors"
EXT_LAUNCH = "portraitLaunchSchoolYear"
EXT_FOUNDATIONAL = "portraitFoundational"
EXT_LEVELS = "portraitLevels"
EXT_LEVEL_ID = "portraitLevelId"
_COMPETENCY_EXTENSIONS = (EXT_CATEGORY, EXT_GRADE_BANDS, EXT_LOOK_FORS, EXT_LAUNCH)
_ATTRIBUTE_EXTENSIONS = (EXT_FOUNDATIONAL,)

ATTRIBUTE_TYPE = "Attribute"
COMPETENCY_TYPE = "Competency"

#: Namespace of identifiers this module derives (item types, missing association/criterion ids).
_NAMESPACE = uuid.UUID("5f0c6c1e-2b7a-5d53-9a39-0c7d3e0b8a41")
_NO_DOCUMENT = uuid.UUID(int=0)  # placeholder while a package without a usable CFDocument is checked
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EXT_ASSOCIATION_RE = re.compile(r"^ext:[A-Za-z0-9.\-_|]+$")
_INT32 = (-(2**31), 2**31 - 1)

_ASSOCIATION_TYPES = frozenset(
    {
        "isChildOf",
        "isPeerOf",
        "isPartOf",
        "exactMatchOf",
        "precedes",
        "isRelatedTo",
        "replacedBy",
        "exemplar",
        "hasSkillLevel",
        "isTranslationOf",
    }
)
_STATUS_FROM_ADOPTION = {
    "draft": "draft",
    "privatedraft": "draft",
    "adopted": "published",
    "implemented": "published",
    "deprecated": "retired",
}
_ADOPTION_FROM_STATUS = {"draft": "Draft", "published": "Adopted", "retired": "Deprecated"}

# CFItemType names (compared without case, spaces or punctuation) that decide a node's role.
_ATTRIBUTE_TYPES = frozenset({"attribute", "portraitattribute", "domain", "competencygroup", "grouping"})
_COMPETENCY_TYPES = frozenset({"competency", "portraitcompetency", "subcompetency", "skill"})
_GRADE_BAND_TYPES = frozenset({"gradebanddescriptor", "gradeband", "gradebanddescription"})
_LOOK_FOR_TYPES = frozenset({"lookfor", "lookfors"})

# "Portrait of a Leader" -> leader; checked in this order, first on the word after "portrait of a".
_KIND_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("leader", re.compile(r"\bleaders?(hip)?\b")),
    ("educator", re.compile(r"\b(educators?|teachers?)\b")),
    ("learner", re.compile(r"\blearners?\b")),
    ("graduate", re.compile(r"\bgraduates?\b")),
    ("system", re.compile(r"\bsystems?\b")),
    ("self", re.compile(r"\bself\b")),
)
_PORTRAIT_OF = re.compile(r"portrait\s+of\s+(?:an?\s+|the\s+)?([a-z-]+)")

# Members of each CASE object: consumed into typed fields, or kept in ``extra`` and given back on export.
_PACKAGE_KEYS = frozenset(
    {"CFDocument", "CFItems", "CFAssociations", "CFDefinitions", "CFRubrics", "extensions"}
)
_DOC_CONSUMED = frozenset(
    {
        "identifier",
        "uri",
        "title",
        "creator",
        "publisher",
        "description",
        "language",
        "version",
        "adoptionStatus",
        "statusStartDate",
        "subject",
        "lastChangeDateTime",
        "caseVersion",
        "extensions",
    }
)
_DOC_KEPT: dict[str, str] = {
    "frameworkType": "str",
    "officialSourceURL": "str",
    "notes": "str",
    "statusEndDate": "date",
    "licenseURI": "link",
    "subjectURI": "links",
}
_ITEM_CONSUMED = frozenset(
    {
        "identifier",
        "uri",
        "fullStatement",
        "abbreviatedStatement",
        "humanCodingScheme",
        "CFItemType",
        "CFItemTypeURI",
        "lastChangeDateTime",
        "extensions",
    }
)
_ITEM_KEPT: dict[str, str] = {
    "alternativeLabel": "str",
    "listEnumeration": "str",
    "conceptKeywords": "strs",
    "conceptKeywordsURI": "link",
    "notes": "str",
    "subject": "strs",
    "subjectURI": "links",
    "language": "str",
    "educationLevel": "strs",
    "licenseURI": "link",
    "statusStartDate": "date",
    "statusEndDate": "date",
}
_ASSOCIATION_CONSUMED = frozenset(
    {
        "identifier",
        "uri",
        "associationType",
        "originNodeURI",
        "destinationNodeURI",
        "sequenceNumber",
        "lastChangeDateTime",
    }
)
# Kept for associations other than the tree's isChildOf ones (those become node links).
_ASSOCIATION_KEPT: dict[str, str] = {
    "notes": "str",
    "extensions": "object",
    "CFAssociationGroupingURI": "link",
}


class CaseImportError(ValidationFailedError):
    """The CFPackage cannot be imported; ``errors`` lists every problem found (up to ``MAX_ERRORS``)."""

    code = "invalid_case_package"
    title = "Invalid CASE package"


# -- small helpers ------------------------------------------------------------------------------


def _norm_type(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def derive_title(text: str) -> str:
    """A title from a statement: whitespace collapsed, cut at a word boundary near TITLE_LENGTH."""
    flat = " ".join(text.split())
    if len(flat) <= TITLE_LENGTH:
        return flat
    cut = flat[: TITLE_LENGTH - 1]
    space = cut.rfind(" ")
    if space > TITLE_LENGTH // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _derived_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, ":".join(str(p) for p in parts))


def default_rubric_id(framework_id: uuid.UUID) -> uuid.UUID:
    """The rubric identifier of a framework whose package had no CFRubric."""
    return _derived_id(framework_id, "CFRubric")


def item_type_id(framework_id: uuid.UUID, name: str) -> uuid.UUID:
    """The stable identifier of the CFItemType ``name`` in a framework's exports."""
    return _derived_id(framework_id, "CFItemType", name)


def _kind_from_title(title: str) -> str | None:
    text = title.casefold()
    match = _PORTRAIT_OF.search(text)
    if match:
        word = match.group(1)
        for kind, pattern in _KIND_WORDS:
            if pattern.search(word):
                return kind
    for kind, pattern in _KIND_WORDS:
        if pattern.search(text):
            return kind
    return None


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _render_counts(counter: Counter[str]) -> list[str]:
    return [key if n == 1 else f"{key} ({n})" for key, n in counter.items()]
