"""Framework use cases: editing drafts, the publish/retire/new-version lifecycle, and whole-tree
save/load for CASE import and export. Services flush; transports commit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.errors import FieldError
from service.frameworks import tree as t
from service.frameworks.errors import (
    FrameworkExists,
    FrameworkFrozen,
    FrameworkNotFound,
    InvalidFrameworkReference,
    InvalidTransition,
    NodeNotFound,
)
from service.frameworks.models import Competency, Framework, FrameworkAttribute, LevelDescriptor, RubricLevel
from service.frameworks.repository import FrameworkRepository, PublicFrameworkRepository
from service.frameworks.schemas import (
    AttributeCreate,
    AttributeRead,
    AttributeUpdate,
    CompetencyCreate,
    CompetencyRead,
    CompetencyUpdate,
    DescriptorIn,
    DescriptorRead,
    FrameworkCreate,
    FrameworkRead,
    FrameworkTreeRead,
    FrameworkUpdate,
    LevelCreate,
    LevelRead,
    LevelUpdate,
    NewVersion,
)
from service.schemas import PageParams


def _now() -> datetime:
    return datetime.now(UTC)


def _next_version(version: str) -> str:
    match = re.search(r"(\d+)(?!.*\d)", version)
    if match is None:
        return f"{version}.1"
    number = int(match.group(1)) + 1
    return version[: match.start(1)] + str(number) + version[match.end(1) :]


class FrameworkService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.repo = FrameworkRepository(session, tenant_id)

    # -- frameworks ----------------------------------------------------------------------------

    async def get_framework(self, framework_id: uuid.UUID) -> Framework:
        framework = await self.repo.get(framework_id)
        if framework is None:
            raise FrameworkNotFound(f"framework {framework_id} not found")
        return framework

    async def _draft(self, framework_id: uuid.UUID) -> Framework:
        framework = await self.get_framework(framework_id)
        if framework.status != "draft":
            raise FrameworkFrozen(
                f"framework {framework_id} is {framework.status}; draft a new version to change it"
            )
        return framework

    async def _touch(self, framework: Framework) -> None:
        framework.updated_at = _now()
        self.session.add(framework)

    async def list_frameworks(
        self,
        page: PageParams,
        *,
        kind: str | None = None,
        status: str | None = None,
        family_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[Framework], int]:
        return await self.repo.list_page(page, kind=kind, status=status, family_id=family_id)

    async def create_framework(self, data: FrameworkCreate) -> Framework:
        framework_id = uuid.uuid4()
        framework = Framework(
            tenant_id=self.tenant_id, id=framework_id, family_id=framework_id, **data.model_dump()
        )
        await self.repo.add(framework)
        return framework

    async def update_framework(self, framework_id: uuid.UUID, data: FrameworkUpdate) -> Framework:
        framework = await self._draft(framework_id)
        changes = data.model_dump(exclude_unset=True)
        for required in ("title", "version", "subjects"):
            if required in changes and changes[required] is None:
                raise InvalidFrameworkReference(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        for key, value in changes.items():
            setattr(framework, key, value)
        await self._touch(framework)
        await self.session.flush()
        return framework

    async def delete_framework(self, framework_id: uuid.UUID) -> None:
        framework = await self._draft(framework_id)
        await self.repo.delete(framework)

    async def publish(self, framework_id: uuid.UUID) -> Framework:
        framework = await self.get_framework(framework_id)
        if framework.status != "draft":
            raise InvalidTransition(f"only a draft can be published; this version is {framework.status}")
        problems: list[FieldError] = []
        if not await self.repo.competencies([framework_id]):
            problems.append(FieldError("competencies", "a framework needs at least one competency", "empty"))
        if not await self.repo.levels([framework_id]):
            problems.append(
                FieldError("levels", "a framework needs a rubric with at least one level", "empty")
            )
        if problems:
            raise InvalidTransition("the draft is not complete enough to publish", problems)
        framework.status = "published"
        framework.published_at = _now()
        await self._touch(framework)
        await self.session.flush()
        return framework

    async def retire(self, framework_id: uuid.UUID) -> Framework:
        framework = await self.get_framework(framework_id)
        if framework.status != "published":
            raise InvalidTransition(
                f"only a published version can be retired; this one is {framework.status}"
            )
        framework.status = "retired"
        framework.retired_at = _now()
        await self._touch(framework)
        await self.session.flush()
        return framework

    async def new_version(self, framework_id: uuid.UUID, data: NewVersion) -> Framework:
        """Copy a published (or retired) version into a new draft; nodes get new ids linked back."""
        source = await self.load_tree(framework_id)
        if source.status == "draft":
            raise InvalidTransition("a draft is edited in place; publish it before drafting a new version")
        ids: dict[uuid.UUID, uuid.UUID] = {}

        def fresh(old: uuid.UUID) -> uuid.UUID:
            ids[old] = uuid.uuid4()
            return ids[old]

        copy = t.FrameworkTree(
            id=fresh(source.id),
            kind=source.kind,
            title=source.title,
            version=data.version or _next_version(source.version),
            status="draft",
            adoption_date=None,
            description=source.description,
            creator=source.creator,
            publisher=source.publisher,
            language=source.language,
            subjects=list(source.subjects),
            extra=dict(source.extra),
        )
        for level in source.levels:
            copy.levels.append(
                t.LevelNode(
                    fresh(level.id),
                    level.position,
                    level.title,
                    level.description,
                    level.score,
                    level.proficient,
                )
            )
        for attr in source.attributes:
            copy.attributes.append(
                t.AttributeNode(
                    id=fresh(attr.id),
                    title=attr.title,
                    code=attr.code,
                    description=attr.description,
                    foundational=attr.foundational,
                    position=attr.position,
                    extra=dict(attr.extra),
                )
            )
        for comp in source.competencies:
            fresh(comp.id)
        for comp in source.competencies:
            copy.competencies.append(
                t.CompetencyNode(
                    id=ids[comp.id],
                    title=comp.title,
                    statement=comp.statement,
                    code=comp.code,
                    category=comp.category,
                    attribute_id=ids.get(comp.attribute_id) if comp.attribute_id else None,
                    parent_id=ids.get(comp.parent_id) if comp.parent_id else None,
                    position=comp.position,
                    grade_bands=[t.GradeBand(g.band, g.descriptor) for g in comp.grade_bands],
                    look_fors=list(comp.look_fors),
                    launch_school_year=comp.launch_school_year,
                    descriptors=[
                        t.DescriptorNode(uuid.uuid4(), ids[d.level_id], d.description)
                        for d in comp.descriptors
                    ],
                    extra=dict(comp.extra),
                )
            )
        framework = await self.save_tree(
            copy, family_id=source_family(await self.get_framework(framework_id))
        )
        framework.previous_version_id = framework_id
        self.session.add(framework)
        # Competencies and attributes remember what they were copied from (evidence can follow them).
        origin = {new: old for old, new in ids.items()}
        for attr_row in await self.repo.attributes([framework.id]):
            attr_row.previous_id = origin[attr_row.id]
            self.session.add(attr_row)
        for comp_row in await self.repo.competencies([framework.id]):
            comp_row.previous_id = origin[comp_row.id]
            self.session.add(comp_row)
        await self.session.flush()
        return framework

    # -- attributes ----------------------------------------------------------------------------

    async def _attribute(self, framework_id: uuid.UUID, attribute_id: uuid.UUID) -> FrameworkAttribute:
        attr = await self.repo.get_attribute(attribute_id)
        if attr is None or attr.framework_id != framework_id:
            raise NodeNotFound(f"attribute {attribute_id} not found in framework {framework_id}")
        return attr

    async def add_attribute(self, framework_id: uuid.UUID, data: AttributeCreate) -> FrameworkAttribute:
        framework = await self._draft(framework_id)
        values = data.model_dump()
        if values["position"] is None:
            values["position"] = await self.repo.max_position(FrameworkAttribute, framework_id) + 1
        attr = FrameworkAttribute(tenant_id=self.tenant_id, framework_id=framework_id, **values)
        await self._touch(framework)
        await self.repo.add(attr)
        return attr

    async def update_attribute(
        self, framework_id: uuid.UUID, attribute_id: uuid.UUID, data: AttributeUpdate
    ) -> FrameworkAttribute:
        framework = await self._draft(framework_id)
        attr = await self._attribute(framework_id, attribute_id)
        changes = data.model_dump(exclude_unset=True)
        for required in ("title", "foundational", "position"):
            if required in changes and changes[required] is None:
                raise InvalidFrameworkReference(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        for key, value in changes.items():
            setattr(attr, key, value)
        attr.updated_at = _now()
        await self._touch(framework)
        await self.repo.add(attr)
        return attr

    async def delete_attribute(self, framework_id: uuid.UUID, attribute_id: uuid.UUID) -> None:
        framework = await self._draft(framework_id)
        attr = await self._attribute(framework_id, attribute_id)
        if await self.repo.count_children(attribute_id=attribute_id):
            raise FrameworkExists(
                f"attribute {attribute_id} still groups competencies; move or delete them first"
            )
        await self._touch(framework)
        await self.repo.delete(attr)

    # -- competencies --------------------------------------------------------------------------

    async def _competency(self, framework_id: uuid.UUID, competency_id: uuid.UUID) -> Competency:
        comp = await self.repo.get_competency(competency_id)
        if comp is None or comp.framework_id != framework_id:
            raise NodeNotFound(f"competency {competency_id} not found in framework {framework_id}")
        return comp

    async def _check_links(
        self,
        framework_id: uuid.UUID,
        attribute_id: uuid.UUID | None,
        parent_id: uuid.UUID | None,
        *,
        self_id: uuid.UUID | None = None,
    ) -> None:
        if attribute_id is not None:
            attr = await self.repo.get_attribute(attribute_id)
            if attr is None or attr.framework_id != framework_id:
                raise InvalidFrameworkReference(
                    "attribute_id is not an attribute of this framework",
                    [
                        FieldError(
                            "body.attribute_id", f"unknown attribute {attribute_id}", "invalid_reference"
                        )
                    ],
                )
        if parent_id is not None:
            seen: set[uuid.UUID] = set()
            cursor: uuid.UUID | None = parent_id
            while cursor is not None:
                if cursor == self_id or cursor in seen:
                    raise InvalidFrameworkReference(
                        "parent_id would create a cycle",
                        [FieldError("body.parent_id", "a competency cannot be its own ancestor", "cycle")],
                    )
                seen.add(cursor)
                parent = await self.repo.get_competency(cursor)
                if parent is None or parent.framework_id != framework_id:
                    raise InvalidFrameworkReference(
                        "parent_id is not a competency of this framework",
                        [FieldError("body.parent_id", f"unknown competency {cursor}", "invalid_reference")],
                    )
                cursor = parent.parent_id

    async def add_competency(self, framework_id: uuid.UUID, data: CompetencyCreate) -> Competency:
        framework = await self._draft(framework_id)
        await self._check_links(framework_id, data.attribute_id, data.parent_id)
        values = data.model_dump()
        if values["position"] is None:
            values["position"] = await self.repo.max_position(Competency, framework_id) + 1
        comp = Competency(tenant_id=self.tenant_id, framework_id=framework_id, **values)
        await self._touch(framework)
        await self.repo.add(comp)
        return comp

    async def update_competency(
        self, framework_id: uuid.UUID, competency_id: uuid.UUID, data: CompetencyUpdate
    ) -> Competency:
        framework = await self._draft(framework_id)
        comp = await self._competency(framework_id, competency_id)
        changes = data.model_dump(exclude_unset=True)
        for required in ("title", "statement", "position", "grade_bands", "look_fors"):
            if required in changes and changes[required] is None:
                raise InvalidFrameworkReference(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        await self._check_links(
            framework_id, changes.get("attribute_id"), changes.get("parent_id"), self_id=competency_id
        )
        for key, value in changes.items():
            setattr(comp, key, value)
        comp.updated_at = _now()
        await self._touch(framework)
        await self.repo.add(comp)
        return comp

    async def delete_competency(self, framework_id: uuid.UUID, competency_id: uuid.UUID) -> None:
        framework = await self._draft(framework_id)
        comp = await self._competency(framework_id, competency_id)
        if await self.repo.count_children(parent_id=competency_id):
            raise FrameworkExists(f"competency {competency_id} has nested competencies; delete them first")
        await self._touch(framework)
        await self.repo.delete(comp)

    async def put_descriptors(
        self, framework_id: uuid.UUID, competency_id: uuid.UUID, items: Sequence[DescriptorIn]
    ) -> list[LevelDescriptor]:
        framework = await self._draft(framework_id)
        await self._competency(framework_id, competency_id)
        level_ids = {lv.id for lv in await self.repo.levels([framework_id])}
        problems = [
            FieldError(f"body.{i}.level_id", f"unknown rubric level {d.level_id}", "invalid_reference")
            for i, d in enumerate(items)
            if d.level_id not in level_ids
        ]
        seen: set[uuid.UUID] = set()
        for i, d in enumerate(items):
            if d.level_id in seen:
                problems.append(FieldError(f"body.{i}.level_id", "level given twice", "duplicate"))
            seen.add(d.level_id)
        if problems:
            raise InvalidFrameworkReference("invalid level descriptors", problems)
        rows = [
            LevelDescriptor(
                tenant_id=self.tenant_id,
                competency_id=competency_id,
                level_id=d.level_id,
                description=d.description,
            )
            for d in items
        ]
        await self.repo.replace_descriptors(competency_id, rows)
        await self._touch(framework)
        await self.session.flush()
        return rows

    # -- rubric levels -------------------------------------------------------------------------

    async def add_level(self, framework_id: uuid.UUID, data: LevelCreate) -> RubricLevel:
        framework = await self._draft(framework_id)
        values = data.model_dump()
        existing = await self.repo.levels([framework_id])
        if values["position"] is None:
            values["position"] = (max((lv.position for lv in existing), default=-1)) + 1
        elif any(lv.position == values["position"] for lv in existing):
            raise FrameworkExists(
                f"position {values['position']} is taken",
                [FieldError("body.position", "another level has this position", "conflict")],
            )
        level = RubricLevel(tenant_id=self.tenant_id, framework_id=framework_id, **values)
        await self._touch(framework)
        await self.repo.add(level)
        return level

    async def update_level(
        self, framework_id: uuid.UUID, level_id: uuid.UUID, data: LevelUpdate
    ) -> RubricLevel:
        framework = await self._draft(framework_id)
        level = await self.repo.get_level(level_id)
        if level is None or level.framework_id != framework_id:
            raise NodeNotFound(f"rubric level {level_id} not found in framework {framework_id}")
        changes = data.model_dump(exclude_unset=True)
        for required in ("title", "proficient"):
            if required in changes and changes[required] is None:
                raise InvalidFrameworkReference(
                    f"{required} cannot be null",
                    [FieldError(f"body.{required}", "cannot be null", "null_not_allowed")],
                )
        for key, value in changes.items():
            setattr(level, key, value)
        await self._touch(framework)
        await self.repo.add(level)
        return level

    async def delete_level(self, framework_id: uuid.UUID, level_id: uuid.UUID) -> None:
        framework = await self._draft(framework_id)
        level = await self.repo.get_level(level_id)
        if level is None or level.framework_id != framework_id:
            raise NodeNotFound(f"rubric level {level_id} not found in framework {framework_id}")
        await self._touch(framework)
        await self.repo.delete(level)

    # -- batched reads (GraphQL dataloaders: one statement per batch, whatever the tree size) ------

    async def frameworks_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Framework]:
        return await self.repo.by_ids(Framework, ids)

    async def attributes_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, FrameworkAttribute]:
        return await self.repo.by_ids(FrameworkAttribute, ids)

    async def competencies_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Competency]:
        return await self.repo.by_ids(Competency, ids)

    async def levels_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RubricLevel]:
        return await self.repo.by_ids(RubricLevel, ids)

    async def attributes_of(
        self, framework_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[FrameworkAttribute]]:
        return _group(await self.repo.attributes(framework_ids), "framework_id")

    async def competencies_of(self, framework_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Competency]]:
        return _group(await self.repo.competencies(framework_ids), "framework_id")

    async def levels_of(self, framework_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[RubricLevel]]:
        return _group(await self.repo.levels(framework_ids), "framework_id")

    async def descriptors_of(
        self, competency_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[LevelDescriptor]]:
        return _group(await self.repo.descriptors_by_level_order(competency_ids), "competency_id")

    async def next_versions_of(self, framework_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Framework]]:
        return _group(await self.repo.next_versions(framework_ids), "previous_version_id")

    # -- whole trees ---------------------------------------------------------------------------

    async def read_tree(self, framework_id: uuid.UUID) -> FrameworkTreeRead:
        framework = await self.get_framework(framework_id)
        attrs = await self.repo.attributes([framework_id])
        comps = await self.repo.competencies([framework_id])
        levels = await self.repo.levels([framework_id])
        descriptors = await self.repo.descriptors([c.id for c in comps])
        by_comp: dict[uuid.UUID, list[DescriptorRead]] = {}
        position = {lv.id: lv.position for lv in levels}
        for d in sorted(descriptors, key=lambda d: position.get(d.level_id, 0)):
            by_comp.setdefault(d.competency_id, []).append(DescriptorRead.model_validate(d))
        return FrameworkTreeRead.model_validate(
            {
                **FrameworkRead.model_validate(framework).model_dump(),
                "attributes": [AttributeRead.model_validate(a) for a in attrs],
                "competencies": [
                    CompetencyRead.model_validate({**c.model_dump(), "descriptors": by_comp.get(c.id, [])})
                    for c in comps
                ],
                "levels": [LevelRead.model_validate(lv) for lv in levels],
            }
        )

    async def load_tree(self, framework_id: uuid.UUID) -> t.FrameworkTree:
        fw = await self.get_framework(framework_id)
        attrs = await self.repo.attributes([framework_id])
        comps = await self.repo.competencies([framework_id])
        levels = await self.repo.levels([framework_id])
        descriptors = await self.repo.descriptors([c.id for c in comps])
        return _build_tree(fw, attrs, comps, levels, descriptors)

    async def load_trees(self, framework_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, t.FrameworkTree]:
        """Several whole trees in five queries (unknown ids are left out)."""
        ids = list(dict.fromkeys(framework_ids))
        if not ids:
            return {}
        found = await self.frameworks_by_ids(ids)
        attrs = _group(await self.repo.attributes(ids), "framework_id")
        comps = _group(await self.repo.competencies(ids), "framework_id")
        levels = _group(await self.repo.levels(ids), "framework_id")
        descriptors = await self.repo.descriptors([c.id for cs in comps.values() for c in cs])
        return {
            fw_id: _build_tree(
                fw,
                attrs.get(fw_id, []),
                comps.get(fw_id, []),
                levels.get(fw_id, []),
                descriptors,  # keyed by competency: another tree's are never looked up
            )
            for fw_id, fw in found.items()
        }

    async def save_tree(
        self, tree: t.FrameworkTree, *, replace: bool = False, family_id: uuid.UUID | None = None
    ) -> Framework:
        """Write a whole framework (CASE import, new versions). ``replace`` swaps an existing draft."""
        existing = await self.repo.get(tree.id)
        if existing is not None:
            if not replace:
                raise FrameworkExists(f"framework {tree.id} already exists in this district")
            if existing.status != "draft":
                raise FrameworkFrozen(f"framework {tree.id} is {existing.status}; it cannot be replaced")
            family_id = family_id or existing.family_id
            await self.repo.delete(existing)
        framework = Framework(
            tenant_id=self.tenant_id,
            id=tree.id,
            family_id=family_id or tree.id,
            kind=tree.kind,
            title=tree.title,
            version=tree.version,
            status=tree.status,
            adoption_date=tree.adoption_date,
            description=tree.description,
            creator=tree.creator,
            publisher=tree.publisher,
            language=tree.language,
            subjects=list(tree.subjects),
            rubric_id=tree.rubric_id,
            extra=dict(tree.extra),
            published_at=_now() if tree.status in ("published", "retired") else None,
            retired_at=_now() if tree.status == "retired" else None,
        )
        await self.repo.add(framework)
        rows: list[Any] = [
            RubricLevel(
                tenant_id=self.tenant_id,
                id=lv.id,
                framework_id=tree.id,
                position=lv.position,
                title=lv.title,
                description=lv.description,
                score=lv.score,
                proficient=lv.proficient,
            )
            for lv in tree.levels
        ]
        rows += [
            FrameworkAttribute(
                tenant_id=self.tenant_id,
                id=a.id,
                framework_id=tree.id,
                code=a.code,
                title=a.title,
                description=a.description,
                foundational=a.foundational,
                position=a.position,
                association_id=a.association_id,
                extra=dict(a.extra),
            )
            for a in tree.attributes
        ]
        await self.repo.add(*rows)
        # Parents before children (one flush per tree depth) so the self-referencing key always holds.
        for layer in _layers(tree.competencies):
            self.session.add_all(
                Competency(
                    tenant_id=self.tenant_id,
                    id=comp.id,
                    framework_id=tree.id,
                    attribute_id=comp.attribute_id,
                    parent_id=comp.parent_id,
                    code=comp.code,
                    title=comp.title,
                    statement=comp.statement,
                    category=comp.category,
                    position=comp.position,
                    grade_bands=[{"band": g.band, "descriptor": g.descriptor} for g in comp.grade_bands],
                    look_fors=list(comp.look_fors),
                    launch_school_year=comp.launch_school_year,
                    association_id=comp.association_id,
                    criterion_id=comp.criterion_id,
                    extra=dict(comp.extra),
                )
                for comp in layer
            )
            await self.session.flush()
        self.session.add_all(
            LevelDescriptor(
                tenant_id=self.tenant_id,
                id=d.id,
                competency_id=comp.id,
                level_id=d.level_id,
                description=d.description,
            )
            for comp in tree.competencies
            for d in comp.descriptors
        )
        await self.session.flush()
        return framework

    async def find_node(self, node_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
        return await self.repo.find_kind(node_id)


def _build_tree(
    fw: Framework,
    attrs: Sequence[FrameworkAttribute],
    comps: Sequence[Competency],
    levels: Sequence[RubricLevel],
    descriptors: Sequence[LevelDescriptor],
) -> t.FrameworkTree:
    by_comp: dict[uuid.UUID, list[t.DescriptorNode]] = {}
    for d in descriptors:
        by_comp.setdefault(d.competency_id, []).append(t.DescriptorNode(d.id, d.level_id, d.description))
    position = {lv.id: lv.position for lv in levels}
    return t.FrameworkTree(
        id=fw.id,
        kind=fw.kind,
        title=fw.title,
        version=fw.version,
        status=fw.status,
        adoption_date=fw.adoption_date,
        description=fw.description,
        creator=fw.creator,
        publisher=fw.publisher,
        language=fw.language,
        subjects=list(fw.subjects),
        rubric_id=fw.rubric_id,
        last_change=fw.updated_at,
        extra=dict(fw.extra),
        attributes=[
            t.AttributeNode(
                id=a.id,
                title=a.title,
                code=a.code,
                description=a.description,
                foundational=a.foundational,
                position=a.position,
                association_id=a.association_id,
                extra=dict(a.extra),
            )
            for a in attrs
        ],
        competencies=[
            t.CompetencyNode(
                id=c.id,
                title=c.title,
                statement=c.statement,
                code=c.code,
                category=c.category,
                attribute_id=c.attribute_id,
                parent_id=c.parent_id,
                position=c.position,
                grade_bands=[t.GradeBand(g["band"], g["descriptor"]) for g in c.grade_bands],
                look_fors=list(c.look_fors),
                launch_school_year=c.launch_school_year,
                association_id=c.association_id,
                criterion_id=c.criterion_id,
                descriptors=sorted(by_comp.get(c.id, []), key=lambda d: position.get(d.level_id, 0)),
                extra=dict(c.extra),
            )
            for c in comps
        ],
        levels=[
            t.LevelNode(lv.id, lv.position, lv.title, lv.description, lv.score, lv.proficient)
            for lv in levels
        ],
    )


def _group(rows: Sequence[Any], key: str) -> dict[uuid.UUID, list[Any]]:
    """Rows by the value of their ``key`` column, each group in the rows' order."""
    groups: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        groups.setdefault(getattr(row, key), []).append(row)
    return groups


def source_family(framework: Framework) -> uuid.UUID:
    return framework.family_id


def _layers(nodes: Sequence[t.CompetencyNode]) -> list[list[t.CompetencyNode]]:
    """Competencies grouped by depth (roots first); parents outside the list count as roots."""
    by_id = {n.id: n for n in nodes}
    depth: dict[uuid.UUID, int] = {}
    for node in nodes:
        chain: list[uuid.UUID] = []
        cursor: t.CompetencyNode | None = node
        while cursor is not None and cursor.id not in depth and cursor.id not in chain:
            chain.append(cursor.id)
            cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
        base = depth[cursor.id] + 1 if cursor is not None and cursor.id in depth else 0
        for offset, node_id in enumerate(reversed(chain)):
            depth[node_id] = base + offset
    layers: dict[int, list[t.CompetencyNode]] = {}
    for node in nodes:
        layers.setdefault(depth[node.id], []).append(node)
    return [layers[d] for d in sorted(layers)]


class PublicFrameworkService:
    """What anyone may read: the items of published frameworks (the alignment targets of badges)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PublicFrameworkRepository(session)

    async def item_tree(self, node_id: uuid.UUID) -> t.FrameworkTree | None:
        """The whole public framework holding the competency or attribute ``node_id``, if any."""
        owner = await self.repo.item_owner(node_id)
        if owner is None:
            return None
        tenant_id, framework_id = owner
        return await FrameworkService(self.session, tenant_id).load_tree(framework_id)
