"""OneRoster 1.1 / 1.2 records as providers send them, read leniently.

Real providers bend the specification: booleans arrive as JSON booleans or as "true"/"false"
strings, optional arrays arrive empty or missing, numbers arrive as strings, dates with or without a
time, and vendors add fields of their own. Every wire model accepts all of that; fields it does not
know are kept aside in ``model_extra`` (see :func:`extras`) rather than dropped or refused. What the
mapping cannot use is reported by mapping.py, record by record. Pure: no I/O.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
    return value


def _number(value: Any) -> Any:
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        return stripped
    return value


def _date(value: Any) -> Any:
    """A date, from "2024-09-01", "2024-09-01T00:00:00Z" or empty."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if len(stripped) > 10 and stripped[10] in "T ":
            return stripped[:10]
        return stripped
    if isinstance(value, datetime):
        return value.date()
    return value


def _list(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, dict):  # a single object where a list belongs
        return [value]
    return value


def _str_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):  # CSV style "09,10"
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _text(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and not value.strip():
        return None
    return value


Bool = Annotated[bool, BeforeValidator(_bool)]
Number = Annotated[float | None, BeforeValidator(_number)]
Day = Annotated[date | None, BeforeValidator(_date)]
Text = Annotated[str | None, BeforeValidator(_text)]
StrList = Annotated[list[str], BeforeValidator(_str_list)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=True)


class Ref(WireModel):
    """A GUID reference ``{"href", "sourcedId", "type"}``."""

    sourced_id: str = Field(alias="sourcedId", min_length=1)
    type: Text = None


def _ref(value: Any) -> Any:
    """A reference given as an object, as a bare sourcedId string, or empty."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        return {"sourcedId": value}
    return value


OptRef = Annotated[Ref | None, BeforeValidator(_ref)]
RefList = Annotated[list[Ref], BeforeValidator(_list)]


class Base(WireModel):
    sourced_id: str = Field(alias="sourcedId", min_length=1, max_length=255)
    status: str = "active"
    date_last_modified: Text = Field(default=None, alias="dateLastModified")
    metadata: dict[str, Any] | None = None

    @property
    def deleted(self) -> bool:
        return self.status.lower() == "tobedeleted"


class WireOrg(Base):
    name: str
    type: str
    identifier: Text = None
    parent: OptRef = None


class WireAcademicSession(Base):
    title: str
    type: str
    start_date: Day = Field(default=None, alias="startDate")
    end_date: Day = Field(default=None, alias="endDate")
    school_year: Text = Field(default=None, alias="schoolYear")
    parent: OptRef = None


class WireCourse(Base):
    title: str
    course_code: Text = Field(default=None, alias="courseCode")
    grades: StrList = Field(default_factory=list)
    subjects: StrList = Field(default_factory=list)
    org: OptRef = None


class WireRole(WireModel):
    """A 1.2 ``roles[]`` entry."""

    role_type: str = Field(default="primary", alias="roleType")
    role: str
    org: OptRef = None


class WireUser(Base):
    given_name: str = Field(alias="givenName")
    family_name: str = Field(alias="familyName")
    middle_name: Text = Field(default=None, alias="middleName")
    preferred_first_name: Text = Field(default=None, alias="preferredFirstName")
    username: Text = None
    email: Text = None
    identifier: Text = None
    enabled_user: Bool = Field(default=True, alias="enabledUser")
    grades: StrList = Field(default_factory=list)
    # 1.2
    roles: Annotated[list[WireRole], BeforeValidator(_list)] = Field(default_factory=list)
    primary_org: OptRef = Field(default=None, alias="primaryOrg")
    # 1.1
    role: Text = None
    orgs: RefList = Field(default_factory=list)


class WireClass(Base):
    title: str
    class_code: Text = Field(default=None, alias="classCode")
    class_type: Text = Field(default=None, alias="classType")
    location: Text = None
    grades: StrList = Field(default_factory=list)
    subjects: StrList = Field(default_factory=list)
    course: OptRef = None
    school: OptRef = None
    terms: RefList = Field(default_factory=list)


class WireEnrollment(Base):
    user: OptRef = None
    class_: OptRef = Field(default=None, alias="class")
    school: OptRef = None
    role: str
    primary: Bool = False
    begin_date: Day = Field(default=None, alias="beginDate")
    end_date: Day = Field(default=None, alias="endDate")


class WireCategory(Base):
    title: str
    weight: Number = None


class WireLearningObjectiveSet(WireModel):
    source: Text = None
    learning_objective_ids: StrList = Field(default_factory=list, alias="learningObjectiveIds")


class WireLineItem(Base):
    title: str
    description: Text = None
    assign_date: Day = Field(default=None, alias="assignDate")
    due_date: Day = Field(default=None, alias="dueDate")
    class_: OptRef = Field(default=None, alias="class")
    category: OptRef = None
    grading_period: OptRef = Field(default=None, alias="gradingPeriod")
    result_value_min: Number = Field(default=None, alias="resultValueMin")
    result_value_max: Number = Field(default=None, alias="resultValueMax")
    learning_objective_set: Annotated[list[WireLearningObjectiveSet], BeforeValidator(_list)] = Field(
        default_factory=list, alias="learningObjectiveSet"
    )


class WireResult(Base):
    line_item: OptRef = Field(default=None, alias="lineItem")
    student: OptRef = None
    score: Number = None
    score_status: Text = Field(default=None, alias="scoreStatus")
    score_date: Day = Field(default=None, alias="scoreDate")
    comment: Text = None


def extras(model: BaseModel) -> dict[str, Any]:
    """The fields a provider sent that the wire model does not know (vendor extensions)."""
    return dict(model.model_extra or {})


#: collection name -> (wire model, 1.1 path, 1.2 path); the order is the sync order (references first).
COLLECTIONS: dict[str, tuple[type[Base], str, str]] = {
    "orgs": (WireOrg, "/ims/oneroster/v1p1/orgs", "/ims/oneroster/rostering/v1p2/orgs"),
    "academicSessions": (
        WireAcademicSession,
        "/ims/oneroster/v1p1/academicSessions",
        "/ims/oneroster/rostering/v1p2/academicSessions",
    ),
    "courses": (WireCourse, "/ims/oneroster/v1p1/courses", "/ims/oneroster/rostering/v1p2/courses"),
    "users": (WireUser, "/ims/oneroster/v1p1/users", "/ims/oneroster/rostering/v1p2/users"),
    "classes": (WireClass, "/ims/oneroster/v1p1/classes", "/ims/oneroster/rostering/v1p2/classes"),
    "enrollments": (
        WireEnrollment,
        "/ims/oneroster/v1p1/enrollments",
        "/ims/oneroster/rostering/v1p2/enrollments",
    ),
    "categories": (
        WireCategory,
        "/ims/oneroster/v1p1/categories",
        "/ims/oneroster/gradebook/v1p2/categories",
    ),
    "lineItems": (WireLineItem, "/ims/oneroster/v1p1/lineItems", "/ims/oneroster/gradebook/v1p2/lineItems"),
    "results": (WireResult, "/ims/oneroster/v1p1/results", "/ims/oneroster/gradebook/v1p2/results"),
}


def collection_path(collection: str, version: str) -> str:
    _, v11, v12 = COLLECTIONS[collection]
    return v11 if version == "1.1" else v12
