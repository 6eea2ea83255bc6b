"""Use cases of reading a transcript at its public URL: the view (HTML page) and the PDF.

The words come from the signed credential; the only additions are display names the district holds and
the credential does not (it carries salted hashes): the learner's name as the district's
``public_learner_name`` setting allows (as on the public badge page; "Ada L." by default), the learner's
school and the district's name. Revocation shows as a date, never the reason.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date
from threading import Lock
from typing import Any

from anyio import to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.public import learner_display_name
from service.config import Settings
from service.roster.models import Org, Person
from service.roster.repository import RosterRepository
from service.tenancy.repository import TenantRepository
from service.transcripts.pdf import Paper, render_transcript_pdf
from service.transcripts.service import PublicTranscriptService
from service.transcripts.view import TranscriptView, build_transcript_view

#: Rendered PDFs kept in memory (a transcript is immutable; the key holds what may change: revocation,
#: display names, paper). Typesetting takes a few hundred milliseconds, serving a kept one nothing.
PDF_CACHE_ENTRIES = 32


@dataclass(frozen=True)
class TranscriptReading:
    """A transcript ready to show: the signed credential, its view, and whether it was revoked."""

    transcript_id: uuid.UUID
    credential: dict[str, Any]
    document: str
    view: TranscriptView
    revoked_on: date | None


def learner_display(person: Person | None, style: str = "first_initial") -> str | None:
    """The learner's name as the district lets public pages show it (``full``, ``first_initial`` as in
    "Ada L.", the default, or ``none``): the same rule as the public badge page."""
    if person is None:
        return None
    return learner_display_name(person.preferred_name or person.given_name, person.family_name, style)


class _PdfCache:
    """A small LRU of rendered PDFs, shared by the requests of one process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self.lock = Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: bytes) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_pdf_cache = _PdfCache(PDF_CACHE_ENTRIES)


class TranscriptReadingService:
    """A transcript by its public UUID, as people read it (no token: the URL is the secret)."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.roster = RosterRepository(session)
        self.tenants = TenantRepository(session)

    async def _school(self, tenant_id: uuid.UUID, learner_id: uuid.UUID) -> str | None:
        org_ids = (await self.roster.org_ids_for([learner_id])).get(learner_id, [])
        orgs = await self.roster.orgs_by_ids(tenant_id, org_ids)
        schools = sorted(org.name for org in orgs.values() if isinstance(org, Org) and org.type == "school")
        return schools[0] if schools else None

    async def read(self, transcript_id: uuid.UUID) -> TranscriptReading:
        found = await PublicTranscriptService(self.session, self.settings).get(transcript_id)
        transcript, row = found.transcript, found.credential
        credential: dict[str, Any] = json.loads(row.document)
        person = await self.roster.get(Person, transcript.tenant_id, transcript.learner_id)
        tenant = await self.tenants.get(transcript.tenant_id)
        style = tenant.public_learner_name if tenant is not None else "first_initial"
        view = build_transcript_view(
            credential,
            learner_name=learner_display(person, style),
            school_name=await self._school(transcript.tenant_id, transcript.learner_id),
            district_name=tenant.name if tenant else None,
        )
        revoked_on = row.revoked_at.date() if row.revoked_at else None
        return TranscriptReading(
            transcript_id=transcript_id,
            credential=credential,
            document=row.document,
            view=replace(view, revoked_on=revoked_on),
            revoked_on=revoked_on,
        )

    async def pdf(self, transcript_id: uuid.UUID, paper: Paper) -> bytes:
        """The transcript PDF, typeset in a worker thread (kept for the next reader)."""
        reading = await self.read(transcript_id)
        view = reading.view
        key = (
            transcript_id,
            paper,
            reading.revoked_on,
            view.learner_name,
            view.school_name,
            view.district_name,
        )
        cached = _pdf_cache.get(key)
        if cached is not None:
            return cached
        pdf = await to_thread.run_sync(lambda: render_transcript_pdf(view, reading.document, paper=paper))
        _pdf_cache.put(key, pdf)
        return pdf
