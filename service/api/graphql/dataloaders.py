"""Per-request dataloaders: every link between GraphQL objects is one batched service call.

Listing N classes with their school and session costs one statement per loader, not per class.
The loaders are built per request and per tenant (the service they wrap is tenant-scoped), so
their caches never outlive the request or cross districts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from strawberry.dataloader import DataLoader

from service.awards.models import Achievement
from service.awards.schemas import AwardRead
from service.awards.service import AwardService
from service.evidence.models import Evidence
from service.evidence.service import EvidenceService
from service.frameworks.models import Competency, Framework, FrameworkAttribute, LevelDescriptor, RubricLevel
from service.frameworks.service import FrameworkService
from service.roster.models import AcademicSession, Class, Course, Enrollment, Org
from service.roster.schemas import CourseRecordRead, PersonRead
from service.roster.service import RosterService

V = TypeVar("V")
Fetch = Callable[[list[uuid.UUID]], Awaitable[Mapping[uuid.UUID, V]]]


def by_ids(lock: asyncio.Lock, fetch: Fetch[V]) -> Callable[[list[uuid.UUID]], Awaitable[list[V | None]]]:
    """A loader function: one ``fetch`` for the whole batch, ``None`` for ids not found."""

    async def load(ids: list[uuid.UUID]) -> list[V | None]:
        async with lock:
            found = await fetch(ids)
        return [found.get(i) for i in ids]

    return load


def groups(
    lock: asyncio.Lock, fetch: Fetch[list[V]]
) -> Callable[[list[uuid.UUID]], Awaitable[list[list[V]]]]:
    """A loader function for one-to-many links: one ``fetch`` for the batch, ``[]`` for no children."""

    async def load(ids: list[uuid.UUID]) -> list[list[V]]:
        async with lock:
            found = await fetch(ids)
        return [list(found.get(i, [])) for i in ids]

    return load


#: (class id, enrollment role or None for any, per-class limit)
ClassEnrollmentsKey = tuple[uuid.UUID, str | None, int]
#: (person id, per-person limit)
PersonClassesKey = tuple[uuid.UUID, int]


class RosterLoaders:
    def __init__(self, service: RosterService, lock: asyncio.Lock) -> None:
        self._service = service
        self._lock = lock
        self.org: DataLoader[uuid.UUID, Org | None] = DataLoader(load_fn=self._by_ids(service.orgs_by_ids))
        self.academic_session: DataLoader[uuid.UUID, AcademicSession | None] = DataLoader(
            load_fn=self._by_ids(service.academic_sessions_by_ids)
        )
        self.person: DataLoader[uuid.UUID, PersonRead | None] = DataLoader(
            load_fn=self._by_ids(service.people_by_ids)
        )
        self.klass: DataLoader[uuid.UUID, Class | None] = DataLoader(
            load_fn=self._by_ids(service.classes_by_ids)
        )
        self.class_enrollments: DataLoader[ClassEnrollmentsKey, list[Enrollment]] = DataLoader(
            load_fn=self._class_enrollments
        )
        self.person_classes: DataLoader[PersonClassesKey, list[Class]] = DataLoader(
            load_fn=self._person_classes
        )
        self.course: DataLoader[uuid.UUID, Course | None] = DataLoader(
            load_fn=self._by_ids(service.courses_by_ids)
        )
        self.learner_course_records: DataLoader[uuid.UUID, list[CourseRecordRead]] = DataLoader(
            load_fn=groups(lock, service.course_records)
        )

    def _by_ids(
        self, fetch: Callable[[list[uuid.UUID]], Awaitable[Mapping[uuid.UUID, V]]]
    ) -> Callable[[list[uuid.UUID]], Awaitable[list[V | None]]]:
        async def load(ids: list[uuid.UUID]) -> list[V | None]:
            async with self._lock:
                found = await fetch(ids)
            return [found.get(i) for i in ids]

        return load

    async def _class_enrollments(self, keys: list[ClassEnrollmentsKey]) -> list[list[Enrollment]]:
        # One statement per distinct (role, limit) in the document, whatever the number of classes.
        found: dict[tuple[str | None, int], Mapping[uuid.UUID, list[Enrollment]]] = {}
        async with self._lock:
            for role, limit in dict.fromkeys((role, limit) for _, role, limit in keys):
                ids = [class_id for class_id, r, n in keys if (r, n) == (role, limit)]
                found[(role, limit)] = await self._service.enrollments_of_classes(ids, role=role, limit=limit)
        return [list(found[(role, limit)].get(class_id, [])) for class_id, role, limit in keys]

    async def _person_classes(self, keys: list[PersonClassesKey]) -> list[list[Class]]:
        found: dict[int, Mapping[uuid.UUID, list[Class]]] = {}
        async with self._lock:
            for limit in dict.fromkeys(limit for _, limit in keys):
                ids = [person_id for person_id, n in keys if n == limit]
                found[limit] = await self._service.classes_of_people(ids, limit=limit)
        return [list(found[limit].get(person_id, [])) for person_id, limit in keys]


class FrameworkLoaders:
    """Every link of a framework tree: a whole tree costs one statement per kind of node."""

    def __init__(self, service: FrameworkService, lock: asyncio.Lock) -> None:
        self.framework: DataLoader[uuid.UUID, Framework | None] = DataLoader(
            load_fn=by_ids(lock, service.frameworks_by_ids)
        )
        self.attribute: DataLoader[uuid.UUID, FrameworkAttribute | None] = DataLoader(
            load_fn=by_ids(lock, service.attributes_by_ids)
        )
        self.competency: DataLoader[uuid.UUID, Competency | None] = DataLoader(
            load_fn=by_ids(lock, service.competencies_by_ids)
        )
        self.level: DataLoader[uuid.UUID, RubricLevel | None] = DataLoader(
            load_fn=by_ids(lock, service.levels_by_ids)
        )
        self.attributes_of: DataLoader[uuid.UUID, list[FrameworkAttribute]] = DataLoader(
            load_fn=groups(lock, service.attributes_of)
        )
        self.competencies_of: DataLoader[uuid.UUID, list[Competency]] = DataLoader(
            load_fn=groups(lock, service.competencies_of)
        )
        self.levels_of: DataLoader[uuid.UUID, list[RubricLevel]] = DataLoader(
            load_fn=groups(lock, service.levels_of)
        )
        self.descriptors_of: DataLoader[uuid.UUID, list[LevelDescriptor]] = DataLoader(
            load_fn=groups(lock, service.descriptors_of)
        )
        self.next_versions: DataLoader[uuid.UUID, list[Framework]] = DataLoader(
            load_fn=groups(lock, service.next_versions_of)
        )


class AwardLoaders:
    """Links from awards and progress to achievements and evidence."""

    def __init__(self, awards: AwardService, evidence: EvidenceService, lock: asyncio.Lock) -> None:
        self.achievement: DataLoader[uuid.UUID, Achievement | None] = DataLoader(
            load_fn=by_ids(lock, awards.achievements_by_ids)
        )
        self.evidence: DataLoader[uuid.UUID, Evidence | None] = DataLoader(
            load_fn=by_ids(lock, evidence.evidence_by_ids)
        )
        self.award: DataLoader[uuid.UUID, AwardRead | None] = DataLoader(
            load_fn=by_ids(lock, awards.awards_by_ids)
        )
