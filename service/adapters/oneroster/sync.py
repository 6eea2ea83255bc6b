"""The OneRoster sync job: provider collections -> roster and gradebook tables, page by page.

Each page is written in one transaction together with the job's progress (the resume point: the
collection and the URL of the next page), so a sync killed at any moment resumes exactly where its
last committed page ended, and a page replayed after a crash changes nothing (upserts keyed by
sourcedId, skipped when the record's digest is unchanged).

Per collection, after its last page: parents are linked (orgs, academic sessions), then records the
provider marked ``tobedeleted`` and, on a full sync, records it no longer sends are deactivated (never
deleted). Before deactivating users, a guard refuses to deactivate more than
``oneroster.max_deactivation_share`` of the tenant's active learners unless the sync was queued with
``override``. A collection that failed to download is never treated as "everything was deleted".
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster.client import OneRosterClient
from service.adapters.oneroster.errors import OneRosterError
from service.adapters.oneroster.grades import Rule, external_ref, level_for, ref_prefix, rules_for
from service.adapters.oneroster.mapping import Mapped, MappingFailed, Problem, map_record
from service.adapters.oneroster.repository import (
    ConnectionRepository,
    GradeRepository,
    ScheduleRepository,
    SyncRepository,
)
from service.adapters.oneroster.service import AREA, SYNC_KIND, client_for
from service.adapters.oneroster.wire import COLLECTIONS
from service.config import Settings
from service.db import Database, utcnow
from service.evidence.service import EvidenceService
from service.jobs.errors import JobCancelled
from service.jobs.registry import JobContext, register, register_periodic
from service.jobs.repository import JobRunRepository
from service.jobs.service import JobService, transaction
from service.roster.service import RosterService
from service.webhooks.service import WebhookService

ORDER: tuple[str, ...] = tuple(COLLECTIONS)
#: Collections whose rows point at a parent of the same collection.
PARENTED = {"orgs", "academicSessions"}
#: Errors kept verbatim in the report (the rest are counted by kind).
MAX_SAMPLES = 25
#: The most references remembered per collection during a run (memory stays bounded).
REF_CACHE_LIMIT = 100_000
#: Collections a provider may legitimately not offer (404/501): reported, not fatal.
OPTIONAL = {"courses", "categories", "lineItems", "results"}


class GuardRefused(Exception):
    """The sync would deactivate too many learners; queue it again with ``override``."""


def _empty_counts() -> dict[str, int]:
    return {"fetched": 0, "created": 0, "updated": 0, "unchanged": 0, "deactivated": 0, "skipped": 0}


@dataclass
class SyncState:
    """Everything a resumed attempt needs; stored as the job's progress."""

    mode: str
    since: str | None
    collection: str | None = None
    next_url: str | None = None
    fetched_all: bool = False
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    high_water_mark: str | None = None
    analyzed: dict[str, int] = field(default_factory=dict)
    #: results turned into evidence: created, superseded, rejected, awards_created
    evidence: dict[str, int] = field(default_factory=dict)
    max_samples: int = MAX_SAMPLES

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "since": self.since,
            "collection": self.collection,
            "next_url": self.next_url,
            "fetched_all": self.fetched_all,
            "done": self.done,
            "failed": self.failed,
            "counts": self.counts,
            "errors": self.errors,
            "error_samples": self.samples,
            "high_water_mark": self.high_water_mark,
            "analyzed": self.analyzed,
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SyncState:
        return cls(
            mode=str(data["mode"]),
            since=data.get("since"),
            collection=data.get("collection"),
            next_url=data.get("next_url"),
            fetched_all=bool(data.get("fetched_all")),
            done=list(data.get("done", [])),
            failed=list(data.get("failed", [])),
            counts={k: dict(v) for k, v in data.get("counts", {}).items()},
            errors=dict(data.get("errors", {})),
            samples=list(data.get("error_samples", [])),
            high_water_mark=data.get("high_water_mark"),
            analyzed=dict(data.get("analyzed", {})),
            evidence=dict(data.get("evidence", {})),
        )

    def count(self, collection: str, key: str, n: int = 1) -> None:
        self.counts.setdefault(collection, _empty_counts())[key] += n

    def error(self, kind: str, sample: dict[str, Any]) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.samples) < self.max_samples:
            self.samples.append({"kind": kind, **sample})

    def saw_modified(self, value: str | None) -> None:
        if value and (self.high_water_mark is None or _ts(value) > _ts(self.high_water_mark)):
            self.high_water_mark = value

    def report(self) -> dict[str, Any]:
        totals = _empty_counts()
        for counts in self.counts.values():
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        return {
            "mode": self.mode,
            "since": self.since,
            "collections": self.counts,
            "totals": totals,
            "errors": self.errors,
            "error_samples": self.samples,
            "failed_collections": self.failed,
            "high_water_mark": self.high_water_mark,
            "evidence": self.evidence,
        }


def _ts(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class SyncTarget:
    """Where a sync writes and how it commits: the job's database, or a test's session."""

    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    job_id: uuid.UUID
    transaction: Callable[[], Any]
    save_progress: Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
    cancelled: Callable[[], Awaitable[bool]]
    max_deactivation_share: float
    override: bool = False
    #: referenced sourcedId -> local id, per collection, for the whole run (see PageWriter.write)
    cache: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)


class PageWriter:
    """Maps and writes one page of one collection in the caller's transaction."""

    def __init__(
        self,
        repo: SyncRepository,
        state: SyncState,
        job_id: uuid.UUID,
        *,
        locate: Callable[[str | None, int | None, str], dict[str, Any]] | None = None,
        cache: dict[str, dict[str, uuid.UUID]] | None = None,
    ) -> None:
        self.cache = cache if cache is not None else {}
        self.repo = repo
        self.state = state
        self.job_id = job_id
        #: (sourcedId, position in the page, field) -> extra keys of an error sample (CSV file/line/column)
        self.locate = locate

    async def write(self, collection: str, raw_records: list[dict[str, Any]], *, where: str) -> None:
        state = self.state
        state.count(collection, "fetched", len(raw_records))
        mapped: dict[str, Mapped] = {}
        for position, raw in enumerate(raw_records):
            state.saw_modified(
                raw.get("dateLastModified") if isinstance(raw.get("dateLastModified"), str) else None
            )
            try:
                record = map_record(collection, raw)
            except MappingFailed as exc:
                sid = raw.get("sourcedId")
                for problem in exc.problems[:3]:
                    state.error(problem.kind, self._sample(collection, sid, problem, where, position))
                state.count(collection, "skipped")
                continue
            mapped[record.sourced_id] = record  # a repeated sourcedId: the later copy wins
        if not mapped:
            return
        by_target: dict[str, set[str]] = {}
        for record in mapped.values():
            for ref in record.refs.values():
                by_target.setdefault(ref.collection, set()).add(ref.sourced_id)
            for org_sid, _, _ in record.orgs:
                by_target.setdefault("orgs", set()).add(org_sid)
        resolved_ids: dict[str, dict[str, uuid.UUID]] = {}
        for target, sids in by_target.items():
            # Ids never change once a row exists (rows are deactivated, not deleted), so references
            # found once are remembered for the rest of the run, up to a bounded number.
            known = self.cache.setdefault(target, {})
            unseen = [s for s in sids if s not in known]
            if unseen:
                found = await self.repo.ids_by_sourced_id(target, unseen)
                if len(known) + len(found) > REF_CACHE_LIMIT:
                    known.clear()
                known.update(found)
            resolved_ids[target] = {s: known[s] for s in sids if s in known}
        existing = await self.repo.ids_by_sourced_id(collection, mapped)
        index = await self.repo.records(collection, mapped)
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        index_rows: list[dict[str, Any]] = []
        memberships: dict[uuid.UUID, list[tuple[uuid.UUID, str, str]]] = {}
        ready: list[tuple[Mapped, dict[str, Any]]] = []
        rekeys: dict[str, tuple[str, uuid.UUID]] = {}
        for sid, record in mapped.items():
            local = existing.get(sid)
            if record.deleted:
                if local is None:
                    state.count(collection, "skipped")
                    continue
                previous = index.get(sid)
                index_rows.append(
                    self._index_row(collection, record, local, previous[0] if previous else "", "tobedeleted")
                )
                continue
            resolved: dict[str, Any] = {}
            missing: list[Problem] = []
            for column, ref in record.refs.items():
                target_id = resolved_ids.get(ref.collection, {}).get(ref.sourced_id)
                if target_id is None and ref.required:
                    missing.append(
                        Problem(
                            "unknown_reference", column, f"{ref.collection} '{ref.sourced_id}' is not known"
                        )
                    )
                resolved[column] = target_id
            if missing:
                for problem in missing:
                    state.error(problem.kind, self._sample(collection, sid, problem, where, None))
                state.count(collection, "skipped")
                continue
            ready.append((record, resolved))
        if collection == "enrollments" and ready:
            leaving = {sid for sid, record in mapped.items() if record.deleted}
            ready, rekeys = await self._drop_duplicate_enrollments(ready, where, leaving)
        for record, resolved in ready:
            sid = record.sourced_id
            local = existing.get(sid)
            rekey = rekeys.get(sid)
            if rekey is not None and local is None:
                # The row of the departing enrollment now carries the new sourcedId; its old index entry
                # is closed so that the deactivation pass leaves the row alone.
                owner_sid, local = rekey
                index_rows = [r for r in index_rows if r["sourced_id"] != owner_sid]
                if owner_sid:
                    index_rows.append(
                        self._index_row(collection, record, local, "", "inactive") | {"sourced_id": owner_sid}
                    )
                index[sid] = ("", "rekeyed")
            digest = record.digest(resolved)
            previous = index.get(sid)
            if local is not None and previous is not None and previous == (digest, "active"):
                state.count(collection, "unchanged")
            else:
                row = {**record.values, **resolved, "updated_at": now}
                if local is None:
                    local = uuid.uuid4()
                    inserts.append(
                        {
                            **row,
                            "id": local,
                            "tenant_id": self.repo.tenant_id,
                            "sourced_id": sid,
                            "created_at": now,
                        }
                    )
                    state.count(collection, "created")
                else:
                    updates.append({**row, "id": local, "sourced_id": sid})
                    state.count(collection, "updated")
                if collection == "users":
                    known_orgs = resolved_ids.get("orgs", {})
                    memberships[local] = [
                        (known_orgs[org_sid], role, kind)
                        for org_sid, role, kind in record.orgs
                        if org_sid in known_orgs
                    ]
                    for org_sid in {o for o, _, _ in record.orgs if o not in known_orgs}:
                        # reported, the user kept: only this membership is left out
                        problem = Problem(
                            "unknown_org", "orgs", f"orgs '{org_sid}' is not known; membership left out"
                        )
                        state.error(problem.kind, self._sample(collection, sid, problem, where, None))
            index_rows.append(self._index_row(collection, record, local, digest, "active"))
        if collection == "courses":  # courses belong to the roster: written through its service
            await RosterService(self.repo.session, self.repo.tenant_id).write_synced_courses(inserts, updates)
        else:
            await self.repo.insert_rows(collection, inserts)
            await self.repo.update_rows(collection, updates)
        if memberships:
            await self.repo.replace_memberships(memberships)
        # Index rows that cannot exist yet (not in the index, not a re-keyed owner) may be copied.
        touched = {r["sourced_id"] for r in index_rows}
        owners = {owner for owner, _ in rekeys.values()}
        await self.repo.upsert_records(index_rows, new=touched - set(index) - owners)
        if collection == "results":
            changed = [
                r for r in inserts + updates if r.get("status") == "active" and r.get("score") is not None
            ]
            if changed:
                await self._evidence(changed, where)
        # A bulk load outgrows the planner's statistics of the empty table; refreshing them each time
        # the collection doubles keeps the sourcedId lookups on the index (log2(n) ANALYZEs in all).
        created = state.counts[collection]["created"]
        if created >= max(500, 2 * state.analyzed.get(collection, 0)):
            state.analyzed[collection] = created
            await self.repo.analyze(collection)

    async def _evidence(self, results: list[dict[str, Any]], where: str) -> None:
        """New and changed scores become evidence (superseding what the result gave before), through
        the evidence service, so that award rules run as for any other evidence."""
        grades = GradeRepository(self.repo.session, self.repo.tenant_id)
        maps: dict[str, Any] = {"line_items": {}, "categories": {}, "objectives": None}
        for grade_map in await grades.all():
            cuts = tuple(sorted((float(c["min_percent"]), int(c["level"])) for c in grade_map.cut_scores))
            if grade_map.line_item_sourced_id is not None and grade_map.competency_id is not None:
                maps["line_items"][grade_map.line_item_sourced_id] = Rule(grade_map.competency_id, cuts)
            elif grade_map.category_sourced_id is not None and grade_map.competency_id is not None:
                maps["categories"][grade_map.category_sourced_id] = Rule(grade_map.competency_id, cuts)
            else:
                maps["objectives"] = cuts
        if not maps["line_items"] and not maps["categories"] and maps["objectives"] is None:
            return
        items = await grades.line_items(r["line_item_id"] for r in results)
        categories = await grades.category_sourced_ids(i.category_id for i in items.values() if i.category_id)
        candidates: set[uuid.UUID] = set()
        for line_item in items.values():
            for raw in line_item.learning_objective_ids:
                try:
                    candidates.add(uuid.UUID(str(raw)))
                except ValueError:
                    continue
        known = await grades.competency_ids(candidates)
        now = utcnow()
        records: list[dict[str, Any]] = []
        for row in results:
            item = items.get(row["line_item_id"])
            if item is None:
                continue
            category = categories.get(item.category_id) if item.category_id else None
            for rule in rules_for(item.sourced_id, category, item.learning_objective_ids, maps, known):
                level = level_for(row["score"], item.result_value_min, item.result_value_max, rule.cut_scores)
                if level is None:
                    continue
                low = item.result_value_min or 0.0
                high = item.result_value_max if item.result_value_max is not None else 100.0
                percent = max(0.0, min(100.0, (row["score"] - low) / (high - low) * 100))
                observed = now
                if row.get("score_date") is not None:
                    observed = min(now, datetime.combine(row["score_date"], time(12), tzinfo=UTC))
                records.append(
                    {
                        "learner_id": row["learner_id"],
                        "competency_id": rule.competency_id,
                        "source": "oneroster_result",
                        "level": level,
                        "score": round(percent, 4),
                        "score_max": 100.0,
                        "class_id": item.class_id,
                        "academic_session_id": item.academic_session_id,
                        "observed_at": observed,
                        "external_ref": external_ref(row["sourced_id"], rule.competency_id),
                    }
                )
        if not records:
            return
        previous = await grades.active_evidence(r["external_ref"] for r in records)
        for record in records:
            record["supersedes_id"] = previous.get(record["external_ref"])
        outcome = await EvidenceService(self.repo.session, self.repo.tenant_id).create_many(
            records, created_by="oneroster"
        )
        tally = self.state.evidence
        tally["created"] = tally.get("created", 0) + len(outcome.accepted)
        superseded = sum(1 for a in outcome.accepted if records[a.index]["supersedes_id"] is not None)
        tally["superseded"] = tally.get("superseded", 0) + superseded
        tally["awards_created"] = tally.get("awards_created", 0) + outcome.awards_created
        for rejected in outcome.errors:
            tally["rejected"] = tally.get("rejected", 0) + 1
            first = rejected.errors[0] if rejected.errors else {"loc": "record", "message": "rejected"}
            self.state.error(
                "evidence_rejected",
                {
                    "collection": "results",
                    "sourced_id": records[rejected.index]["external_ref"].split(":", 2)[1],
                    "field": first.get("loc"),
                    "message": first.get("message"),
                    "where": where,
                },
            )

    async def _drop_duplicate_enrollments(
        self, ready: list[tuple[Mapped, dict[str, Any]]], where: str, leaving: set[str]
    ) -> tuple[list[tuple[Mapped, dict[str, Any]]], dict[str, tuple[str, uuid.UUID]]]:
        """One enrollment per (class, person, role). A new sourcedId for a triple whose current owner is
        leaving (tombstoned now or before, or inactive) takes the row over; otherwise it is skipped."""
        triples = await self.repo.enrollment_triples(
            (r["class_id"] for _, r in ready), (r["person_id"] for _, r in ready)
        )
        owners = await self.repo.records("enrollments", [o[0] for o in triples.values() if o[0]])
        kept = []
        rekeys: dict[str, tuple[str, uuid.UUID]] = {}
        for record, resolved in ready:
            key = (resolved["class_id"], resolved["person_id"], record.values["role"])
            owner = triples.get(key)
            if owner is not None and owner[0] != record.sourced_id:
                owner_sid, owner_local, owner_status = owner
                gone = (
                    owner_sid is None
                    or owner_sid in leaving
                    or owner_status == "inactive"
                    or owners.get(owner_sid, ("", "active"))[1] in ("tobedeleted", "inactive")
                )
                if not gone:
                    problem = Problem(
                        "duplicate_enrollment",
                        "sourcedId",
                        f"the same person, class and role as enrollment '{owner_sid}'",
                    )
                    self.state.error(
                        problem.kind, self._sample("enrollments", record.sourced_id, problem, where, None)
                    )
                    self.state.count("enrollments", "skipped")
                    continue
                rekeys[record.sourced_id] = (owner_sid or "", owner_local)
            triples[key] = (record.sourced_id, owner[1] if owner else uuid.uuid4(), "active")
            kept.append((record, resolved))
        return kept, rekeys

    def _index_row(
        self, collection: str, record: Mapped, local: uuid.UUID, digest: str, state: str
    ) -> dict[str, Any]:
        return {
            "connection_id": self.repo.connection_id,
            "collection": collection,
            "sourced_id": record.sourced_id,
            "tenant_id": self.repo.tenant_id,
            "local_id": local,
            "digest": digest,
            "state": state,
            "parent_ref": record.parent_ref,
            "seen_job_id": self.job_id,
            "date_last_modified": record.date_last_modified[:64] if record.date_last_modified else None,
        }

    def _sample(
        self, collection: str, sid: Any, problem: Problem, where: str, position: int | None
    ) -> dict[str, Any]:
        sample: dict[str, Any] = {
            "collection": collection,
            "sourced_id": str(sid)[:255] if sid is not None else None,
            "field": problem.field,
            "message": problem.message,
            "where": where,
        }
        if position is not None:
            sample["position"] = position
        if self.locate is not None:
            sample.update(self.locate(str(sid) if sid is not None else None, position, problem.field))
        return sample


async def finish_collection(
    repo: SyncRepository,
    state: SyncState,
    collection: str,
    *,
    job_id: uuid.UUID,
    override: bool,
    share: float,
) -> None:
    """Link parents, then apply deactivations (tobedeleted; on a full sync, records not seen)."""
    now = utcnow()
    if collection in PARENTED:
        links = await repo.parent_links(collection)
        refs = {ref for _, ref in links if ref}
        ids = await repo.ids_by_sourced_id(collection, refs)
        current = await repo.current_parents(collection, [local for local, _ in links])
        changes = []
        unknown = sorted({ref for _, ref in links if ref is not None and ref not in ids})
        for missing in unknown:
            state.error(
                "unknown_parent",
                {
                    "collection": collection,
                    "sourced_id": None,
                    "field": "parent",
                    "message": f"parent '{missing}' is not known; left unlinked",
                },
            )
        for local, ref in links:
            wanted = ids.get(ref) if ref else None
            if wanted == local:
                wanted = None
            if local in current and current[local] != wanted:
                changes.append({"id": local, "parent_id": wanted, "updated_at": now})
        await repo.set_parents(collection, changes)
    await repo.analyze(collection)
    missing_too = state.mode == "full" and collection not in state.failed
    candidates = await repo.deactivation_candidates(collection, job_id=job_id, missing_too=missing_too)
    if not candidates:
        return
    local_ids = [local for _, local in candidates]
    if collection == "users" and not override:
        learners = await repo.active_learners()
        leaving = await repo.active_learners(local_ids)
        if learners and leaving / learners > share:
            raise GuardRefused(
                f"this sync would deactivate {leaving} of {learners} active learners "
                f"({leaving / learners:.0%}), more than the allowed {share:.0%}; nothing was deactivated. "
                "Check the source, then retry with override set to true."
            )
    state.count(collection, "deactivated", await repo.deactivate(collection, local_ids, now))
    await repo.mark_inactive(collection, [sid for sid, _ in candidates])
    if collection == "results":
        # A result the provider deleted no longer supports anything: its evidence is withdrawn (awards
        # that relied on it are flagged for review by the evidence service, never revoked).
        grades = GradeRepository(repo.session, repo.tenant_id)
        evidence = EvidenceService(repo.session, repo.tenant_id)
        for evidence_id in await grades.active_evidence_with_prefixes(
            [ref_prefix(sid) for sid, _ in candidates]
        ):
            await evidence.withdraw(evidence_id, "the OneRoster result was deleted by the provider")
            state.evidence["withdrawn"] = state.evidence.get("withdrawn", 0) + 1


async def run_sync(
    client: OneRosterClient,
    target: SyncTarget,
    state: SyncState,
    *,
    on_progress: Callable[[SyncState], Awaitable[None]] | None = None,
) -> SyncState:
    """Sync every collection in order from where ``state`` says; returns the final state."""
    for collection in ORDER:
        if collection in state.done:
            continue
        if state.collection != collection:
            state.collection, state.next_url, state.fetched_all = collection, None, False
        state.counts.setdefault(collection, _empty_counts())
        if not state.fetched_all:
            try:
                pages = client.pages(collection, since=state.since, start_url=state.next_url)
                async for page in pages:
                    async with target.transaction() as session:
                        repo = SyncRepository(session, target.tenant_id, target.connection_id)
                        where = f"{collection} offset {page.url.rsplit('offset=', 1)[-1].split('&', 1)[0]}"
                        await PageWriter(repo, state, target.job_id, cache=target.cache).write(
                            collection, page.records, where=where
                        )
                        state.next_url = page.next_url
                        await target.save_progress(session, state.to_json())
                    if on_progress is not None:
                        await on_progress(state)
                    if await target.cancelled():
                        await pages.aclose()  # type: ignore[attr-defined]
                        raise JobCancelled(f"job {target.job_id} was cancelled")
            except OneRosterError as exc:
                if exc.kind in ("auth", "blocked"):
                    raise
                state.failed.append(collection)
                state.error(f"provider_{exc.kind}", {"collection": collection, **exc.as_dict()})
                if collection not in OPTIONAL and exc.kind not in ("http_404", "http_501"):
                    # Without its prerequisites the rest would only produce unknown references.
                    raise
            state.fetched_all = True
        async with target.transaction() as session:
            repo = SyncRepository(session, target.tenant_id, target.connection_id)
            await finish_collection(
                repo,
                state,
                collection,
                job_id=target.job_id,
                override=target.override,
                share=target.max_deactivation_share,
            )
            state.done.append(collection)
            state.collection, state.next_url, state.fetched_all = None, None, False
            await target.save_progress(session, state.to_json())
        if on_progress is not None:
            await on_progress(state)
    return state


async def _job_progress(session: AsyncSession, job_id: uuid.UUID, data: dict[str, Any]) -> None:
    await JobRunRepository(session).set_progress(job_id, data, utcnow())


@register_periodic("oneroster.schedule")
async def queue_scheduled_syncs(db: Database, settings: Settings) -> int:
    """Queue a delta sync for every connection whose schedule is due and that has none queued or
    running; the number queued. Safe to run concurrently with itself (a compare-and-set claims)."""
    queued = 0
    now = utcnow()
    async with transaction(db) as session:
        for connection in await ScheduleRepository(session).scheduled():
            every = timedelta(minutes=connection.schedule_minutes or 0)
            last = connection.last_scheduled_at
            if last is not None and now - last < every:
                continue
            repo = ConnectionRepository(session, connection.tenant_id)
            busy = [
                j
                for j in await repo.unfinished_sync_jobs(SYNC_KIND)
                if j.params.get("connection_id") == str(connection.id)
            ]
            if busy or not await ScheduleRepository(session).claim(connection, now):
                continue
            await JobService(session, connection.tenant_id).enqueue(
                SYNC_KIND,
                AREA,
                {"connection_id": str(connection.id), "mode": "delta", "override": False, "scheduled": True},
            )
            queued += 1
    return queued


@register(SYNC_KIND)
async def sync_job(ctx: JobContext) -> dict[str, Any]:
    connection_id = uuid.UUID(str(ctx.params["connection_id"]))
    async with ctx.session() as session:
        connection = await ConnectionRepository(session, ctx.tenant_id).get(connection_id)
        if connection is None:
            raise LookupError(f"OneRoster connection {connection_id} no longer exists")
        client = client_for(connection, ctx.settings)
        mark = connection.high_water_mark
    if ctx.last_progress.get("mode"):
        state = SyncState.from_json(ctx.last_progress)
    else:
        mode = str(ctx.params.get("mode", "delta"))
        since = mark if mode == "delta" else None
        state = SyncState(mode="full" if mode == "full" or since is None else "delta", since=since)

    async def save(session: AsyncSession, data: dict[str, Any]) -> None:
        await _job_progress(session, ctx.job_id, data)

    target = SyncTarget(
        tenant_id=ctx.tenant_id,
        connection_id=connection_id,
        job_id=ctx.job_id,
        transaction=ctx.transaction,
        save_progress=save,
        cancelled=ctx.cancelled,
        max_deactivation_share=ctx.settings.oneroster.max_deactivation_share,
        override=bool(ctx.params.get("override", False)),
    )
    async with client:
        state = await run_sync(client, target, state)
        stats = client.stats
    report = state.report()
    report["requests"] = {
        "total": stats.requests,
        "retries": stats.retries,
        "token_fetches": stats.token_fetches,
    }
    async with ctx.transaction() as session:
        values: dict[str, Any] = {"last_sync_at": utcnow(), "last_sync_job_id": ctx.job_id}
        if (
            not state.failed
            and state.high_water_mark is not None
            and (mark is None or _ts(state.high_water_mark) > _ts(mark))
        ):
            values["high_water_mark"] = state.high_water_mark
        await ConnectionRepository(session, ctx.tenant_id).mark_synced(connection_id, values)
        await WebhookService(session, ctx.tenant_id).emit(
            "sync.finished",
            {"connection_id": str(connection_id), "job_id": str(ctx.job_id), "totals": report["totals"]},
        )
    return report
