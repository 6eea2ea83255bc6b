"""Roster tables. Every row carries its tenant and an optional OneRoster ``sourcedId``."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, created_at_field, new_id, updated_at_field


class RosterBase(SQLModel):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    sourced_id: str | None = Field(default=None, max_length=255)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Org(RosterBase, table=True):
    """A district, school or other organisation of the tenant."""

    __tablename__ = "orgs"
    __table_args__ = (UniqueConstraint("tenant_id", "sourced_id"),)

    name: str = Field(max_length=255)
    type: str = Field(max_length=32)
    identifier: str | None = Field(default=None, max_length=255)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="orgs.id", ondelete="SET NULL")


class AcademicSession(RosterBase, table=True):
    """A school year, semester, term or grading period."""

    __tablename__ = "academic_sessions"
    __table_args__ = (UniqueConstraint("tenant_id", "sourced_id"),)

    title: str = Field(max_length=255)
    type: str = Field(max_length=32)
    start_date: date
    end_date: date
    school_year: int
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="academic_sessions.id", ondelete="SET NULL")


class Person(RosterBase, table=True):
    """A learner, educator or other person; ``role`` is the primary role."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sourced_id"),
        Index("ix_people_tenant_id_role_family_name", "tenant_id", "role", "family_name"),
    )

    role: str = Field(max_length=32)
    given_name: str = Field(max_length=255)
    family_name: str = Field(max_length=255)
    middle_name: str | None = Field(default=None, max_length=255)
    preferred_name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    username: str | None = Field(default=None, max_length=255)
    identifier: str | None = Field(default=None, max_length=255)
    grades: list[str] = Field(default_factory=list, sa_type=JSONType)


class PersonOrg(SQLModel, table=True):
    """A person's role at an org (OneRoster 1.2 ``roles[]``)."""

    __tablename__ = "person_orgs"
    __table_args__ = (UniqueConstraint("person_id", "org_id", "role"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE")
    org_id: uuid.UUID = Field(foreign_key="orgs.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=32)
    role_type: str = Field(default="primary", max_length=16)


class Class(RosterBase, table=True):
    """A class (section) taught at a school during an academic session."""

    __tablename__ = "classes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sourced_id"),
        Index("ix_classes_tenant_id_title", "tenant_id", "title"),
    )

    title: str = Field(max_length=255)
    class_code: str | None = Field(default=None, max_length=255)
    class_type: str = Field(default="scheduled", max_length=16)
    location: str | None = Field(default=None, max_length=255)
    school_id: uuid.UUID = Field(foreign_key="orgs.id", ondelete="RESTRICT", index=True)
    academic_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="academic_sessions.id", ondelete="SET NULL", index=True
    )
    grades: list[str] = Field(default_factory=list, sa_type=JSONType)
    subjects: list[str] = Field(default_factory=list, sa_type=JSONType)
    #: The course this class is a section of (OneRoster ``class.course``).
    course_id: uuid.UUID | None = Field(default=None, foreign_key="courses.id", ondelete="SET NULL")


class Enrollment(RosterBase, table=True):
    """A person's enrollment in a class with a role (student, teacher, ...)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sourced_id"),
        UniqueConstraint("class_id", "person_id", "role"),
        Index("ix_enrollments_person_id", "person_id"),
    )

    class_id: uuid.UUID = Field(foreign_key="classes.id", ondelete="CASCADE")
    person_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE")
    role: str = Field(max_length=32)
    primary: bool = False
    begin_date: date | None = None
    end_date: date | None = None


class Course(RosterBase, table=True):
    """A course the district offers (the catalogue entry classes are sections of).

    Written by the API and by the OneRoster sync (``sourced_id`` set), like every roster row.
    """

    __tablename__ = "courses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sourced_id"),
        Index("ix_courses_tenant_id_title", "tenant_id", "title"),
    )

    title: str = Field(max_length=255)
    course_code: str | None = Field(default=None, max_length=255)
    subject: str | None = Field(default=None, max_length=255)
    grade_levels: list[str] = Field(default_factory=list, sa_type=JSONType)
    credits: float | None = None
    org_id: uuid.UUID | None = Field(default=None, foreign_key="orgs.id", ondelete="SET NULL")


class CourseRecord(SQLModel, table=True):
    """One line of a learner's academic record: a course taken, its term, final grade and credits.

    Title, code and subject are snapshots (always set): transfer credit may name a course the district
    has no row for, and a later catalogue edit must not rewrite history. ``source_ref`` (unique per
    tenant and source when set) is how a source finds its record again, e.g. the OneRoster result
    sourcedId.
    """

    __tablename__ = "course_records"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "source_ref"),
        Index("ix_course_records_tenant_id_learner_id", "tenant_id", "learner_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    learner_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE")
    course_id: uuid.UUID | None = Field(
        default=None, foreign_key="courses.id", ondelete="SET NULL", index=True
    )
    course_title: str = Field(max_length=255)
    course_code: str = Field(max_length=255)
    subject: str | None = Field(default=None, max_length=255)
    academic_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="academic_sessions.id", ondelete="SET NULL"
    )
    term_title: str | None = Field(default=None, max_length=255)
    school_year: str = Field(max_length=32)
    school_name: str | None = Field(default=None, max_length=255)
    grade: str = Field(max_length=32)
    grade_numeric: float | None = None
    grade_scale: str | None = Field(default=None, max_length=64)
    credits_attempted: float | None = None
    credits_earned: float | None = None
    status: str = Field(default="completed", max_length=16)
    source: str = Field(default="api", max_length=16)
    source_ref: str | None = Field(default=None, max_length=255)
    completed_on: date | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
