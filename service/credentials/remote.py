"""Verifying credentials of other issuers: keys and status lists fetched through an injected fetcher.

The library does no I/O of its own. :func:`verify_with_fetcher` asks the caller's async ``fetch`` for
every remote document a verification needs, then runs the pure :func:`~.verify.verify_credential`
over what was fetched:

* keys: ``did:key`` (offline), ``did:web`` (the DID document at the did:web URL), and http(s)
  verification method URLs (the document at the URL without its fragment: either the controller
  document listing the method, or the key object itself whose ``controller`` document is then fetched
  to learn the key's verification relationships);
* status: ``BitstringStatusListEntry`` (the status list credential is fetched, must itself verify,
  then the bit is read) and ``1EdTechRevocationList`` (the list is fetched; the credential is revoked
  when its id is listed with ``revoked`` true or omitted).

``fetch(url)`` returns the response body as text and raises :class:`FetchError` (or any
:class:`CredentialError`) when it cannot; guarding (private addresses, timeouts, sizes) and caching are
the fetcher's business. At most :data:`MAX_FETCHES` documents are fetched per verification.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from service.credentials.contexts import ContextRegistry
from service.credentials.data_integrity import proof_suite, verify_proof
from service.credentials.data_model import MAX_DEPTH, exceeds_depth
from service.credentials.did import did_web_document_url, resolve_did_key_method
from service.credentials.errors import CredentialError, FetchError, KeyFormatError, KeyResolutionError
from service.credentials.keys import VerificationKey, verification_key_from_document
from service.credentials.memo import VerificationMemo
from service.credentials.status_list import StatusResult, check_status
from service.credentials.verify import (
    Check,
    ProofMemo,
    VerificationResult,
    methods_of,
    parse_input,
    verify_credential,
    verify_parsed,
)

Fetcher = Callable[[str], Awaitable[str]]
"""``fetch(url) -> body text``; raises :class:`FetchError` when the URL cannot be fetched."""

MAX_FETCHES = 8
MAX_DOCUMENT_CHARS = 2 * 1024 * 1024

STATUS_TYPES = ("BitstringStatusListEntry", "1EdTechRevocationList")

#: Status list credentials are shared by many credentials: their verified proofs are remembered.
STATUS_LIST_PROOFS = ProofMemo(max_entries=512)


class _TextMemo:
    """What was derived from a fetched document's exact text (parsed JSON, a resolved key), bounded.

    The fetcher's cache hands out the same text for as long as the document has not changed, and
    everything derived here is a pure function of that text (and of the method id asked for), so a
    changed document is a different key. Values are shared: callers must not change them."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, text: str) -> Any | None:
        with self._lock:
            value = self._items.get((kind, text))
            if value is not None:
                self._items.move_to_end((kind, text))
            return value

    def put(self, kind: str, text: str, value: Any) -> None:
        with self._lock:
            self._items[(kind, text)] = value
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)


_DERIVED = _TextMemo()


@lru_cache(maxsize=1024)
def _document_url(did: str, scheme: str) -> str:
    return did_web_document_url(did, scheme=scheme)


def _default_scheme(_host: str) -> str:
    return "https"


@dataclass
class _Session:
    fetch: Fetcher
    did_web_scheme: Callable[[str], str]
    budget: int
    cache: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    #: Pure steps already verified (schema, signatures), shared by the verifications of a process.
    memo: VerificationMemo | None = None

    async def json(self, url: str) -> Any:
        """The JSON document at ``url`` (fetched once per verification). The parsed value may be
        shared with other verifications of the same text: never change it."""
        if url in self.cache:
            return self.cache[url]
        text = await self.text(url)
        value = _DERIVED.get("json", text)
        if value is None:
            try:
                value = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise FetchError(f"{url} did not return JSON") from exc
            if exceeds_depth(value):
                raise FetchError(f"{url}: the document nests deeper than {MAX_DEPTH} levels")
            _DERIVED.put("json", text, value)
        self.cache[url] = value
        self.texts[url] = text
        return value

    async def text(self, url: str) -> str:
        if self.budget <= 0:
            raise FetchError(f"too many remote documents needed (limit {MAX_FETCHES}); {url} not fetched")
        self.budget -= 1
        try:
            text = await self.fetch(url)
        except CredentialError:
            raise
        except Exception as exc:  # a fetcher bug must not become a 500: report it as a failed fetch
            raise FetchError(f"{url} could not be fetched: {type(exc).__name__}") from exc
        if not isinstance(text, str):
            raise FetchError(f"{url}: the fetcher returned {type(text).__name__}, not text")
        if len(text) > MAX_DOCUMENT_CHARS:
            raise FetchError(f"{url}: the document is larger than {MAX_DOCUMENT_CHARS} characters")
        return text


def did_web_host(did: str) -> str:
    """The host (with port) of a did:web, percent-decoded."""
    return unquote(did[len("did:web:") :].split("#", 1)[0].split(":", 1)[0])


async def _resolve_key(session: _Session, method: str) -> VerificationKey:
    if method.startswith("did:key:"):
        return resolve_did_key_method(method)
    if method.startswith("did:web:"):
        did = method.split("#", 1)[0]
        url = _document_url(did, session.did_web_scheme(did_web_host(did)))
        document = await session.json(url)
        # The key is a pure function of the document's text and the method id: resolved once per text.
        text = session.texts.get(url)
        known = _DERIVED.get("key:" + method, text) if text is not None else None
        if isinstance(known, VerificationKey):
            return known
        if not isinstance(document, Mapping) or document.get("id") != did:
            raise KeyResolutionError(f"the DID document at {url} is not the document of {did}")
        key = _key_from(document, method)
        if text is not None:
            _DERIVED.put("key:" + method, text, key)
        return key
    if method.startswith(("https://", "http://")):
        base = method.split("#", 1)[0]
        document = await session.json(base)
        if not isinstance(document, Mapping):
            raise KeyResolutionError(f"{base} did not return a JSON object")
        if _is_key_object(document, method):
            # The URL names the key itself: its controller document says what the key may do.
            controller = document.get("controller")
            if not isinstance(controller, str) or not controller.startswith(("https://", "http://", "did:")):
                raise KeyResolutionError(f"the key {method} names no controller document")
            if controller.startswith("did:web:"):
                controller_doc = await _did_document(session, controller)
            else:
                controller_doc = await session.json(controller.split("#", 1)[0])
            if not isinstance(controller_doc, Mapping) or controller_doc.get("id") != controller:
                raise KeyResolutionError(f"the controller document of {method} is not {controller}")
            listed = controller_doc.get("verificationMethod")
            merged = {
                **controller_doc,
                "verificationMethod": [
                    *(listed if isinstance(listed, list) else [listed] if listed else []),
                    document,
                ],
            }
            return _key_from(merged, method)
        if document.get("id") != base:
            raise KeyResolutionError(
                f"the document at {base} has id {document.get('id')!r}; it must be the document's URL"
            )
        return _key_from(document, method)
    raise KeyResolutionError(f"unsupported verification method {method!r} (did:key, did:web or an URL)")


async def _did_document(session: _Session, did: str) -> Mapping[str, Any]:
    if did.startswith("did:web:"):
        url = _document_url(did, session.did_web_scheme(did_web_host(did)))
        document = await session.json(url)
        if isinstance(document, Mapping) and document.get("id") == did:
            return document
        raise KeyResolutionError(f"the DID document at {url} is not the document of {did}")
    raise KeyResolutionError(f"unsupported controller {did!r}")


def _is_key_object(document: Mapping[str, Any], method: str) -> bool:
    return document.get("id") == method and any(
        name in document for name in ("publicKeyMultibase", "publicKeyJwk", "publicKeyBase58")
    )


def _key_from(document: Mapping[str, Any], method: str) -> VerificationKey:
    try:
        return verification_key_from_document(document, method)
    except KeyFormatError as exc:
        raise KeyResolutionError(str(exc)) from exc


async def prefetch_keys(session: _Session, methods: list[str]) -> dict[str, VerificationKey | str]:
    """Resolve each method: the key, or the reason it could not be resolved."""
    out: dict[str, VerificationKey | str] = {}
    for method in methods:
        try:
            out[method] = await _resolve_key(session, method)
        except CredentialError as exc:
            out[method] = str(exc)
    return out


def _entry_key(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, default=str)


async def _status_of(
    session: _Session,
    entry: Mapping[str, Any],
    credential: Mapping[str, Any],
    now: datetime | None,
    registry: ContextRegistry | None,
) -> StatusResult:
    kind = entry.get("type")
    if kind == "BitstringStatusListEntry":
        url = entry.get("statusListCredential")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise FetchError("statusListCredential must be an http(s) URL")
        text = await session.text(url)
        read = _DERIVED.get("input", text)  # the list every credential of an issuer points to
        if read is None:
            try:
                read = parse_input(text)
            except CredentialError as exc:
                raise FetchError(f"the status list at {url} is not a credential: {exc}") from exc
            _DERIVED.put("input", text, read)
        list_credential = read[0]
        result = await _verify(
            session,
            text,
            now=now,
            registry=registry,
            check_status_entries=False,
            memo=STATUS_LIST_PROOFS,
            read=read,
        )
        if not result.verified:
            failed = "; ".join(f"{c.check}: {c.message}" for c in result.checks if not c.ok)
            raise FetchError(f"the status list credential at {url} does not verify ({failed})")
        return check_status(entry, list_credential)
    if kind == "1EdTechRevocationList":
        url = entry.get("id")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise FetchError("a 1EdTechRevocationList entry's id must be an http(s) URL")
        document = await session.json(url)
        if not isinstance(document, Mapping) or not isinstance(document.get("revokedCredentials", []), list):
            raise FetchError(f"{url} is not a revocation list (no revokedCredentials array)")
        credential_id = credential.get("id")
        revoked = False
        for item in document.get("revokedCredentials", []):
            if isinstance(item, Mapping) and credential_id is not None and item.get("id") == credential_id:
                revoked = revoked or item.get("revoked", True) is not False
        return StatusResult(purpose="revocation", index=None, set=revoked)
    raise FetchError(f"unsupported credentialStatus type {kind!r} (supported: {', '.join(STATUS_TYPES)})")


def _not_checked(_entry: Mapping[str, Any]) -> StatusResult:
    return StatusResult(purpose="status (of a status list, not checked)", index=None, set=False)


async def _verify(
    session: _Session,
    doc_or_jws: Mapping[str, Any] | str | bytes,
    *,
    now: datetime | None,
    registry: ContextRegistry | None,
    check_status_entries: bool = True,
    memo: ProofMemo | None = None,
    read: tuple[dict[str, Any], Any, str | None] | None = None,
) -> VerificationResult:
    try:
        credential, parsed, token = read if read is not None else parse_input(doc_or_jws)
        methods = methods_of(credential, parsed)
    except CredentialError:
        # Unreadable input: the pure verifier reports it check by check.
        return verify_credential(doc_or_jws, resolve_key=_no_key, now=now, registry=registry)
    keys = await prefetch_keys(session, methods)

    def resolve(method: str) -> VerificationKey:
        found = keys.get(method)
        if found is None:
            raise KeyResolutionError(f"{method!r} was not resolved")
        if isinstance(found, str):
            raise KeyResolutionError(found)
        return found

    checker: Callable[[Mapping[str, Any]], StatusResult] = _not_checked
    if check_status_entries:
        raw = credential.get("credentialStatus")
        entries = [e for e in (raw if isinstance(raw, list) else [raw]) if isinstance(e, Mapping)]
        outcomes: dict[str, StatusResult | str] = {}
        for entry in entries:
            try:
                outcomes[_entry_key(entry)] = await _status_of(session, entry, credential, now, registry)
            except CredentialError as exc:
                outcomes[_entry_key(entry)] = str(exc)

        def check(entry: Mapping[str, Any]) -> StatusResult:
            outcome = outcomes.get(_entry_key(entry))
            if outcome is None:
                raise FetchError("the status entry was not fetched")
            if isinstance(outcome, str):
                raise FetchError(outcome)
            return outcome

        checker = check
    return verify_parsed(
        credential,
        parsed,
        token,
        resolve_key=resolve,
        now=now,
        status_checker=checker,
        registry=registry,
        proof_memo=memo,
        memo=session.memo,
    )


def _no_key(method: str) -> VerificationKey:
    raise KeyResolutionError(f"{method!r} cannot be resolved")


async def verify_with_fetcher(
    doc_or_jws: Mapping[str, Any] | str | bytes,
    *,
    fetch: Fetcher,
    now: datetime | None = None,
    registry: ContextRegistry | None = None,
    did_web_scheme: Callable[[str], str] = _default_scheme,
    max_fetches: int = MAX_FETCHES,
    memo: VerificationMemo | None = None,
) -> VerificationResult:
    """Verify a credential (JSON object, JSON text or compact JWS) whose keys and status lists may live
    elsewhere; ``fetch`` brings remote documents. ``did_web_scheme(host)`` picks ``https`` (default) or
    ``http`` (local test servers) for did:web documents. Never raises for a bad credential."""
    session = _Session(fetch=fetch, did_web_scheme=did_web_scheme, budget=max_fetches, memo=memo)
    return await _verify(session, doc_or_jws, now=now, registry=registry)


# --- presentations ----------------------------------------------------------------------------------

MAX_PRESENTED_CREDENTIALS = 20


@dataclass(frozen=True)
class PresentationResult:
    """The presentation's own proof check (``None`` when it carries no proof and none was required)
    and the result of each embedded credential; ``verified`` when all of them hold."""

    verified: bool
    proof: Check | None
    credentials: tuple[VerificationResult, ...]


def _presented(presentation: Mapping[str, Any]) -> list[Any]:
    raw = presentation.get("verifiableCredential")
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


async def _presentation_proof(
    session: _Session,
    presentation: Mapping[str, Any],
    *,
    challenge: str | None,
    domain: str | None,
    registry: ContextRegistry | None,
) -> Check | None:
    raw = presentation.get("proof")
    proofs = [p for p in (raw if isinstance(raw, list) else [raw]) if isinstance(p, Mapping)]
    if not proofs:
        if challenge is not None or domain is not None:
            return Check("proof", False, "a challenge or domain was given but the presentation has no proof")
        return None
    holder = presentation.get("holder")
    holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
    messages: list[str] = []
    for proof in proofs:
        suite = proof_suite(proof)
        if suite is None:
            found = proof.get("cryptosuite") or proof.get("type")
            return Check(
                "proof", False, f"unsupported presentation proof {found!r} (eddsa-rdfc-2022 expected)"
            )
        if proof.get("proofPurpose") != "authentication":
            return Check(
                "proof", False, f"proofPurpose must be 'authentication', not {proof.get('proofPurpose')!r}"
            )
        if challenge is not None and proof.get("challenge") != challenge:
            return Check("proof", False, "the proof's challenge does not match the expected challenge")
        domains = proof.get("domain")
        if domain is not None and domain not in (domains if isinstance(domains, list) else [domains]):
            return Check("proof", False, "the proof's domain does not match the expected domain")
        method = proof.get("verificationMethod")
        method = method.get("id") if isinstance(method, Mapping) else method
        if not isinstance(method, str):
            return Check("proof", False, "the presentation proof has no verificationMethod")
        try:
            key = await _resolve_key(session, method)
        except CredentialError as exc:
            return Check("proof", False, f"could not resolve verification method {method!r}: {exc}")
        if not key.allows("authentication"):
            return Check("proof", False, f"key {method!r} is not authorized for authentication")
        if isinstance(holder_id, str) and key.controller != holder_id:
            return Check(
                "proof", False, f"key {method!r} is controlled by {key.controller!r}, not the holder"
            )
        try:
            verify_proof(presentation, proof, key.public_key, registry=registry)
        except CredentialError as exc:
            return Check("proof", False, f"{suite}: {exc}")
        messages.append(f"{suite} presentation signature by {method} is valid")
    return Check("proof", True, "; ".join(messages))


async def verify_presentation_with_fetcher(
    presentation: Mapping[str, Any],
    *,
    fetch: Fetcher,
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
    registry: ContextRegistry | None = None,
    did_web_scheme: Callable[[str], str] = _default_scheme,
    max_fetches: int = MAX_FETCHES,
    memo: VerificationMemo | None = None,
) -> PresentationResult:
    """Verify a presentation's proof (``authentication`` purpose, ``challenge`` / ``domain`` when
    given, key controlled by the holder) and each embedded credential (JSON or compact JWS)."""
    if exceeds_depth(presentation):
        raise CredentialError(f"the presentation nests deeper than {MAX_DEPTH} levels")
    credentials = _presented(presentation)
    if len(credentials) > MAX_PRESENTED_CREDENTIALS:
        raise CredentialError(f"a presentation may carry at most {MAX_PRESENTED_CREDENTIALS} credentials")
    session = _Session(fetch=fetch, did_web_scheme=did_web_scheme, budget=max_fetches, memo=memo)
    proof = await _presentation_proof(
        session, presentation, challenge=challenge, domain=domain, registry=registry
    )
    results: list[VerificationResult] = []
    for item in credentials:
        own = _Session(fetch=fetch, did_web_scheme=did_web_scheme, budget=max_fetches, memo=memo)
        results.append(await _verify(own, item, now=now, registry=registry))
    verified = (proof is None or proof.ok) and all(result.verified for result in results)
    return PresentationResult(verified=verified, proof=proof, credentials=tuple(results))


# --- CLR 2.0: the credentials inside a ClrCredential ------------------------------------------------

#: Nested credentials one CLR verification checks; beyond, the CLR is reported as not verified.
MAX_NESTED_CREDENTIALS = 1000


@dataclass(frozen=True)
class NestedResult:
    """The verification of one credential of a ClrSubject's ``verifiableCredential`` (by position)."""

    index: int
    id: str | None
    name: str | None
    types: tuple[str, ...]
    result: VerificationResult

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "name": self.name,
            "type": list(self.types),
            "verified": self.result.badge_verified,
            "checks": [check.to_json() for check in self.result.checks],
        }


def is_clr(credential: Mapping[str, Any] | None) -> bool:
    if not isinstance(credential, Mapping):
        return False
    types = credential.get("type")
    return "ClrCredential" in (types if isinstance(types, list) else [types])


def nested_credentials(credential: Mapping[str, Any]) -> list[Any]:
    """The credentials a ClrCredential holds (objects or compact JWS strings), in order."""
    subjects = credential.get("credentialSubject")
    out: list[Any] = []
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if isinstance(subject, Mapping):
            raw = subject.get("verifiableCredential")
            out.extend(raw if isinstance(raw, list) else [raw] if raw is not None else [])
    return out


def _describe(item: Any, result: VerificationResult) -> tuple[str | None, str | None, tuple[str, ...]]:
    credential = result.credential if result.credential is not None else item
    if not isinstance(credential, Mapping):
        return None, None, ()
    ident, name, types = credential.get("id"), credential.get("name"), credential.get("type")
    return (
        ident if isinstance(ident, str) else None,
        name if isinstance(name, str) else None,
        tuple(t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)),
    )


async def verify_nested_with_fetcher(
    credential: Mapping[str, Any],
    *,
    fetch: Fetcher,
    now: datetime | None = None,
    registry: ContextRegistry | None = None,
    did_web_scheme: Callable[[str], str] = _default_scheme,
    max_fetches: int = MAX_FETCHES,
    memo: VerificationMemo | None = None,
) -> tuple[NestedResult, ...]:
    """Verify each credential nested in a ClrCredential on its own (schema, proof, issuer, validity,
    status), so that one tampered or revoked credential is reported while the others still verify.
    Raises :class:`CredentialError` when it holds more than :data:`MAX_NESTED_CREDENTIALS`."""
    items = nested_credentials(credential)
    if len(items) > MAX_NESTED_CREDENTIALS:
        raise CredentialError(
            f"the record holds {len(items)} credentials; at most {MAX_NESTED_CREDENTIALS} are verified"
        )
    results: list[NestedResult] = []
    for index, item in enumerate(items):
        own = _Session(fetch=fetch, did_web_scheme=did_web_scheme, budget=max_fetches, memo=memo)
        result = await _verify(own, item, now=now, registry=registry)
        ident, name, types = _describe(item, result)
        results.append(NestedResult(index=index, id=ident, name=name, types=types, result=result))
    return tuple(results)
