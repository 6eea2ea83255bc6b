"""Use cases of public verification: read what a partner sent, verify it, say what was checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.credentials.baking import extract_png, extract_svg
from service.credentials.data_model import MAX_DEPTH, exceeds_depth
from service.credentials.errors import BakingError, CredentialError, FetchError
from service.credentials.memo import VerificationMemo
from service.credentials.pdf import PdfError, extract_pdf
from service.credentials.remote import (
    NestedResult,
    PresentationResult,
    is_clr,
    verify_nested_with_fetcher,
    verify_presentation_with_fetcher,
    verify_with_fetcher,
)
from service.credentials.vc_jwt import looks_like_jwt
from service.credentials.verify import VerificationResult
from service.errors import FieldError, NotFoundError, UnsupportedMediaTypeError
from service.net import OutboundURLError, parse_url
from service.tenancy.repository import TenantRepository
from service.verification import pdf
from service.verification.errors import NoCredentialFound, UnreadableCredential
from service.verification.fetcher import RemoteFetcher

JSON_MEDIA = ("application/json", "application/vc+ld+json", "application/ld+json", "application/vc")
TEXT_MEDIA = ("text/plain", "application/jwt", "application/vc+jwt", "application/vc-ld+jwt")
PNG_MEDIA = ("image/png",)
SVG_MEDIA = ("image/svg+xml",)
PDF_MEDIA = ("application/pdf",)


@dataclass(frozen=True)
class Submitted:
    """A credential as submitted: a JSON object or a compact JWS, and where it came from."""

    credential: dict[str, Any] | str
    source: str  # json | jws | png | svg | pdf | url
    #: A link to the credential found in the input (a PDF's link annotation): fetch it to get the credential.
    link: str | None = None


def _from_text(text: str, loc: str) -> Submitted:
    stripped = text.strip()
    if not stripped:
        raise UnreadableCredential("the credential is empty", [FieldError(loc, "empty", "missing")])
    if looks_like_jwt(stripped):
        return Submitted(stripped, "jws")
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError) as exc:
        raise UnreadableCredential(
            f"the credential is neither JSON nor a compact JWS: {exc}",
            [FieldError(loc, "neither JSON nor a compact JWS", "malformed")],
        ) from exc
    return _from_json(value, loc)


def _from_json(value: Any, loc: str) -> Submitted:
    if exceeds_depth(value, MAX_DEPTH + 2):
        raise NoCredentialFound(
            f"the credential nests objects or arrays deeper than {MAX_DEPTH} levels",
            [FieldError(loc, f"nested deeper than {MAX_DEPTH} levels", "too_deep")],
        )
    if isinstance(value, str):
        return _from_text(value, loc)
    if isinstance(value, dict) and "@context" not in value and "verifiableCredential" in value:
        # Tolerate the VC-API envelope {"verifiableCredential": ...}.
        return _from_json(value["verifiableCredential"], f"{loc}.verifiableCredential")
    if not isinstance(value, dict):
        raise NoCredentialFound(
            "the credential must be a JSON object (or a compact JWS string)",
            [FieldError(loc, f"expected an object, got {type(value).__name__}", "type_error")],
        )
    return Submitted(value, "json")


def _from_image(kind: str, data: bytes, loc: str) -> Submitted:
    try:
        text = extract_png(data) if kind == "png" else extract_svg(data)
    except BakingError as exc:
        raise UnreadableCredential(
            f"the {kind.upper()} image cannot be read: {exc}", [FieldError(loc, str(exc), "malformed")]
        ) from exc
    if text is None:
        raise NoCredentialFound(
            f"the {kind.upper()} image carries no baked Open Badges credential",
            [FieldError(loc, "no openbadgecredential in the image", "missing")],
        )
    submitted = _from_text(text, loc)
    return Submitted(submitted.credential, kind)


def _from_pdf(data: bytes, loc: str) -> Submitted:
    """The credential in a PDF: the embedded credential file first (a transcript PDF carries its signed
    ClrCredential as a PDF/A-3 associated file, read with a PDF parser), else a credential found in any
    other stream or a link annotation to one (:mod:`service.verification.pdf`, for PDFs made elsewhere)."""
    problem: PdfError | None = None
    try:
        text = extract_pdf(data)
    except PdfError as exc:
        text, problem = None, exc
    if text is not None:
        return Submitted(_from_text(text, loc).credential, "pdf")
    try:
        found = pdf.find_credential(data)
    except pdf.PdfError as exc:
        raise UnreadableCredential(
            f"the PDF cannot be read: {problem or exc}", [FieldError(loc, str(problem or exc), "malformed")]
        ) from exc
    if found is None:
        if problem is not None:
            raise UnreadableCredential(
                f"the PDF cannot be read: {problem}", [FieldError(loc, str(problem), "malformed")]
            ) from problem
        raise NoCredentialFound(
            "the PDF carries no credential: no attached credential file and no link to one",
            [FieldError(loc, "no credential in the PDF", "missing")],
        )
    if found.kind == "url":
        return Submitted("", "pdf", link=found.text)
    return Submitted(_from_text(found.text, loc).credential, "pdf")


def sniff_kind(filename: str | None, media: str, data: bytes) -> str:
    """What an uploaded file is: ``png``, ``svg``, ``pdf`` or ``text`` (JSON / JWS)."""
    name = (filename or "").lower()
    if pdf.is_pdf(data) or media in PDF_MEDIA or name.endswith(".pdf"):
        return "pdf"
    if data.startswith(b"\x89PNG") or media in PNG_MEDIA or name.endswith(".png"):
        return "png"
    head = data[:512].lstrip().lower()
    if media in SVG_MEDIA or name.endswith(".svg") or head.startswith((b"<svg", b"<?xml")):
        return "svg"
    return "text"


def read_submission(media: str, body: bytes, *, loc: str = "body") -> Submitted:
    """Read a request body of the given media type (``multipart`` is unpacked by the transport)."""
    if media in PNG_MEDIA:
        return _from_image("png", body, loc)
    if media in SVG_MEDIA:
        return _from_image("svg", body, loc)
    if media in PDF_MEDIA:
        return _from_pdf(body, loc)
    if media in JSON_MEDIA or media.endswith("+json") or media in TEXT_MEDIA or media == "":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableCredential(
                "the body is not UTF-8 text", [FieldError(loc, "not UTF-8", "malformed")]
            ) from exc
        if media in TEXT_MEDIA:
            return _from_text(text, loc)
        if not text.strip():
            raise UnreadableCredential("the body is empty", [FieldError(loc, "empty", "missing")])
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise UnreadableCredential(
                f"the body is not valid JSON: {exc}", [FieldError(loc, str(exc), "json_invalid")]
            ) from exc
        return _from_json(value, loc)
    raise UnsupportedMediaTypeError(
        f"cannot verify a {media} body; send application/json, application/vc+ld+json, text/plain "
        "(compact JWS), image/png, image/svg+xml, application/pdf or multipart/form-data"
    )


def read_upload(filename: str | None, media: str, data: bytes, *, loc: str) -> Submitted:
    """Read an uploaded file (multipart): a baked PNG/SVG, a PDF with an embedded credential, or a JSON /
    JWS text file."""
    kind = sniff_kind(filename, media, data)
    if kind == "pdf":
        return _from_pdf(data, loc)
    if kind in ("png", "svg"):
        return _from_image(kind, data, loc)
    try:
        return _from_text(data.decode("utf-8"), loc)
    except UnicodeDecodeError as exc:
        raise UnreadableCredential(
            "the uploaded file is not a PNG, an SVG, a PDF or UTF-8 text",
            [FieldError(loc, "unrecognised file", "malformed")],
        ) from exc


def read_text(text: str, *, loc: str) -> Submitted:
    """Read a pasted credential (JSON or compact JWS)."""
    return _from_text(text, loc)


class VerificationService:
    """Verifies submitted credentials, fetching other issuers' keys and status lists when needed."""

    def __init__(self, settings: Settings, fetcher: RemoteFetcher) -> None:
        self.settings = settings
        self.fetcher = fetcher
        #: Pure steps already verified (schema, signatures, safe mode), by exact document and key; the
        #: credentials verified here are parsed from JSON text, which the memo requires.
        self.memo = VerificationMemo(settings.verify.memo_entries)

    async def verify(
        self, credential: dict[str, Any] | str, *, now: datetime | None = None
    ) -> VerificationResult:
        async with self.fetcher.verification() as fetch:  # one deadline, one place in the cap
            return await verify_with_fetcher(
                credential,
                fetch=fetch,
                now=now,
                did_web_scheme=self.fetcher.did_web_scheme,
                max_fetches=self.settings.verify.max_fetches,
                memo=self.memo,
            )

    async def verify_nested(
        self, result: VerificationResult, *, now: datetime | None = None
    ) -> tuple[NestedResult, ...] | None:
        """For a ClrCredential (CLR 2.0), each credential it holds verified on its own; ``None`` for
        any other credential."""
        if not is_clr(result.credential):
            return None
        assert result.credential is not None
        try:
            return await verify_nested_with_fetcher(
                result.credential,
                fetch=self.fetcher,
                now=now,
                did_web_scheme=self.fetcher.did_web_scheme,
                max_fetches=self.settings.verify.max_fetches,
                memo=self.memo,
            )
        except CredentialError as exc:
            raise NoCredentialFound(
                str(exc), [FieldError("body.credentialSubject.verifiableCredential", str(exc), "too_many")]
            ) from exc

    async def fetch(self, url: str, *, loc: str = "query.url") -> Submitted:
        """The credential published at ``url`` (JSON or a compact JWS), fetched through the outbound
        guard (our own URLs are answered in-process)."""
        try:
            parse_url(url)
        except OutboundURLError as exc:
            raise UnreadableCredential(
                f"the link cannot be used: {exc.reason}", [FieldError(loc, exc.reason, "url_invalid")]
            ) from exc
        try:
            text = await self.fetcher(url)
        except FetchError as exc:
            raise UnreadableCredential(
                f"no credential could be fetched from the link: {exc}",
                [FieldError(loc, str(exc), "fetch_failed")],
            ) from exc
        return _from_text(text, loc)

    async def resolve(self, submitted: Submitted, *, loc: str = "body") -> Submitted:
        """``submitted`` itself, or the credential its link points at (a PDF that links to it)."""
        if submitted.link is None:
            return submitted
        fetched = await self.fetch(submitted.link, loc=loc)
        return Submitted(fetched.credential, submitted.source)

    async def verify_presentation(
        self,
        presentation: Mapping[str, Any],
        *,
        challenge: str | None = None,
        domain: str | None = None,
        now: datetime | None = None,
    ) -> PresentationResult:
        async with self.fetcher.verification() as fetch:
            return await verify_presentation_with_fetcher(
                presentation,
                fetch=fetch,
                challenge=challenge,
                domain=domain,
                now=now,
                did_web_scheme=self.fetcher.did_web_scheme,
                max_fetches=self.settings.verify.max_fetches,
                memo=self.memo,
            )

    @staticmethod
    async def require_issuer(session: AsyncSession, slug: str) -> None:
        """The VC-API paths name an issuer: it must be an existing district."""
        if await TenantRepository(session).get_by_slug(slug) is None:
            raise NotFoundError(f"no issuer {slug!r}")
