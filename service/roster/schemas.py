"""Roster request and response schemas (OneRoster 1.2 vocabularies)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

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
