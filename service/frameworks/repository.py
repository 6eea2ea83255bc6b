"""Every query of the frameworks domain; each is scoped by tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import fetch_page
from service.frameworks.models import Competency, Framework, FrameworkAttribute, LevelDescriptor, RubricLevel
from service.schemas import PageParams


class FrameworkRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def get(self, framework_id: uuid.UUID) -> Framework | None:
        return await self.session.get(Framework, (self.tenant_id, framework_id))

    async def get_attribute(self, node_id: uuid.UUID) -> FrameworkAttribute | None:
        return await self.session.get(FrameworkAttribute, (self.tenant_id, node_id))

    async def get_competency(self, node_id: uuid.UUID) -> Competency | None:
        return await self.session.get(Competency, (self.tenant_id, node_id))

    async def get_level(self, node_id: uuid.UUID) -> RubricLevel | None:
        return await self.session.get(RubricLevel, (self.tenant_id, node_id))

    async def by_ids(self, model: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """Rows of ``model`` (a table keyed by tenant and id) among ``ids``, in one statement."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.session.exec(
            select(model).where(model.tenant_id == self.tenant_id, model.id.in_(wanted))
        )
        return {row.id: row for row in rows.all()}

    async def next_versions(self, framework_ids: Iterable[uuid.UUID]) -> Sequence[Framework]:
        """Versions drafted from any of ``framework_ids``, oldest first."""
        wanted = list(set(framework_ids))
        if not wanted:
            return []
        query = (
            select(Framework)
            .where(
                col(Framework.tenant_id) == self.tenant_id,
                col(Framework.previous_version_id).in_(wanted),
            )
            .order_by(col(Framework.created_at), col(Framework.id))
        )
        return (await self.session.exec(query)).all()

    async def descriptors_by_level_order(
        self, competency_ids: Sequence[uuid.UUID]
    ) -> Sequence[LevelDescriptor]:
        """Level descriptors of ``competency_ids``, lowest rubric level first."""
        if not competency_ids:
            return []
        query = (
            select(LevelDescriptor)
            .join(
                RubricLevel,
                (col(RubricLevel.tenant_id) == col(LevelDescriptor.tenant_id))
                & (col(RubricLevel.id) == col(LevelDescriptor.level_id)),
            )
            .where(
                col(LevelDescriptor.tenant_id) == self.tenant_id,
                col(LevelDescriptor.competency_id).in_(list(set(competency_ids))),
            )
            .order_by(col(RubricLevel.position), col(LevelDescriptor.id))
        )
        return (await self.session.exec(query)).all()

    async def list_page(
        self,
        page: PageParams,
        *,
        kind: str | None = None,
        status: str | None = None,
        family_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[Framework], int]:
        query = select(Framework).where(col(Framework.tenant_id) == self.tenant_id)
        if kind is not None:
            query = query.where(col(Framework.kind) == kind)
        if status is not None:
            query = query.where(col(Framework.status) == status)
        if family_id is not None:
            query = query.where(col(Framework.family_id) == family_id)
        return await fetch_page(
            self.session, query, page, col(Framework.title), col(Framework.created_at), col(Framework.id)
        )

    async def attributes(self, framework_ids: Sequence[uuid.UUID]) -> Sequence[FrameworkAttribute]:
        query = (
            select(FrameworkAttribute)
            .where(
                col(FrameworkAttribute.tenant_id) == self.tenant_id,
                col(FrameworkAttribute.framework_id).in_(framework_ids),
            )
            .order_by(col(FrameworkAttribute.position), col(FrameworkAttribute.title))
        )
        return (await self.session.exec(query)).all()

    async def competencies(self, framework_ids: Sequence[uuid.UUID]) -> Sequence[Competency]:
        query = (
            select(Competency)
            .where(
                col(Competency.tenant_id) == self.tenant_id, col(Competency.framework_id).in_(framework_ids)
            )
            .order_by(col(Competency.position), col(Competency.title))
        )
        return (await self.session.exec(query)).all()

    async def levels(self, framework_ids: Sequence[uuid.UUID]) -> Sequence[RubricLevel]:
        query = (
            select(RubricLevel)
            .where(
                col(RubricLevel.tenant_id) == self.tenant_id, col(RubricLevel.framework_id).in_(framework_ids)
            )
            .order_by(col(RubricLevel.framework_id), col(RubricLevel.position))
        )
        return (await self.session.exec(query)).all()

    async def descriptors(self, competency_ids: Sequence[uuid.UUID]) -> Sequence[LevelDescriptor]:
        if not competency_ids:
            return []
        query = select(LevelDescriptor).where(
            col(LevelDescriptor.tenant_id) == self.tenant_id,
            col(LevelDescriptor.competency_id).in_(competency_ids),
        )
        return (await self.session.exec(query)).all()

    async def descriptors_of_framework(self, framework_id: uuid.UUID) -> Sequence[LevelDescriptor]:
        query = (
            select(LevelDescriptor)
            .join(
                Competency,
                (col(Competency.tenant_id) == col(LevelDescriptor.tenant_id))
                & (col(Competency.id) == col(LevelDescriptor.competency_id)),
            )
            .where(
                col(LevelDescriptor.tenant_id) == self.tenant_id, col(Competency.framework_id) == framework_id
            )
        )
        return (await self.session.exec(query)).all()

    async def count_children(
        self, *, attribute_id: uuid.UUID | None = None, parent_id: uuid.UUID | None = None
    ) -> int:
        query = (
            select(func.count()).select_from(Competency).where(col(Competency.tenant_id) == self.tenant_id)
        )
        if attribute_id is not None:
            query = query.where(col(Competency.attribute_id) == attribute_id)
        if parent_id is not None:
            query = query.where(col(Competency.parent_id) == parent_id)
        return int(await self.session.scalar(query) or 0)

    async def max_position(self, model: Any, framework_id: uuid.UUID) -> int:
        query = select(func.max(model.position)).where(
            model.tenant_id == self.tenant_id, model.framework_id == framework_id
        )
        value = await self.session.scalar(query)
        return -1 if value is None else int(value)

    async def replace_descriptors(self, competency_id: uuid.UUID, rows: list[LevelDescriptor]) -> None:
        await self.session.exec(
            delete(LevelDescriptor).where(
                col(LevelDescriptor.tenant_id) == self.tenant_id,
                col(LevelDescriptor.competency_id) == competency_id,
            )
        )
        self.session.add_all(rows)
        await self.session.flush()

    async def add(self, *objs: Any) -> None:
        self.session.add_all(objs)
        await self.session.flush()

    async def delete(self, obj: Any) -> None:
        await self.session.delete(obj)
        await self.session.flush()

    async def find_kind(self, node_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
        """Which framework an identifier belongs to, and as what (for CASE lookups by identifier)."""
        if (fw := await self.get(node_id)) is not None:
            return fw.id, "framework"
        if (attr := await self.get_attribute(node_id)) is not None:
            return attr.framework_id, "attribute"
        if (comp := await self.get_competency(node_id)) is not None:
            return comp.framework_id, "competency"
        if (level := await self.get_level(node_id)) is not None:
            return level.framework_id, "level"
        checks: list[tuple[Any, Any, str]] = [
            (Framework, Framework.rubric_id, "rubric"),
            (FrameworkAttribute, FrameworkAttribute.association_id, "association"),
            (Competency, Competency.association_id, "association"),
            (Competency, Competency.criterion_id, "criterion"),
        ]
        for model, column, kind in checks:
            fw_col = model.id if model is Framework else model.framework_id
            row = (
                await self.session.exec(
                    select(fw_col).where(model.tenant_id == self.tenant_id, column == node_id).limit(1)
                )
            ).first()
            if row is not None:
                return row, kind
        descriptor = await self.session.get(LevelDescriptor, (self.tenant_id, node_id))
        if descriptor is not None:
            comp = await self.get_competency(descriptor.competency_id)
            if comp is not None:
                return comp.framework_id, "criterion_level"
        return None


#: Framework statuses whose items anyone may read (a retired framework was published once, and the
#: credentials issued under it still point at its items).
PUBLIC_STATUSES = ("published", "retired")


class PublicFrameworkRepository:
    """Lookups by public identifier across tenants, limited to published (or retired) frameworks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def item_owner(self, node_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID] | None:
        """``(tenant_id, framework_id)`` of the competency or attribute ``node_id`` of a public framework."""
        for model in (Competency, FrameworkAttribute):
            statement = (
                select(model.tenant_id, model.framework_id)
                .join(
                    Framework,
                    (col(Framework.tenant_id) == col(model.tenant_id))
                    & (col(Framework.id) == col(model.framework_id)),
                )
                .where(col(model.id) == node_id, col(Framework.status).in_(PUBLIC_STATUSES))
                .order_by(col(model.tenant_id))
                .limit(1)
            )
            row = (await self.session.exec(statement)).first()
            if row is not None:
                return row[0], row[1]
        return None
