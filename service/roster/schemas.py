"""Roster request and response schemas (OneRoster 1.2 vocabularies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from service.schemas import InputSchema, ReadSchema

Status = Literal["active", "inactive"]
OrgType = Literal["department", "school", "district", "local", "state", "national"]
SessionType = Literal["gradingPeriod", "semester", "schoolYear", "term"]
PersonRole = Literal[
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
]
EnrollmentRole = Literal["administrator", "proctor", "student", "teacher", "aide"]
ClassType = Literal["homeroom", "scheduled"]
# CEDS grade levels as used by OneRoster.
Grade = Literal[
    "IT", "PR", "PK", "TK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11",
    "12", "13", "PS", "UG", "Other",
]  # fmt: skip
SourcedId = Annotated[str, Field(min_length=1, max_length=255)]
Text = Annotated[str, Field(min_length=1, max_length=255)]
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="an e-mail address")]
Grades = Annotated[list[Grade], Field(max_length=20)]
Subjects = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=20)]


# -- orgs -------------------------------------------------------------------------------------


class OrgCreate(InputSchema):
    name: Text
    type: OrgType
    identifier: Text | None = None
    parent_id: uuid.UUID | None = None
    sourced_id: SourcedId | None = None
    status: Status = "active"


class OrgUpdate(InputSchema):
    name: Text | None = None
    identifier: Text | None = None
    parent_id: uuid.UUID | None = None
    status: Status | None = None


class OrgRead(ReadSchema):
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    name: str
    type: OrgType
    identifier: str | None
    parent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


# -- academic sessions ------------------------------------------------------------------------


class AcademicSessionCreate(InputSchema):
    title: Text
    type: SessionType
    start_date: date
    end_date: date
    school_year: int = Field(ge=1900, le=2200)
    parent_id: uuid.UUID | None = None
    sourced_id: SourcedId | None = None
    status: Status = "active"

    @model_validator(mode="after")
    def _dates(self) -> AcademicSessionCreate:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class AcademicSessionRead(ReadSchema):
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    title: str
    type: SessionType
    start_date: date
    end_date: date
    school_year: int
    parent_id: uuid.UUID | None


# -- people -----------------------------------------------------------------------------------


class PersonFields(InputSchema):
    given_name: Text
    family_name: Text
    middle_name: Text | None = None
    preferred_name: Text | None = None
    email: Email | None = None
    username: Text | None = None
    identifier: Text | None = Field(default=None, description="the district's own person number")
    grades: Grades = Field(default_factory=list)
    org_ids: Annotated[list[uuid.UUID], Field(max_length=50)] = Field(
        default_factory=list, description="schools (or other orgs) the person belongs to"
    )
    sourced_id: SourcedId | None = None
    status: Status = "active"


class LearnerCreate(PersonFields):
    pass


class PersonCreate(PersonFields):
    role: PersonRole


class PersonUpdate(InputSchema):
    given_name: Text | None = None
    family_name: Text | None = None
    middle_name: Text | None = None
    preferred_name: Text | None = None
    email: Email | None = None
    username: Text | None = None
    identifier: Text | None = None
    grades: Grades | None = None
    org_ids: Annotated[list[uuid.UUID], Field(max_length=50)] | None = None
    status: Status | None = None


class PersonRead(ReadSchema):
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    role: PersonRole
    given_name: str
    family_name: str
    middle_name: str | None
    preferred_name: str | None
    email: str | None
    username: str | None
    identifier: str | None
    grades: list[str]
    org_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


# -- classes ----------------------------------------------------------------------------------


class ClassCreate(InputSchema):
    title: Text
    school_id: uuid.UUID
    academic_session_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    class_code: Text | None = None
    class_type: ClassType = "scheduled"
    location: Text | None = None
    grades: Grades = Field(default_factory=list)
    subjects: Subjects = Field(default_factory=list)
    sourced_id: SourcedId | None = None
    status: Status = "active"


class ClassUpdate(InputSchema):
    title: Text | None = None
    school_id: uuid.UUID | None = None
    academic_session_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    class_code: Text | None = None
    class_type: ClassType | None = None
    location: Text | None = None
    grades: Grades | None = None
    subjects: Subjects | None = None
    status: Status | None = None


class ClassRead(ReadSchema):
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    title: str
    class_code: str | None
    class_type: ClassType
    location: str | None
    school_id: uuid.UUID
    academic_session_id: uuid.UUID | None
    course_id: uuid.UUID | None
    grades: list[str]
    subjects: list[str]
    created_at: datetime
    updated_at: datetime


# -- enrollments ------------------------------------------------------------------------------


class EnrollmentCreate(InputSchema):
    class_id: uuid.UUID
    person_id: uuid.UUID
    role: EnrollmentRole
    primary: bool = False
    begin_date: date | None = None
    end_date: date | None = None
    sourced_id: SourcedId | None = None
    status: Status = "active"


class EnrollmentRead(ReadSchema):
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    class_id: uuid.UUID
    person_id: uuid.UUID
    role: EnrollmentRole
    primary: bool
    begin_date: date | None
    end_date: date | None


# -- courses ----------------------------------------------------------------------------------

Credits = Annotated[float, Field(ge=0, le=1000, description="credits (0 or more)")]
CourseGradeLevels = Annotated[list[Annotated[str, Field(min_length=1, max_length=16)]], Field(max_length=20)]


class CourseCreate(InputSchema):
    title: Text
    course_code: Text | None = None
    subject: Text | None = None
    grade_levels: CourseGradeLevels = Field(default_factory=list)
    credits: Credits | None = None
    org_id: uuid.UUID | None = None
    sourced_id: SourcedId | None = None
    status: Status = "active"


class CourseRead(ReadSchema):
    id: uuid.UUID
    sourced_id: str | None
    status: Status
    title: str
    course_code: str | None
    subject: str | None
    grade_levels: list[str]
    credits: float | None
    org_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


# -- course records ---------------------------------------------------------------------------

CourseRecordStatus = Literal["in_progress", "completed", "withdrawn"]
CourseRecordSource = Literal["oneroster", "csv", "api"]
GradeText = Annotated[
    str, Field(min_length=1, max_length=32, description="the grade as reported: 'A-', '93'")
]
SchoolYear = Annotated[
    str, Field(min_length=4, max_length=32, description="the school year, e.g. '2025-2026'")
]
Code = Annotated[str, Field(max_length=255)]
GradeScale = Annotated[str, Field(min_length=1, max_length=64, description="e.g. 'A-F', '0-100'")]


class CourseRecordCreate(InputSchema):
    """A course on a learner's record. With ``course_id`` the title, code and subject default to the
    course's; without it (transfer credit, a prior school) ``course_title`` is required."""

    course_id: uuid.UUID | None = None
    course_title: Text | None = None
    course_code: Code | None = None
    subject: Text | None = None
    academic_session_id: uuid.UUID | None = None
    term_title: Text | None = None
    school_year: SchoolYear
    school_name: Text | None = None
    grade: GradeText
    grade_numeric: float | None = Field(default=None, ge=-1000, le=100000)
    grade_scale: GradeScale | None = None
    credits_attempted: Credits | None = None
    credits_earned: Credits | None = None
    status: CourseRecordStatus = "completed"
    completed_on: date | None = None


class CourseRecordUpdate(InputSchema):
    course_title: Text | None = None
    course_code: Code | None = None
    subject: Text | None = None
    academic_session_id: uuid.UUID | None = None
    term_title: Text | None = None
    school_year: SchoolYear | None = None
    school_name: Text | None = None
    grade: GradeText | None = None
    grade_numeric: float | None = Field(default=None, ge=-1000, le=100000)
    grade_scale: GradeScale | None = None
    credits_attempted: Credits | None = None
    credits_earned: Credits | None = None
    status: CourseRecordStatus | None = None
    completed_on: date | None = None


class CourseRecordRead(ReadSchema):
    id: uuid.UUID
    tenant_id: uuid.UUID
    learner_id: uuid.UUID
    course_id: uuid.UUID | None
    course_title: str
    course_code: str
    subject: str | None
    academic_session_id: uuid.UUID | None
    term_title: str | None
    school_year: str
    school_name: str | None
    grade: str
    grade_numeric: float | None
    grade_scale: str | None
    credits_attempted: float | None
    credits_earned: float | None
    status: CourseRecordStatus
    source: CourseRecordSource
    source_ref: str | None
    completed_on: date | None
    created_at: datetime
    updated_at: datetime


class CourseRecordImport(BaseModel):
    """What a CSV upload did: records created, records replaced (same ``source_ref``), their ids in
    file order."""

    created: int
    updated: int
    ids: list[uuid.UUID]
