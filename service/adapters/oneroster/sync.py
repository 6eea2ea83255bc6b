"""The OneRoster sync job: provider collections -> roster and gradebook tables, page by page.

Each page is written in one transaction together with the job's progress (the resume point: the
collection and the URL of the next page), so a sync killed at any moment resumes exactly where its
last committed page ended, and a page replayed after a crash changes nothing (upserts keyed by
sourcedId, skipped when the record's digest is unchanged).

Three phases, each resumable. (1) Every collection is read and written in dependency order; after a
collection's last page its parents are linked (orgs, academic sessions). (2) The consistency guard: in
any sync (full: records no longer sent; delta: tombstones), no collection may lose more than
``oneroster.max_deactivation_share`` of the records the connection holds as active (above
``oneroster.deactivation_guard_floor``), nor the tenant more than that share of its active learners,
unless the sync was queued with ``override``. (3)
Only then are records deactivated (``tobedeleted``; on a full sync, records the provider no longer
sends), never deleted, so a refused sync has deactivated nothing. A collection that failed to download
is never treated as "everything was deleted". Records first seen as ``tobedeleted`` are kept as
inactive when they carry their data, so that what refers to them resolves whatever the sync history.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster import course_records
from service.adapters.oneroster.client import OneRosterClient
from service.adapters.oneroster.errors import OneRosterError
from service.adapters.oneroster.grades import Rule, external_ref, level_for, ref_prefix, rules_for
from service.adapters.oneroster.mapping import (
    Mapped,
    MappingFailed,
    Problem,
    is_current_digest,
    map_record,
)
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
    """The sync would deactivate too much (learners, or any collection's records); queue it again
    with ``override``."""


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
    #: final results turned into course records: created, updated, unchanged, withdrawn
    course_records: dict[str, int] = field(default_factory=dict)
    #: collections whose deactivations are applied (the last phase)
    deactivated: list[str] = field(default_factory=list)
    #: the guard passed (or was overridden)
    checked: bool = False
    #: what the guard refused, when it did
    refused: list[dict[str, Any]] = field(default_factory=list)
    #: delta collections whose next-page links dropped the filter (they became full pulls)
    full_pulls: list[str] = field(default_factory=list)
    #: collection -> the page size the provider actually served
    page_sizes: dict[str, int] = field(default_factory=dict)
    max_samples: int = MAX_SAMPLES
    #: collections whose last page held no known record (not stored: a hint for the next page)
    unclaimed: set[str] = field(default_factory=set)

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
            "course_records": self.course_records,
            "deactivated": self.deactivated,
            "checked": self.checked,
            "refused": self.refused,
            "full_pulls": self.full_pulls,
            "page_sizes": self.page_sizes,
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
            course_records=dict(data.get("course_records", {})),
            deactivated=list(data.get("deactivated", [])),
            checked=bool(data.get("checked")),
            refused=list(data.get("refused", [])),
            full_pulls=list(data.get("full_pulls", [])),
            page_sizes=dict(data.get("page_sizes", {})),
        )

    def fork(self) -> SyncState:
        """An empty state for preparing one page ahead (see :func:`run_sync`): what the page adds to
        the counts, errors and high-water mark, kept apart until the page is written (:meth:`absorb`),
        so that the progress saved with the page before does not include it."""
        return SyncState(
            mode=self.mode,
            since=self.since,
            high_water_mark=self.high_water_mark,
            max_samples=max(0, self.max_samples - len(self.samples)),
            unclaimed=self.unclaimed,
        )

    def absorb(self, part: SyncState) -> None:
        """Add what a :meth:`fork` collected."""
        for collection, counts in part.counts.items():
            mine = self.counts.setdefault(collection, _empty_counts())
            for key, n in counts.items():
                mine[key] = mine.get(key, 0) + n
        for kind, n in part.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n
        self.samples.extend(part.samples[: max(0, self.max_samples - len(self.samples))])
        self.saw_modified(part.high_water_mark)

    def count(self, collection: str, key: str, n: int = 1) -> None:
        self.counts.setdefault(collection, _empty_counts())[key] += n

    def error(self, kind: str, sample: dict[str, Any]) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.samples) < self.max_samples:
            self.samples.append({"kind": kind, **sample})

    def saw_modified(self, value: str | None) -> None:
        # Most records of a page share a few stamps: the one equal to the mark costs no parsing.
        if (
            value
            and value != self.high_water_mark
            and (self.high_water_mark is None or _ts(value) > _ts(self.high_water_mark))
        ):
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
            "course_records": self.course_records,
            "page_sizes": self.page_sizes,
            "full_pulls": {
                c: "the provider's next-page links dropped the dateLastModified filter: "
                "this delta read the whole collection"
                for c in self.full_pulls
            },
        }


@functools.lru_cache(maxsize=4096)
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
    #: fewer deactivations than this never trip the per-collection guard
    guard_floor: int = 10
    #: "keep" or "withdraw": evidence of learners and classes the provider deactivates
    inactive_evidence: str = "keep"
    #: referenced sourcedId -> local id, per collection, for the whole run (see PageWriter.write)
    cache: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)
    #: transactions on a second connection, where a page is prepared while the page before is being
    #: written (PostgreSQL); None: each page is prepared and written in one transaction (SQLite)
    reader: Callable[[], Any] | None = None


@dataclass
class PagePlan:
    """One page prepared (:meth:`PageWriter.prepare`): the rows to write, and the sourcedIds it
    concerns (its own and those it refers to in its own collection)."""

    collection: str
    where: str
    #: records found unchanged by comparing their marks: noted as seen when the page is written
    seen: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    #: some record was mapped (else only the seen marks are written)
    mapped: bool = False
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    memberships: dict[uuid.UUID, list[tuple[uuid.UUID, str, str]]] = field(default_factory=dict)
    index_rows: list[dict[str, Any]] = field(default_factory=list)
    #: index rows that cannot exist yet (COPY is allowed)
    new: set[str] = field(default_factory=set)
    unchanged: list[str] = field(default_factory=list)
    reactivated: list[uuid.UUID] = field(default_factory=list)


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
        inactive_evidence: str = "keep",
        trust_modified: bool = True,
    ) -> None:
        self.cache = cache if cache is not None else {}
        self.inactive_evidence = inactive_evidence
        #: skip records whose dateLastModified is unchanged (REST providers; CSV exports often keep
        #: a stale one while the row changed, so uploads compare what the record maps to instead)
        self.trust_modified = trust_modified
        self.repo = repo
        self.state = state
        self.job_id = job_id
        #: (sourcedId, position in the page, field) -> extra keys of an error sample (CSV file/line/column)
        self.locate = locate

    async def write(
        self,
        collection: str,
        raw_records: list[dict[str, Any]],
        *,
        where: str,
        premapped: list[Mapped | MappingFailed] | None = None,
    ) -> None:
        """Prepare and write one page in the caller's transaction (:meth:`prepare`, then :meth:`flush`).

        ``premapped``: what :func:`premap` made of ``raw_records`` (in the task that fetched the
        page, while the page before was being written), used instead of mapping them again."""
        await self.flush(await self.prepare(collection, raw_records, where=where, premapped=premapped))

    async def prepare(
        self,
        collection: str,
        raw_records: list[dict[str, Any]],
        *,
        where: str,
        premapped: list[Mapped | MappingFailed] | None = None,
    ) -> PagePlan:
        """Everything about a page that reads: the records' marks, the references, the rows to write.
        Writes nothing but the seen marks of records claimed as unchanged (idempotent: a page read
        again after a crash claims them again). :meth:`flush` writes the plan, possibly in another
        transaction (see :func:`run_sync`)."""
        state = self.state
        plan = PagePlan(collection, where)
        if premapped is not None and len(premapped) != len(raw_records):
            premapped = None
        state.count(collection, "fetched", len(raw_records))
        # Short-cut: a record whose dateLastModified is the one this connection last wrote in full (every
        # reference resolved) is not even mapped; it is only marked as seen by this job. On PostgreSQL
        # one statement finds those records and marks them (a page with nothing changed costs one
        # round trip); only the rest are looked up.
        page_sids = [r["sourcedId"] for r in raw_records if isinstance(r.get("sourcedId"), str)]
        claimed: dict[str, str] | None = None
        if self.trust_modified and collection not in state.unclaimed:
            repeated = {sid for sid, n in Counter(page_sids).items() if n > 1}
            offered = {
                raw["sourcedId"]: raw["dateLastModified"][:64]
                for raw in raw_records
                if isinstance(raw.get("sourcedId"), str)
                and raw["sourcedId"] not in repeated
                and isinstance(raw.get("dateLastModified"), str)
                and raw["dateLastModified"]
                and str(raw.get("status") or "active").strip().lower() == "active"
            }
            claimed = await self.repo.claim_unchanged(collection, offered, self.job_id) if offered else {}
        marks = await self.repo.records(
            collection, page_sids if claimed is None else [s for s in page_sids if s not in claimed]
        )
        # A collection this connection holds nothing of yet (a first load): once a page finds none of
        # its records known, the next pages skip the claiming UPDATE (a thousand index probes that all
        # miss) and compare the looked-up marks themselves, until a page finds known records again.
        if claimed is not None and not claimed and not marks:
            state.unclaimed.add(collection)
        elif marks:
            state.unclaimed.discard(collection)
        fast: dict[str, None] = {}
        mapped: dict[str, Mapped] = {}
        for position, raw in enumerate(raw_records):
            modified = raw.get("dateLastModified") if isinstance(raw.get("dateLastModified"), str) else None
            state.saw_modified(modified)
            sid_value = raw.get("sourcedId")
            if claimed and isinstance(sid_value, str) and sid_value in claimed:
                fast[sid_value] = None
                continue
            mark = marks.get(sid_value) if isinstance(sid_value, str) else None
            if (
                self.trust_modified
                and mark is not None
                and modified
                and mark[1] == "active"
                and mark[2] == modified[:64]
                and str(raw.get("status") or "active").strip().lower() == "active"
            ):
                fast[raw["sourcedId"]] = None
                continue
            try:
                if premapped is None:
                    record = map_record(collection, raw)
                else:
                    done = premapped[position]
                    if isinstance(done, MappingFailed):
                        raise done
                    record = done
            except MappingFailed as exc:
                sid = raw.get("sourcedId")
                for problem in exc.problems[:3]:
                    state.error(problem.kind, self._sample(collection, sid, problem, where, position))
                state.count(collection, "skipped")
                continue
            mapped[record.sourced_id] = record  # a repeated sourcedId: the later copy wins
            fast.pop(record.sourced_id, None)
        if fast:
            state.count(collection, "unchanged", len(fast))
            plan.seen = [s for s in fast if not claimed or s not in claimed]
        plan.keys = set(page_sids)
        if not mapped:
            return plan
        plan.mapped = True
        plan.keys.update(
            ref.sourced_id
            for record in mapped.values()
            for ref in record.refs.values()
            if ref.collection == collection
        )
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
        index = {sid: (mark[0], mark[1]) for sid, mark in marks.items() if sid in mapped}
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        index_rows: list[dict[str, Any]] = []
        memberships: dict[uuid.UUID, list[tuple[uuid.UUID, str, str]]] = {}
        ready: list[tuple[Mapped, dict[str, Any]]] = []
        rekeys: dict[str, tuple[str, uuid.UUID]] = {}
        reactivated: list[uuid.UUID] = []
        unchanged: list[str] = []
        #: records with a reference left unresolved (optional ones included)
        incomplete: set[str] = set()
        tally = Counter[str]()
        for sid, record in mapped.items():
            local = existing.get(sid)
            if record.deleted:
                previous = index.get(sid)
                if local is not None:
                    # Already inactive (deactivated before, or first seen as a tombstone): nothing to do.
                    gone = previous is not None and previous[1] == "inactive"
                    if gone:
                        state.count(collection, "unchanged")
                    index_rows.append(
                        self._index_row(
                            collection,
                            record,
                            local,
                            previous[0] if previous else "",
                            "inactive" if gone else "tobedeleted",
                        )
                    )
                    continue
                if not record.values:
                    state.count(collection, "skipped")  # a bare tombstone of a record never seen
                    continue
            resolved: dict[str, Any] = {}
            missing: list[Problem] = []
            for column, ref in record.refs.items():
                target_id = resolved_ids.get(ref.collection, {}).get(ref.sourced_id)
                if target_id is None:
                    incomplete.add(sid)
                    if ref.required:
                        missing.append(
                            Problem(
                                "unknown_reference",
                                column,
                                f"{ref.collection} '{ref.sourced_id}' is not known",
                            )
                        )
                resolved[column] = target_id
            if missing and record.deleted:
                state.count(collection, "skipped")  # a tombstone pointing nowhere: nothing to keep
                continue
            if missing:
                for problem in missing:
                    state.error(problem.kind, self._sample(collection, sid, problem, where, None))
                state.count(collection, "skipped")
                continue
            ready.append((record, resolved))
        if collection == "enrollments" and ready:
            leaving = {sid for sid, record in mapped.items() if record.deleted}
            ready, rekeys = await self._drop_duplicate_enrollments(ready, where, leaving)
        tenant_id = self.repo.tenant_id
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
            kept_as = "inactive" if record.deleted else "active"
            complete = sid not in incomplete and (
                collection != "users" or all(o in resolved_ids.get("orgs", {}) for o, _, _ in record.orgs)
            )
            # A digest an older release stored is compared the old way: the same record is unchanged,
            # and only its digest is rewritten (once) in the current form.
            legacy = (
                previous is not None
                and previous[0] != digest
                and not is_current_digest(previous[0])
                and previous == (record.legacy_digest(resolved), kept_as)
            )
            if local is not None and previous is not None and (previous == (digest, kept_as) or legacy):
                tally["unchanged"] += 1
                modified = record.date_last_modified[:64] if record.date_last_modified else None
                if not legacy and (not complete or marks.get(sid, ("", "", None))[2] == modified):
                    # Nothing to write but the mark that this job saw it (one narrow UPDATE per page).
                    unchanged.append(sid)
                else:  # the same values under a new dateLastModified (or digest): remembered
                    index_rows.append(
                        self._index_row(collection, record, local, digest, kept_as, complete=complete)
                    )
                continue
            else:
                if local is None:
                    local = uuid.uuid4()
                    inserts.append(
                        {
                            **record.values,
                            **resolved,
                            "updated_at": now,
                            "id": local,
                            "tenant_id": tenant_id,
                            "sourced_id": sid,
                            "created_at": now,
                        }
                    )
                    tally["created"] += 1
                else:
                    updates.append(
                        {**record.values, **resolved, "updated_at": now, "id": local, "sourced_id": sid}
                    )
                    tally["updated"] += 1
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
            index_rows.append(self._index_row(collection, record, local, digest, kept_as, complete=complete))
            if kept_as == "active" and previous is not None and previous[1] == "inactive":
                reactivated.append(local)
        for key, n in tally.items():
            state.count(collection, key, n)
        plan.inserts, plan.updates, plan.memberships = inserts, updates, memberships
        plan.index_rows, plan.unchanged, plan.reactivated = index_rows, unchanged, reactivated
        # Index rows that cannot exist yet (not in the index, not a re-keyed owner) may be copied.
        touched = {r["sourced_id"] for r in index_rows}
        owners = {owner for owner, _ in rekeys.values()}
        plan.new = touched - set(index) - owners
        return plan

    async def flush(self, plan: PagePlan) -> None:
        """Write what :meth:`prepare` planned, in this writer's repository's transaction, and what
        follows from it (evidence, course records, statistics after a bulk load)."""
        state, collection, where = self.state, plan.collection, plan.where
        inserts, updates, memberships = plan.inserts, plan.updates, plan.memberships
        index_rows, unchanged, reactivated = plan.index_rows, plan.unchanged, plan.reactivated
        if plan.seen:
            await self.repo.mark_seen(collection, plan.seen, self.job_id)
        if not plan.mapped:
            return
        if collection == "courses":  # courses belong to the roster: written through its service
            await RosterService(self.repo.session, self.repo.tenant_id).write_synced_courses(inserts, updates)
        else:
            await self.repo.insert_rows(collection, inserts)
            await self.repo.update_rows(collection, updates)
        if memberships:
            await self.repo.replace_memberships(memberships)
        await self.repo.upsert_records(index_rows, new=plan.new)
        if unchanged:
            await self.repo.mark_seen(collection, unchanged, self.job_id)
        if collection == "results":
            changed = [
                r for r in inserts + updates if r.get("status") == "active" and r.get("score") is not None
            ]
            if changed:
                await self._evidence(changed, where)
        written = [r["id"] for r in inserts + updates]
        await course_records.after_page(
            self.repo.session, self.repo.tenant_id, self.repo.connection_id, collection, written, state
        )
        if reactivated and collection in ("users", "classes") and self.inactive_evidence == "withdraw":
            # Their evidence was withdrawn when they left; the stored grades make it again.
            column = "learner_id" if collection == "users" else "class_id"
            grades = GradeRepository(self.repo.session, self.repo.tenant_id)
            rows = await grades.active_results_of(column, reactivated)
            if rows:
                await self._evidence(rows, where)
        # A bulk load into a table without statistics: the planner takes a thousand-item sourcedId lookup
        # for a scan of the whole table. One ANALYZE once it holds a few hundred rows is enough: it
        # records the sourcedId as unique (a distinct count relative to the table size), so the
        # lookups stay on the index however large the table grows; each further ANALYZE would cost
        # up to a second of the database's CPU at district scale and change no plan.
        created = state.counts[collection]["created"]
        if created >= 500 and not state.analyzed.get(collection):
            await analyze_once(self.repo, state, collection, created)

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
        claimed = {(r["class_id"], r["person_id"], m.values["role"]) for m, r in ready if not m.deleted}
        for record, resolved in ready:
            key = (resolved["class_id"], resolved["person_id"], record.values["role"])
            owner = triples.get(key)
            if record.deleted and (key in claimed or (owner is not None and owner[0] != record.sourced_id)):
                # first seen as a tombstone while another enrollment holds the triple: nothing to keep
                self.state.count("enrollments", "skipped")
                continue
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
            triples[key] = (
                record.sourced_id,
                owner[1] if owner else uuid.uuid4(),
                "inactive" if record.deleted else "active",
            )
            kept.append((record, resolved))
        return kept, rekeys

    def _index_row(
        self,
        collection: str,
        record: Mapped,
        local: uuid.UUID,
        digest: str,
        state: str,
        *,
        complete: bool = False,
    ) -> dict[str, Any]:
        """``date_last_modified`` is kept only for a record written with every reference resolved: it is
        what lets a later run skip the record while the provider's dateLastModified stays the same."""
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
            "date_last_modified": (
                record.date_last_modified[:64] if record.date_last_modified and complete else None
            ),
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


async def link_parents(
    repo: SyncRepository,
    state: SyncState,
    collection: str,
    *,
    locate: Callable[[str | None, int | None, str], dict[str, Any]] | None = None,
) -> None:
    """After a collection's last page: link parents (orgs, academic sessions) and refresh statistics."""
    now = utcnow()
    if collection in PARENTED:
        links = await repo.parent_links(collection)
        refs = {ref for _, ref, _ in links if ref}
        ids = await repo.ids_by_sourced_id(collection, refs)
        current = await repo.current_parents(collection, [local for local, _, _ in links])
        changes = []
        for local, ref, sid in sorted(links, key=lambda link: link[2]):
            if ref is not None and ref not in ids:
                sample: dict[str, Any] = {
                    "collection": collection,
                    "sourced_id": sid,
                    "field": "parent",
                    "message": f"parent '{ref}' is not known; left unlinked",
                }
                if locate is not None:
                    sample.update(locate(sid, None, "parent"))
                state.error("unknown_parent", sample)
            wanted = ids.get(ref) if ref else None
            if wanted == local:
                wanted = None
            if local in current and current[local] != wanted:
                changes.append({"id": local, "parent_id": wanted, "updated_at": now})
        await repo.set_parents(collection, changes)
    created = state.counts.get(collection, {}).get("created", 0)
    if created >= 500 and not state.analyzed.get(collection):
        # After a bulk load only (see PageWriter.write): a run that loaded little leaves the planner's
        # statistics valid.
        await analyze_once(repo, state, collection, created)


#: The key of SyncState.analyzed that stands for the record index (oneroster_records)
RECORD_INDEX = "oneroster_records"


async def analyze_once(repo: SyncRepository, state: SyncState, collection: str, created: int) -> None:
    """ANALYZE the collection's table, and the record index the first time in the run."""
    state.analyzed[collection] = created
    records = not state.analyzed.get(RECORD_INDEX)
    state.analyzed[RECORD_INDEX] = state.analyzed.get(RECORD_INDEX) or created
    await repo.analyze(collection, records=records)


def premap(collection: str, raw_records: list[dict[str, Any]]) -> list[Mapped | MappingFailed]:
    """Every record of a page mapped (or why not), independently of the database: the part of a
    page's work that can be done ahead, in the task that fetched the page, while the page before is
    being written. Used where a page's records are mapped anyway (a collection's first load)."""
    out: list[Mapped | MappingFailed] = []
    for raw in raw_records:
        try:
            out.append(map_record(collection, raw))
        except MappingFailed as exc:
            out.append(exc)
    return out


@dataclass
class Refusal:
    collection: str
    leaving: int
    of: int
    what: str

    def as_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "leaving": self.leaving, "of": self.of, "what": self.what}

    def message(self, share: float) -> str:
        return (
            f"{self.collection}: would deactivate {self.leaving} of {self.of} active {self.what} "
            f"({self.leaving / self.of:.0%}), more than the allowed {share:.0%}"
        )


async def check_guards(
    repo: SyncRepository,
    collections: dict[str, bool],
    *,
    job_id: uuid.UUID,
    share: float,
    floor: int,
) -> list[Refusal]:
    """The consistency guard, before anything is deactivated. ``collections`` maps each collection to
    whether records this job did not see count as deleted (a full sync, a bulk CSV file).

    * Every collection, in full syncs and deltas alike: deactivating more than ``share`` of the records
      known as active (and more than ``floor`` of them) means the provider sent far fewer records than
      before (a full sync) or tombstoned a large part of a collection at once (a delta), which is far
      likelier a paging or provider fault than a real deletion.
    * Users: more than ``share`` of the tenant's active learners."""
    refusals: list[Refusal] = []
    for collection, full in collections.items():
        candidates = await repo.deactivation_candidates(collection, job_id=job_id, missing_too=full)
        if not candidates:
            continue
        known = await repo.known_active(collection)
        if known and len(candidates) > floor and len(candidates) / known > share:
            refusals.append(Refusal(collection, len(candidates), known, "records"))
            continue
        if collection == "users":
            learners = await repo.active_learners()
            leaving = await repo.active_learners([local for _, local in candidates])
            if learners and leaving / learners > share:
                refusals.append(Refusal(collection, leaving, learners, "learners"))
    return refusals


def refusal_message(refusals: list[Refusal], share: float) -> str:
    return (
        "this sync would deactivate too much: "
        + "; ".join(r.message(share) for r in refusals)
        + ". Nothing was deactivated. The provider may have sent an incomplete list; check the source, "
        "then retry with override set to true."
    )


async def deactivate_collection(
    repo: SyncRepository,
    state: SyncState,
    collection: str,
    *,
    job_id: uuid.UUID,
    full: bool,
    inactive_evidence: str = "keep",
) -> None:
    """Apply deactivations (tobedeleted; with ``full``, records not seen) and what follows from them
    for evidence made from grades."""
    now = utcnow()
    candidates = await repo.deactivation_candidates(collection, job_id=job_id, missing_too=full)
    if not candidates:
        return
    local_ids = [local for _, local in candidates]
    state.count(collection, "deactivated", await repo.deactivate(collection, local_ids, now))
    await repo.mark_inactive(collection, [sid for sid, _ in candidates])
    grades = GradeRepository(repo.session, repo.tenant_id)
    if collection == "results":
        await course_records.after_deleted_results(
            repo.session, repo.tenant_id, [s for s, _ in candidates], state
        )
        # A result the provider deleted no longer supports anything: its evidence is withdrawn (awards
        # that relied on it are flagged for review by the evidence service, never revoked).
        found = await grades.active_evidence_with_prefixes([ref_prefix(sid) for sid, _ in candidates])
        await _withdraw(repo, state, found, "the OneRoster result was deleted by the provider")
    elif collection == "lineItems":
        results = await grades.result_sourced_ids_of_line_items(local_ids)
        found = await grades.active_evidence_with_prefixes([ref_prefix(sid) for sid in results])
        await _withdraw(repo, state, found, "the OneRoster line item was deleted by the provider")
    elif collection in ("users", "classes") and inactive_evidence == "withdraw":
        column = "learner_id" if collection == "users" else "class_id"
        found = await grades.active_result_evidence_by(column, local_ids)
        what = "learner" if collection == "users" else "class"
        await _withdraw(repo, state, found, f"the OneRoster {what} was deactivated by the provider")


async def _withdraw(repo: SyncRepository, state: SyncState, ids: list[uuid.UUID], reason: str) -> None:
    evidence = EvidenceService(repo.session, repo.tenant_id)
    for evidence_id in ids:
        await evidence.withdraw(evidence_id, reason)
        state.evidence["withdrawn"] = state.evidence.get("withdrawn", 0) + 1


async def run_sync(
    client: OneRosterClient,
    target: SyncTarget,
    state: SyncState,
    *,
    on_progress: Callable[[SyncState], Awaitable[None]] | None = None,
) -> SyncState:
    """Sync every collection in order from where ``state`` says; returns the final state.

    Three phases, each resumable: every collection is read and written (new and changed records,
    tombstones noted); the guard checks every collection's counts; only then are records deactivated,
    so a sync that stops at the guard has deactivated nothing."""
    if not state.done and state.collection is None:
        # A fresh start: seen marks left by this connection's syncs that failed or were refused.
        async with target.transaction() as session:
            repo = SyncRepository(session, target.tenant_id, target.connection_id)
            await repo.forget_seen(target.job_id, others=True)
    for collection in ORDER:
        if collection in state.done:
            continue
        if state.collection != collection:
            state.collection, state.next_url, state.fetched_all = collection, None, False
        state.counts.setdefault(collection, _empty_counts())
        if not state.fetched_all:
            try:

                def prepare(records: list[dict[str, Any]], collection: str = collection) -> Any:
                    # Only while the collection is being loaded for the first time (every record is
                    # mapped); a re-run maps none of the records it finds unchanged.
                    return premap(collection, records) if collection in state.unclaimed else None

                pages = client.pages(collection, since=state.since, start_url=state.next_url, prepare=prepare)
                if target.reader is None:
                    async for page in pages:
                        async with target.transaction() as session:
                            repo = SyncRepository(session, target.tenant_id, target.connection_id)
                            await repo.relax_commit()
                            writer = _writer(repo, state, target)
                            where = _where(collection, page)
                            await writer.write(collection, page.records, where=where, premapped=page.prepared)
                            _after_page(client, state, collection, page)
                            await target.save_progress(session, state.to_json())
                        if on_progress is not None:
                            await on_progress(state)
                        if await target.cancelled():
                            await pages.aclose()  # type: ignore[attr-defined]
                            raise JobCancelled(f"job {target.job_id} was cancelled")
                else:
                    await _pipeline(client, target, state, collection, pages, on_progress)
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
            await link_parents(repo, state, collection)
            state.done.append(collection)
            state.collection, state.next_url, state.fetched_all = None, None, False
            await target.save_progress(session, state.to_json())
        if on_progress is not None:
            await on_progress(state)
    full = {c: state.mode == "full" and c not in state.failed for c in ORDER}
    if not state.checked and not target.override:
        async with target.transaction() as session:
            repo = SyncRepository(session, target.tenant_id, target.connection_id)
            refusals = await check_guards(
                repo,
                full,
                job_id=target.job_id,
                share=target.max_deactivation_share,
                floor=target.guard_floor,
            )
        if refusals:
            state.refused = [r.as_dict() for r in refusals]
            async with target.transaction() as session:
                await target.save_progress(session, state.to_json())
            raise GuardRefused(refusal_message(refusals, target.max_deactivation_share))
    state.checked = True
    for collection in ORDER:
        if collection in state.deactivated:
            continue
        async with target.transaction() as session:
            repo = SyncRepository(session, target.tenant_id, target.connection_id)
            await deactivate_collection(
                repo,
                state,
                collection,
                job_id=target.job_id,
                full=full[collection],
                inactive_evidence=target.inactive_evidence,
            )
            state.deactivated.append(collection)
            if len(state.deactivated) == len(ORDER):
                await repo.forget_seen(target.job_id)
            await target.save_progress(session, state.to_json())
        if on_progress is not None:
            await on_progress(state)
    return state


def _where(collection: str, page: Any) -> str:
    return f"{collection} offset {page.url.rsplit('offset=', 1)[-1].split('&', 1)[0]}"


def _writer(repo: SyncRepository, state: SyncState, target: SyncTarget) -> PageWriter:
    return PageWriter(
        repo, state, target.job_id, cache=target.cache, inactive_evidence=target.inactive_evidence
    )


def _after_page(client: OneRosterClient, state: SyncState, collection: str, page: Any) -> None:
    """The resume point and the paging facts of a page written (in its transaction)."""
    state.next_url = page.next_url
    if page.filter_dropped and collection not in state.full_pulls:
        state.full_pulls.append(collection)
    served = client.stats.page_sizes.get(collection, 0)
    if served > state.page_sizes.get(collection, 0):
        state.page_sizes[collection] = served


async def _pipeline(
    client: OneRosterClient,
    target: SyncTarget,
    state: SyncState,
    collection: str,
    pages: Any,
    on_progress: Callable[[SyncState], Awaitable[None]] | None,
) -> None:
    """A collection's pages with page N+1 prepared (read on a second connection, compared, rows
    built) while page N is being written and committed on the first.

    Correct because: (1) a page is written only after the page before committed, and its
    transaction saves the resume point of that page alone (what the page prepared ahead added to
    the counts is kept in a :meth:`SyncState.fork` until its own write), so the resume point never
    passes a page that is not committed; (2) a page is prepared only after the page being written
    is committed when it shares a sourcedId with it (its own records, or a reference into its own
    collection), and enrollments (one per class, person and role, which the preparation checks
    against the stored ones) are never prepared ahead: what the preparation reads is then never
    something the write in flight changes; (3) everything is written before the collection is
    finished (parents linked, the next collection started)."""
    pending: asyncio.Task[None] | None = None
    pending_keys: set[str] = set()

    async def write(plan: PagePlan, part: SyncState, page: Any) -> None:
        async with target.transaction() as session:
            repo = SyncRepository(session, target.tenant_id, target.connection_id)
            await repo.relax_commit()
            state.absorb(part)
            await _writer(repo, state, target).flush(plan)
            _after_page(client, state, collection, page)
            await target.save_progress(session, state.to_json())
        if on_progress is not None:
            await on_progress(state)

    async def settle() -> None:
        nonlocal pending
        if pending is None:
            return
        task, pending = pending, None
        await task
        if await target.cancelled():
            await pages.aclose()
            raise JobCancelled(f"job {target.job_id} was cancelled")

    try:
        async for page in pages:
            keys = {r["sourcedId"] for r in page.records if isinstance(r.get("sourcedId"), str)}
            if collection == "enrollments" or not keys.isdisjoint(pending_keys):
                await settle()
            part = state.fork()
            async with target.reader() as session:  # type: ignore[misc]
                repo = SyncRepository(session, target.tenant_id, target.connection_id)
                await repo.relax_commit()
                plan = await _writer(repo, part, target).prepare(
                    collection, page.records, where=_where(collection, page), premapped=page.prepared
                )
            if not plan.keys.isdisjoint(pending_keys):
                await settle()  # a reference into the page in flight: prepared again once it is written
                part = state.fork()
                async with target.reader() as session:  # type: ignore[misc]
                    repo = SyncRepository(session, target.tenant_id, target.connection_id)
                    plan = await _writer(repo, part, target).prepare(
                        collection, page.records, where=_where(collection, page), premapped=page.prepared
                    )
            await settle()
            pending, pending_keys = asyncio.create_task(write(plan, part, page)), plan.keys
        await settle()
    finally:
        if pending is not None:
            # An error while preparing or fetching: the page in flight is still written (it is
            # complete); if its write failed, that error is the one that counts.
            await asyncio.wait([pending])
            failure = None if pending.cancelled() else pending.exception()
            if failure is not None:
                raise failure


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
        inactive_evidence = connection.inactive_evidence
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
        guard_floor=ctx.settings.oneroster.deactivation_guard_floor,
        inactive_evidence=inactive_evidence,
        # SQLite has one writer: there a page is prepared and written in the same transaction.
        reader=ctx.transaction if ctx.db.engine.dialect.name == "postgresql" else None,
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
