"""Framework request and response schemas."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from service.schemas import InputSchema, ReadSchema

Kind = Literal["graduate", "learner", "educator", "leader", "system", "self"]
Status = Literal["draft", "published", "retired"]
Category = Literal["core", "technical", "transferable"]
Title = Annotated[str, Field(min_length=1, max_length=500)]
Code = Annotated[str, Field(min_length=1, max_length=100)]
LongText = Annotated[str, Field(min_length=1, max_length=20_000)]
SchoolYear = Annotated[int, Field(ge=1900, le=2200, description="ending year: 2027 means 2026-27")]


class GradeBandIn(InputSchema):
    band: Annotated[str, Field(min_length=1, max_length=20, examples=["K-2", "3-5", "6-8", "9-12"])]
    descriptor: LongText


class GradeBandRead(ReadSchema):
    band: str
    descriptor: str


class FrameworkCreate(InputSchema):
    kind: Kind
    title: Title
    version: Annotated[str, Field(min_length=1, max_length=50)] = "1"
    adoption_date: date | None = None
    description: LongText | None = None
    creator: Title | None = None
    publisher: Title | None = None
    language: Annotated[str, Field(min_length=2, max_length=35)] | None = None
    subjects: Annotated[list[Title], Field(max_length=20)] = Field(default_factory=list)


class FrameworkUpdate(InputSchema):
    title: Title | None = None
    version: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    adoption_date: date | None = None
    description: LongText | None = None
    creator: Title | None = None
    publisher: Title | None = None
    language: Annotated[str, Field(min_length=2, max_length=35)] | None = None
    subjects: Annotated[list[Title], Field(max_length=20)] | None = None


class NewVersion(InputSchema):
    version: Annotated[str, Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="defaults to the next number after the source version"
    )


class FrameworkRead(ReadSchema):
    id: uuid.UUID
    family_id: uuid.UUID
    previous_version_id: uuid.UUID | None
    kind: Kind
    title: str
    version: str
    status: Status
    adoption_date: date | None
    description: str | None
    creator: str | None
    publisher: str | None
    language: str | None
    subjects: list[str]
    published_at: datetime | None
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AttributeCreate(InputSchema):
    title: Title
    code: Code | None = None
    description: LongText | None = None
    foundational: bool = False
    position: Annotated[int, Field(ge=0, le=100_000)] | None = None


class AttributeUpdate(InputSchema):
    title: Title | None = None
    code: Code | None = None
    description: LongText | None = None
    foundational: bool | None = None
    position: Annotated[int, Field(ge=0, le=100_000)] | None = None


class AttributeRead(ReadSchema):
    id: uuid.UUID
    framework_id: uuid.UUID
    code: str | None
    title: str
    description: str | None
    foundational: bool
    position: int


class DescriptorIn(InputSchema):
    level_id: uuid.UUID
    description: LongText


class DescriptorRead(ReadSchema):
    id: uuid.UUID
    level_id: uuid.UUID
    description: str


class CompetencyCreate(InputSchema):
    title: Title
    statement: LongText = Field(description="the competency at the proficient level")
    code: Code | None = None
    category: Category | None = None
    attribute_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    position: Annotated[int, Field(ge=0, le=100_000)] | None = None
    grade_bands: Annotated[list[GradeBandIn], Field(max_length=20)] = Field(default_factory=list)
    look_fors: Annotated[list[LongText], Field(max_length=50)] = Field(default_factory=list)
    launch_school_year: SchoolYear | None = None


class CompetencyUpdate(InputSchema):
    title: Title | None = None
    statement: LongText | None = None
    code: Code | None = None
    category: Category | None = None
    attribute_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    position: Annotated[int, Field(ge=0, le=100_000)] | None = None
    grade_bands: Annotated[list[GradeBandIn], Field(max_length=20)] | None = None
    look_fors: Annotated[list[LongText], Field(max_length=50)] | None = None
    launch_school_year: SchoolYear | None = None


class CompetencyRead(ReadSchema):
    id: uuid.UUID
    framework_id: uuid.UUID
    attribute_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    code: str | None
    title: str
    statement: str
    category: Category | None
    position: int
    grade_bands: list[GradeBandRead]
    look_fors: list[str]
    launch_school_year: int | None
    descriptors: list[DescriptorRead] = Field(default_factory=list)


class LevelCreate(InputSchema):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: LongText | None = None
    score: float | None = Field(default=None, ge=-1e6, le=1e6)
    proficient: bool = False
    position: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None, description="0 = lowest; defaults to after the highest level"
    )


class LevelUpdate(InputSchema):
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: LongText | None = None
    score: float | None = Field(default=None, ge=-1e6, le=1e6)
    proficient: bool | None = None


class LevelRead(ReadSchema):
    id: uuid.UUID
    framework_id: uuid.UUID
    position: int
    title: str
    description: str | None
    score: float | None
    proficient: bool


class FrameworkTreeRead(FrameworkRead):
    """A framework with every attribute, competency (with level descriptors) and rubric level."""

    attributes: list[AttributeRead]
    competencies: list[CompetencyRead]
    levels: list[LevelRead]


class ImportReportRead(ReadSchema):
    items: int
    attributes: int
    competencies: int
    levels: int
    associations: int
    ignored: list[str]
    warnings: list[str]


class ImportResult(ReadSchema):
    framework: FrameworkRead
    report: ImportReportRead
    replaced: bool = False


def dump_changes(model: InputSchema) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)
