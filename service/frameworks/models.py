"""Framework tables.

Keys are composite ``(tenant_id, id)``: identifiers come from CASE packages (a CFDocument or CFItem
``identifier`` becomes the row's ``id``), so two districts may import the same package, and a foreign key
can never point into another tenant.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, new_id, updated_at_field


class Framework(SQLModel, table=True):
    """One version of a portrait. Drafts are editable; published versions are frozen."""

    __tablename__ = "frameworks"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        Index("ix_frameworks_tenant_id_family_id", "tenant_id", "family_id"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    #: Every version of the same portrait shares the family id (the first version's id).
    family_id: uuid.UUID
    previous_version_id: uuid.UUID | None = None
    kind: str = Field(max_length=16)
    title: str = Field(max_length=500)
    version: str = Field(default="1", max_length=50)
    status: str = Field(default="draft", max_length=16)
    adoption_date: date | None = None
    description: str | None = None
    creator: str | None = Field(default=None, max_length=500)
    publisher: str | None = Field(default=None, max_length=500)
    language: str | None = Field(default=None, max_length=35)
    subjects: list[str] = Field(default_factory=list, sa_type=JSONType)
    #: CASE identifiers of the framework's rubric, kept stable across export and import.
    rubric_id: uuid.UUID = Field(default_factory=new_id)
    #: CASE fields with no column of their own, kept for export.
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class FrameworkAttribute(SQLModel, table=True):
    """A grouping of competencies ("Human-Centered", "Critical Thinker"), optionally foundational."""

    __tablename__ = "framework_attributes"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"], ["frameworks.tenant_id", "frameworks.id"], ondelete="CASCADE"
        ),
        Index("ix_framework_attributes_framework", "tenant_id", "framework_id", "position"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    framework_id: uuid.UUID
    code: str | None = Field(default=None, max_length=100)
    title: str = Field(max_length=500)
    description: str | None = None
    foundational: bool = False
    position: int = 0
    #: CASE isChildOf association identifier linking this node to its parent.
    association_id: uuid.UUID = Field(default_factory=new_id)
    previous_id: uuid.UUID | None = None
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Competency(SQLModel, table=True):
    """A competency; ``statement`` describes it at the proficient level. May nest under another."""

    __tablename__ = "competencies"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"], ["frameworks.tenant_id", "frameworks.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "attribute_id"], ["framework_attributes.tenant_id", "framework_attributes.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["competencies.tenant_id", "competencies.id"]),
        Index("ix_competencies_framework", "tenant_id", "framework_id", "position"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    framework_id: uuid.UUID
    attribute_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    code: str | None = Field(default=None, max_length=100)
    title: str = Field(max_length=500)
    statement: str
    category: str | None = Field(default=None, max_length=16)
    position: int = 0
    #: [{"band": "K-2", "descriptor": "..."}] in band order.
    grade_bands: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    look_fors: list[str] = Field(default_factory=list, sa_type=JSONType)
    #: School year (ending year, e.g. 2027 for 2026-27) from which the competency is active.
    launch_school_year: int | None = None
    association_id: uuid.UUID = Field(default_factory=new_id)
    #: CASE CFRubricCriterion identifier for this competency's row of the rubric.
    criterion_id: uuid.UUID = Field(default_factory=new_id)
    previous_id: uuid.UUID | None = None
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class RubricLevel(SQLModel, table=True):
    """One ordered level of the framework's rubric scale (position 0 = lowest)."""

    __tablename__ = "rubric_levels"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "framework_id"], ["frameworks.tenant_id", "frameworks.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "framework_id", "position"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    framework_id: uuid.UUID
    position: int
    title: str = Field(max_length=200)
    description: str | None = None
    score: float | None = None
    #: The level at or above which a learner counts as proficient.
    proficient: bool = False


class LevelDescriptor(SQLModel, table=True):
    """What a rubric level looks like for one competency (a CASE CFRubricCriterionLevel)."""

    __tablename__ = "level_descriptors"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "competency_id"], ["competencies.tenant_id", "competencies.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "level_id"], ["rubric_levels.tenant_id", "rubric_levels.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "competency_id", "level_id"),
    )

    tenant_id: uuid.UUID
    id: uuid.UUID = Field(default_factory=new_id)
    competency_id: uuid.UUID
    level_id: uuid.UUID
    description: str
