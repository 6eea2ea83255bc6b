"""Frameworks (portraits) over GraphQL: the whole tree in one request, edits of drafts, the lifecycle
and CASE import.

Every link of the tree (attributes, competencies, descriptors, levels, versions) goes through the
request's framework loaders, so a framework of 5 or 500 competencies costs the same statements.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Self

import strawberry
from strawberry.scalars import JSON

from service.api.graphql.common import (
    Page,
    check_text,
    enum_value,
    field,
    invalid,
    mutation,
    paged,
    validate_input,
)
from service.api.graphql.context import Info
from service.errors import FieldError, ServiceError
from service.frameworks import models
from service.frameworks.schemas import (
    AttributeCreate,
    AttributeUpdate,
    CompetencyCreate,
    CompetencyUpdate,
    DescriptorIn,
    FrameworkCreate,
    FrameworkUpdate,
    LevelCreate,
    LevelUpdate,
    NewVersion,
)
from service.frameworks.tree import ImportReport

READ = "frameworks:read"
WRITE = "frameworks:write"
#: Same bound as the REST ``PUT .../descriptors`` body.
MAX_DESCRIPTORS = 100


@strawberry.enum(description="Which portrait a framework is.")
class FrameworkKind(Enum):
    GRADUATE = "graduate"
    LEARNER = "learner"
    EDUCATOR = "educator"
    LEADER = "leader"
    SYSTEM = "system"
    SELF = "self"


@strawberry.enum(
    description="Drafts are editable; published versions are frozen; retired ones stay readable."
)
class FrameworkStatus(Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


@strawberry.enum
class CompetencyCategory(Enum):
    CORE = "core"
    TECHNICAL = "technical"
    TRANSFERABLE = "transferable"


# -- types --------------------------------------------------------------------------------------


@strawberry.type(description="What a competency looks like in one grade band (K-2, 3-5, 6-8, 9-12, ...).")
class GradeBand:
    band: str
    descriptor: str


@strawberry.type(description="One ordered level of the framework's rubric scale (position 0 = lowest).")
class RubricLevel:
    id: uuid.UUID
    framework_id: uuid.UUID
    position: int
    title: str
    description: str | None
    score: float | None
    proficient: bool = strawberry.field(description="the level at or above which a learner is proficient")

    @classmethod
    def from_model(cls, row: models.RubricLevel) -> Self:
        return cls(
            id=row.id,
            framework_id=row.framework_id,
            position=row.position,
            title=row.title,
            description=row.description,
            score=row.score,
            proficient=row.proficient,
        )


@strawberry.type(description="What one rubric level looks like for one competency.")
class LevelDescriptor:
    id: uuid.UUID
    competency_id: uuid.UUID
    level_id: uuid.UUID
    description: str

    @field(description="The rubric level described.")
    async def level(self, info: Info) -> RubricLevel | None:
        principal = info.context.require(READ)
        row = await info.context.framework_loaders(principal).level.load(self.level_id)
        return None if row is None else RubricLevel.from_model(row)

    @classmethod
    def from_model(cls, row: models.LevelDescriptor) -> Self:
        return cls(
            id=row.id, competency_id=row.competency_id, level_id=row.level_id, description=row.description
        )


@strawberry.type(description="A competency; `statement` describes it at the proficient level.")
class Competency:
    id: uuid.UUID
    framework_id: uuid.UUID
    attribute_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    code: str | None
    title: str
    statement: str
    category: CompetencyCategory | None
    position: int
    grade_bands: list[GradeBand]
    look_fors: list[str]
    launch_school_year: int | None = strawberry.field(
        description="school year (ending year: 2027 means 2026-27) from which the competency is active"
    )
    previous_id: uuid.UUID | None = strawberry.field(
        description="the competency of the previous framework version this one was copied from"
    )

    @field(description="The competency's descriptor per rubric level, lowest level first.")
    async def descriptors(self, info: Info) -> list[LevelDescriptor]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).descriptors_of.load(self.id)
        return [LevelDescriptor.from_model(d) for d in rows]

    @field(description="The attribute grouping the competency, if any.")
    async def attribute(self, info: Info) -> Attribute | None:
        if self.attribute_id is None:
            return None
        principal = info.context.require(READ)
        # Through the framework's attribute list (already loaded for a tree): no statement of its own.
        rows = await info.context.framework_loaders(principal).attributes_of.load(self.framework_id)
        return next((Attribute.from_model(a) for a in rows if a.id == self.attribute_id), None)

    @field(description="The competency this one is nested under, if any.")
    async def parent(self, info: Info) -> Competency | None:
        if self.parent_id is None:
            return None
        principal = info.context.require(READ)
        # A parent is always in the same framework version: found in the (shared) competency list.
        rows = await info.context.framework_loaders(principal).competencies_of.load(self.framework_id)
        return next((Competency.from_model(c) for c in rows if c.id == self.parent_id), None)

    @field(description="Competencies nested directly under this one.")
    async def children(self, info: Info) -> list[Competency]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).competencies_of.load(self.framework_id)
        return [Competency.from_model(c) for c in rows if c.parent_id == self.id]

    @field(description="The framework version the competency belongs to.")
    async def framework(self, info: Info) -> Framework | None:
        principal = info.context.require(READ)
        row = await info.context.framework_loaders(principal).framework.load(self.framework_id)
        return None if row is None else Framework.from_model(row)

    @classmethod
    def from_model(cls, row: models.Competency) -> Self:
        return cls(
            id=row.id,
            framework_id=row.framework_id,
            attribute_id=row.attribute_id,
            parent_id=row.parent_id,
            code=row.code,
            title=row.title,
            statement=row.statement,
            category=CompetencyCategory(row.category) if row.category else None,
            position=row.position,
            grade_bands=[GradeBand(band=g["band"], descriptor=g["descriptor"]) for g in row.grade_bands],
            look_fors=list(row.look_fors),
            launch_school_year=row.launch_school_year,
            previous_id=row.previous_id,
        )


@strawberry.type(description='A grouping of competencies ("Human-Centered"), optionally foundational.')
class Attribute:
    id: uuid.UUID
    framework_id: uuid.UUID
    code: str | None
    title: str
    description: str | None
    foundational: bool
    position: int

    @field(description="The competencies grouped under this attribute, in order.")
    async def competencies(self, info: Info) -> list[Competency]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).competencies_of.load(self.framework_id)
        return [Competency.from_model(c) for c in rows if c.attribute_id == self.id]

    @classmethod
    def from_model(cls, row: models.FrameworkAttribute) -> Self:
        return cls(
            id=row.id,
            framework_id=row.framework_id,
            code=row.code,
            title=row.title,
            description=row.description,
            foundational=row.foundational,
            position=row.position,
        )


@strawberry.type(description="The competencies that become active in one school year (the rollout plan).")
class LaunchYear:
    school_year: int
    competencies: list[Competency]


@strawberry.type(description="One version of a portrait (Portrait of a Graduate, of a Leader, ...).")
class Framework:
    id: uuid.UUID
    family_id: uuid.UUID = strawberry.field(description="shared by every version of the same portrait")
    previous_version_id: uuid.UUID | None
    kind: FrameworkKind
    title: str
    version: str
    status: FrameworkStatus
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

    @field(description="The attributes (groupings of competencies), in order.")
    async def attributes(self, info: Info) -> list[Attribute]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).attributes_of.load(self.id)
        return [Attribute.from_model(a) for a in rows]

    @field(description="Every competency of the framework (nested ones too), in order.")
    async def competencies(self, info: Info) -> list[Competency]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).competencies_of.load(self.id)
        return [Competency.from_model(c) for c in rows]

    @field(description="The rubric scale, lowest level first.")
    async def levels(self, info: Info) -> list[RubricLevel]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).levels_of.load(self.id)
        return [RubricLevel.from_model(lv) for lv in rows]

    @field(description="Which competencies become active in which school year, earliest first.")
    async def launch_schedule(self, info: Info) -> list[LaunchYear]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).competencies_of.load(self.id)
        years: dict[int, list[Competency]] = {}
        for row in rows:
            if row.launch_school_year is not None:
                years.setdefault(row.launch_school_year, []).append(Competency.from_model(row))
        return [LaunchYear(school_year=y, competencies=years[y]) for y in sorted(years)]

    @field(description="The version this one was drafted from, if any.")
    async def previous_version(self, info: Info) -> Framework | None:
        if self.previous_version_id is None:
            return None
        principal = info.context.require(READ)
        row = await info.context.framework_loaders(principal).framework.load(self.previous_version_id)
        return None if row is None else Framework.from_model(row)

    @field(description="Versions drafted from this one, oldest first.")
    async def next_versions(self, info: Info) -> list[Framework]:
        principal = info.context.require(READ)
        rows = await info.context.framework_loaders(principal).next_versions.load(self.id)
        return [Framework.from_model(f) for f in rows]

    @classmethod
    def from_model(cls, row: models.Framework) -> Self:
        return cls(
            id=row.id,
            family_id=row.family_id,
            previous_version_id=row.previous_version_id,
            kind=FrameworkKind(row.kind),
            title=row.title,
            version=row.version,
            status=FrameworkStatus(row.status),
            adoption_date=row.adoption_date,
            description=row.description,
            creator=row.creator,
            publisher=row.publisher,
            language=row.language,
            subjects=list(row.subjects),
            published_at=row.published_at,
            retired_at=row.retired_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="What a CASE import did: counts, and what it ignored or adjusted.")
class CaseImportReport:
    items: int
    attributes: int
    competencies: int
    levels: int
    associations: int
    ignored: list[str]
    warnings: list[str]

    @classmethod
    def from_report(cls, report: ImportReport) -> Self:
        return cls(
            items=report.items,
            attributes=report.attributes,
            competencies=report.competencies,
            levels=report.levels,
            associations=report.associations,
            ignored=list(report.ignored),
            warnings=list(report.warnings),
        )


@strawberry.type
class CaseImportResult:
    framework: Framework = strawberry.field(description="its id is the CFDocument identifier")
    report: CaseImportReport
    replaced: bool = strawberry.field(description="an existing draft with the same identifier was replaced")


# -- inputs (mirror the REST bodies; the REST pydantic schemas validate them) -------------------


@strawberry.input
class CreateFrameworkInput:
    kind: FrameworkKind
    title: str
    version: str | None = strawberry.UNSET
    adoption_date: date | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    creator: str | None = strawberry.UNSET
    publisher: str | None = strawberry.UNSET
    language: str | None = strawberry.UNSET
    subjects: list[str] | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change.")
class UpdateFrameworkInput:
    title: str | None = strawberry.UNSET
    version: str | None = strawberry.UNSET
    adoption_date: date | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    creator: str | None = strawberry.UNSET
    publisher: str | None = strawberry.UNSET
    language: str | None = strawberry.UNSET
    subjects: list[str] | None = strawberry.UNSET


@strawberry.input
class CreateAttributeInput:
    title: str
    code: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    foundational: bool | None = strawberry.UNSET
    position: int | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change.")
class UpdateAttributeInput:
    title: str | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    foundational: bool | None = strawberry.UNSET
    position: int | None = strawberry.UNSET


@strawberry.input
class GradeBandInput:
    band: str
    descriptor: str


@strawberry.input
class CreateCompetencyInput:
    title: str
    statement: str = strawberry.field(description="the competency at the proficient level")
    code: str | None = strawberry.UNSET
    category: CompetencyCategory | None = strawberry.UNSET
    attribute_id: uuid.UUID | None = strawberry.UNSET
    parent_id: uuid.UUID | None = strawberry.UNSET
    position: int | None = strawberry.UNSET
    grade_bands: list[GradeBandInput] | None = strawberry.UNSET
    look_fors: list[str] | None = strawberry.UNSET
    launch_school_year: int | None = strawberry.UNSET


@strawberry.input(description="Only the fields given change; lists replace the whole list.")
class UpdateCompetencyInput:
    title: str | None = strawberry.UNSET
    statement: str | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    category: CompetencyCategory | None = strawberry.UNSET
    attribute_id: uuid.UUID | None = strawberry.UNSET
    parent_id: uuid.UUID | None = strawberry.UNSET
    position: int | None = strawberry.UNSET
    grade_bands: list[GradeBandInput] | None = strawberry.UNSET
    look_fors: list[str] | None = strawberry.UNSET
    launch_school_year: int | None = strawberry.UNSET


@strawberry.input
class LevelDescriptorInput:
    level_id: uuid.UUID
    description: str


@strawberry.input
class CreateRubricLevelInput:
    title: str
    description: str | None = strawberry.UNSET
    score: float | None = strawberry.UNSET
    proficient: bool | None = strawberry.UNSET
    position: int | None = strawberry.field(
        default=strawberry.UNSET, description="0 = lowest; defaults to after the highest level"
    )


@strawberry.input(description="Only the fields given change.")
class UpdateRubricLevelInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    score: float | None = strawberry.UNSET
    proficient: bool | None = strawberry.UNSET


def _package_errors(exc: ServiceError) -> ServiceError:
    """CASE problems named in the package's own keys under the argument: ``package.CFItems.3.uri``."""
    for i, err in enumerate(exc.errors):
        if err.loc == "body" or err.loc.startswith("body."):
            exc.errors[i] = FieldError("package" + err.loc.removeprefix("body"), err.message, err.type)
    return exc


# -- operations ---------------------------------------------------------------------------------


@strawberry.type
class FrameworksQuery:
    @field(description="Frameworks of the caller's district, by title (frameworks:read).")
    async def frameworks(
        self,
        info: Info,
        kind: FrameworkKind | None = None,
        status: FrameworkStatus | None = None,
        family_id: uuid.UUID | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Framework] | None:
        principal = info.context.require(READ)
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.frameworks(principal).list_frameworks(
                page, kind=enum_value(kind), status=enum_value(status), family_id=family_id
            ),
            Framework.from_model,
        )

    @field(description="A framework with its whole tree (frameworks:read); NOT_FOUND otherwise.")
    async def framework(self, info: Info, id: uuid.UUID) -> Framework | None:
        principal = info.context.require(READ)
        async with info.context.db_lock:
            return Framework.from_model(await info.context.frameworks(principal).get_framework(id))


@strawberry.type
class FrameworksMutation:
    @mutation(description="Create a draft framework (frameworks:write).")
    async def create_framework(self, info: Info, input: CreateFrameworkInput) -> Framework:
        principal = info.context.require(WRITE)
        data = validate_input(FrameworkCreate, input)
        async with info.context.db_lock:
            row = await info.context.frameworks(principal).create_framework(data)
        return Framework.from_model(row)

    @mutation(description="Update a draft (frameworks:write); a published version is CONFLICT (409).")
    async def update_framework(self, info: Info, id: uuid.UUID, input: UpdateFrameworkInput) -> Framework:
        principal = info.context.require(WRITE)
        data = validate_input(FrameworkUpdate, input)
        row = await info.context.write(info.context.frameworks(principal).update_framework(id, data))
        return Framework.from_model(row)

    @mutation(description="Delete a draft framework (frameworks:write); answers its id.")
    async def delete_framework(self, info: Info, id: uuid.UUID) -> uuid.UUID:
        principal = info.context.require(WRITE)
        await info.context.write(info.context.frameworks(principal).delete_framework(id))
        return id

    @mutation(description="Publish a draft, which freezes it (frameworks:write).")
    async def publish_framework(self, info: Info, id: uuid.UUID) -> Framework:
        principal = info.context.require(WRITE)
        row = await info.context.write(info.context.frameworks(principal).publish(id))
        return Framework.from_model(row)

    @mutation(description="Retire a published version; it stays readable (frameworks:write).")
    async def retire_framework(self, info: Info, id: uuid.UUID) -> Framework:
        principal = info.context.require(WRITE)
        row = await info.context.write(info.context.frameworks(principal).retire(id))
        return Framework.from_model(row)

    @mutation(description="Draft a new version from a published or retired one (frameworks:write).")
    async def draft_framework_version(
        self, info: Info, id: uuid.UUID, version: str | None = None
    ) -> Framework:
        principal = info.context.require(WRITE)
        data = NewVersion(version=check_text(version, "version", max_length=50))
        row = await info.context.write(info.context.frameworks(principal).new_version(id, data))
        return Framework.from_model(row)

    @mutation(description="Import a CASE 1.1 CFPackage (JSON) as a framework (frameworks:write).")
    async def import_case_package(self, info: Info, package: JSON, replace: bool = False) -> CaseImportResult:
        from service.frameworks.case import CaseImportError, parse_package

        principal = info.context.require(WRITE)
        try:
            tree, report = parse_package(package)
        except CaseImportError as exc:
            raise _package_errors(exc) from None
        service = info.context.frameworks(principal)
        async with info.context.db_lock:
            existed = replace and (await service.frameworks_by_ids([tree.id])) != {}
            row = await service.save_tree(tree, replace=replace)
        info.context.forget_loaders()
        return CaseImportResult(
            framework=Framework.from_model(row), report=CaseImportReport.from_report(report), replaced=existed
        )

    # -- attributes ----------------------------------------------------------------------------

    @mutation(description="Add an attribute to a draft (frameworks:write).")
    async def add_attribute(
        self, info: Info, framework_id: uuid.UUID, input: CreateAttributeInput
    ) -> Attribute:
        principal = info.context.require(WRITE)
        data = validate_input(AttributeCreate, input)
        row = await info.context.write(info.context.frameworks(principal).add_attribute(framework_id, data))
        return Attribute.from_model(row)

    @mutation(description="Update an attribute of a draft (frameworks:write).")
    async def update_attribute(
        self, info: Info, framework_id: uuid.UUID, id: uuid.UUID, input: UpdateAttributeInput
    ) -> Attribute:
        principal = info.context.require(WRITE)
        data = validate_input(AttributeUpdate, input)
        row = await info.context.write(
            info.context.frameworks(principal).update_attribute(framework_id, id, data)
        )
        return Attribute.from_model(row)

    @mutation(description="Delete an attribute that groups no competency (frameworks:write); answers its id.")
    async def delete_attribute(self, info: Info, framework_id: uuid.UUID, id: uuid.UUID) -> uuid.UUID:
        principal = info.context.require(WRITE)
        await info.context.write(info.context.frameworks(principal).delete_attribute(framework_id, id))
        return id

    # -- competencies --------------------------------------------------------------------------

    @mutation(description="Add a competency to a draft (frameworks:write).")
    async def add_competency(
        self, info: Info, framework_id: uuid.UUID, input: CreateCompetencyInput
    ) -> Competency:
        principal = info.context.require(WRITE)
        data = validate_input(CompetencyCreate, input)
        row = await info.context.write(info.context.frameworks(principal).add_competency(framework_id, data))
        return Competency.from_model(row)

    @mutation(description="Update a competency of a draft (frameworks:write).")
    async def update_competency(
        self, info: Info, framework_id: uuid.UUID, id: uuid.UUID, input: UpdateCompetencyInput
    ) -> Competency:
        principal = info.context.require(WRITE)
        data = validate_input(CompetencyUpdate, input)
        row = await info.context.write(
            info.context.frameworks(principal).update_competency(framework_id, id, data)
        )
        return Competency.from_model(row)

    @mutation(description="Delete a competency with no nested ones (frameworks:write); answers its id.")
    async def delete_competency(self, info: Info, framework_id: uuid.UUID, id: uuid.UUID) -> uuid.UUID:
        principal = info.context.require(WRITE)
        await info.context.write(info.context.frameworks(principal).delete_competency(framework_id, id))
        return id

    @mutation(description="Replace a competency's descriptors, one per rubric level (frameworks:write).")
    async def set_level_descriptors(
        self,
        info: Info,
        framework_id: uuid.UUID,
        competency_id: uuid.UUID,
        input: list[LevelDescriptorInput],
    ) -> list[LevelDescriptor]:
        principal = info.context.require(WRITE)
        if len(input) > MAX_DESCRIPTORS:
            raise invalid("input", f"at most {MAX_DESCRIPTORS} descriptors", "too_long")
        items = [validate_input(DescriptorIn, d, arg=f"input.{i}") for i, d in enumerate(input)]
        rows = await info.context.write(
            info.context.frameworks(principal).put_descriptors(framework_id, competency_id, items)
        )
        return [LevelDescriptor.from_model(d) for d in rows]

    # -- rubric levels -------------------------------------------------------------------------

    @mutation(description="Add a rubric level to a draft (frameworks:write).")
    async def add_rubric_level(
        self, info: Info, framework_id: uuid.UUID, input: CreateRubricLevelInput
    ) -> RubricLevel:
        principal = info.context.require(WRITE)
        data = validate_input(LevelCreate, input)
        row = await info.context.write(info.context.frameworks(principal).add_level(framework_id, data))
        return RubricLevel.from_model(row)

    @mutation(description="Update a rubric level of a draft (frameworks:write).")
    async def update_rubric_level(
        self, info: Info, framework_id: uuid.UUID, id: uuid.UUID, input: UpdateRubricLevelInput
    ) -> RubricLevel:
        principal = info.context.require(WRITE)
        data = validate_input(LevelUpdate, input)
        row = await info.context.write(
            info.context.frameworks(principal).update_level(framework_id, id, data)
        )
        return RubricLevel.from_model(row)

    @mutation(description="Delete a rubric level of a draft (frameworks:write); answers its id.")
    async def delete_rubric_level(self, info: Info, framework_id: uuid.UUID, id: uuid.UUID) -> uuid.UUID:
        principal = info.context.require(WRITE)
        await info.context.write(info.context.frameworks(principal).delete_level(framework_id, id))
        return id
