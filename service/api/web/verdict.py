"""A verification result in plain words (pure): the verdict first, then each check explained.

When a check fails the credential's claims are not presented as facts: a credential whose signature,
issuer or format check failed has its claims withheld (they may be forged); a revoked, suspended or
expired one, genuine but no longer in force, has them shown struck through with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from service.api.web.templating import human_date
from service.credentials.remote import NestedResult
from service.credentials.verify import VerificationResult

CHECK_LABELS = {
    "schema": "Format",
    "proof": "Signature",
    "issuer": "Issuer",
    "validity": "Dates",
    "status": "Revocation",
}
PASS_TEXT = {
    "schema": "It is a well-formed Open Badges or Comprehensive Learner Record credential.",
    "proof": "The issuer's digital signature matches: nothing was changed since it was issued.",
    "issuer": "The key that signed it belongs to the issuer named in it.",
    "validity": "It is within its validity dates.",
    "status": "The issuer has not revoked or suspended it.",
}
FAIL_TEXT = {
    "schema": "It is not a well-formed credential of a known kind.",
    "proof": "The signature does not match: the content was changed after signing, or someone else "
    "signed it.",
    "issuer": "The key that signed it does not belong to the issuer named in it.",
    "validity": "It is outside its validity dates.",
    "status": "The issuer has revoked or suspended it, or its status could not be checked.",
}


@dataclass(frozen=True)
class CheckView:
    name: str
    label: str
    ok: bool
    explanation: str
    detail: str
    applicable: bool = True


@dataclass(frozen=True)
class Claim:
    label: str
    value: str
    href: str | None = None


@dataclass(frozen=True)
class NestedView:
    """One credential held by a CLR transcript, verified on its own."""

    index: int
    name: str
    kind: str
    verdict: Verdict


@dataclass(frozen=True)
class Verdict:
    #: valid | revoked | suspended | expired | not_yet_valid | invalid | not_a_badge
    state: str
    #: The first heading: starts with "Valid", "Revoked", "Expired" or "Not valid".
    headline: str
    summary: str
    checks: tuple[CheckView, ...]
    claims: tuple[Claim, ...] = ()
    #: "shown" (all checks passed), "struck" (genuine but no longer in force) or "withheld" (may be forged)
    claims_mode: str = "shown"
    claims_reason: str | None = None
    recipient_matched: bool | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: A CLR transcript only: the verdict of each credential it holds, in order.
    nested: tuple[NestedView, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "valid"


def with_nested(verdict: Verdict, nested: Sequence[NestedResult]) -> Verdict:
    """A CLR transcript's verdict with the verdict of each credential it holds. The transcript counts
    as valid only when every credential in it verifies (as ``POST /api/v1/verify`` says)."""
    views = tuple(
        NestedView(
            index=item.index + 1,
            name=item.name or item.id or f"Credential {item.index + 1}",
            kind=", ".join(t for t in item.types if t != "VerifiableCredential") or "VerifiableCredential",
            verdict=build_verdict(item.result),
        )
        for item in nested
    )
    failing = [view for view in views if view.verdict.state != "valid"]
    if not failing or verdict.state != "valid":
        return replace(verdict, nested=views)
    count = f"{len(failing)} of the {len(views)} credentials it holds"
    return replace(
        verdict,
        state="invalid",
        headline=f"Not valid: {count} did not verify",
        summary=verdict.summary
        + f" The transcript itself is genuine, but {count} did not verify: see each one below.",
        claims_mode="struck",
        claims_reason="Part of this transcript did not verify, so what it says is shown struck through.",
        nested=views,
    )


def text_of(value: Any) -> str | None:
    """A display string for a name-like value (string, language map, object with name/id)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("name", "@value", "id"):
            inner = value.get(key)
            if isinstance(inner, str):
                return inner
            if key == "name" and inner is not None:
                nested = text_of(inner)
                if nested:
                    return nested
    if isinstance(value, list) and value:
        return text_of(value[0])
    return None


def first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = first(credential.get("credentialSubject"))
    return subject if isinstance(subject, Mapping) else {}


def _achievement(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    achievement = _subject(credential).get("achievement")
    achievement = first(achievement)
    return achievement if isinstance(achievement, Mapping) else {}


def issuer_name(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        return text_of(issuer.get("name")) or text_of(issuer.get("id"))
    return text_of(issuer)


def recipient_name(credential: Mapping[str, Any]) -> str | None:
    """The name the credential itself gives its subject, if any (never an identifier)."""
    subject = _subject(credential)
    name = subject.get("name")
    if name is None:
        return None
    return text_of(name)


def credential_claims(credential: Mapping[str, Any]) -> tuple[Claim, ...]:
    achievement = _achievement(credential)
    issuer = credential.get("issuer")
    issuer_url = issuer.get("url") if isinstance(issuer, Mapping) else None
    criteria = achievement.get("criteria")
    start = credential.get("validFrom") or credential.get("issuanceDate")
    end = credential.get("validUntil") or credential.get("expirationDate")
    rows: list[Claim] = [
        Claim("Credential", text_of(credential.get("name")) or text_of(achievement.get("name")) or ""),
        Claim("Achievement", text_of(achievement.get("name")) or ""),
        Claim(
            "Issued by", issuer_name(credential) or "", issuer_url if isinstance(issuer_url, str) else None
        ),
        Claim("Issued to", recipient_name(credential) or ""),
        Claim("Awarded", human_date(credential.get("awardedDate")) if credential.get("awardedDate") else ""),
        Claim("Valid from", human_date(start) if start else ""),
        Claim("Valid until", human_date(end) if end else ""),
        Claim(
            "Criteria",
            text_of(criteria.get("narrative")) or "" if isinstance(criteria, Mapping) else "",
        ),
    ]
    return tuple(row for row in rows if row.value)


def _is_revoked(message: str) -> str | None:
    lowered = message.lower()
    if lowered.startswith("revoked") or lowered.endswith(": revoked") or lowered == "revoked":
        return "revoked"
    if "suspended" in lowered and "not suspended" not in lowered:
        return "suspended"
    if "revoked" in lowered and "not revoked" not in lowered:
        return "revoked"
    return None


def _explain(check: str, ok: bool, message: str) -> str:
    if not ok and check == "status":
        word = _is_revoked(message)
        if word is not None:
            return f"The issuer has {word} it."
        return "Its revocation status could not be checked, so it cannot be relied on."
    return (PASS_TEXT if ok else FAIL_TEXT).get(check, "")


def build_verdict(
    result: VerificationResult,
    *,
    revoked_on: date | datetime | None = None,
    recipient_matched: bool | None = None,
    recipient_label: str | None = None,
) -> Verdict:
    """The plain-language verdict of ``result``. ``revoked_on`` is known for our own credentials."""
    credential = result.credential or {}
    checks = tuple(
        CheckView(
            name=item.check,
            label=CHECK_LABELS.get(item.check, item.check.capitalize()),
            ok=item.ok,
            explanation=(
                _explain(item.check, item.ok, item.message)
                if item.applicable
                else "No Open Badges or CLR schema applies to this kind of credential."
            ),
            detail=item.message,
            applicable=item.applicable,
        )
        for item in result.checks
    )
    failed = {item.check: item.message for item in result.checks if not item.ok}
    issuer = issuer_name(credential) or "an unnamed issuer"
    recipient = recipient_label or recipient_name(credential) or "the person it names"
    start = credential.get("validFrom") or credential.get("issuanceDate")
    end = credential.get("validUntil") or credential.get("expirationDate")
    claims = credential_claims(credential)
    genuine = not ({"schema", "proof", "issuer"} & failed.keys())
    status_word = _is_revoked(failed.get("status", ""))
    if result.verified and not result.recognized:
        kinds = [str(t) for t in (credential.get("type") or []) if t != "VerifiableCredential"]
        summary = (
            f"Its signature by {issuer}, its dates and its status hold, but it is "
            + (f"a {', '.join(kinds)} credential, " if kinds else "a plain verifiable credential, ")
            + "not an Open Badge or a CLR transcript, so this service cannot say what it certifies."
        )
        reason = "It is not an Open Badge or CLR: what it claims has not been checked against a badge schema."
        return Verdict(
            "not_a_badge",
            "Not valid as an Open Badge",
            summary,
            checks,
            claims,
            "struck",
            reason,
            recipient_matched,
        )
    if result.verified:
        state, headline = "valid", "Valid"
        summary = f"Issued by {issuer} to {recipient}" + (f", on {human_date(start)}" if start else "") + "."
        summary += " Not revoked, " + (f"valid until {human_date(end)}." if end else "not expired.")
        return Verdict(state, headline, summary, checks, claims, "shown", None, recipient_matched)
    if genuine and status_word and "validity" not in failed:
        state = status_word
        headline = (
            f"{status_word.capitalize()} on {human_date(revoked_on)}"
            if revoked_on
            else status_word.capitalize()
        )
        summary = (
            f"{issuer} {status_word} this credential"
            + (f" on {human_date(revoked_on)}" if revoked_on else "")
            + ". It no longer counts as proof of the achievement."
        )
        reason = f"The issuer {status_word} it: what it says is no longer in force."
        return Verdict(state, headline, summary, checks, claims, "struck", reason, recipient_matched)
    if genuine and set(failed) == {"validity"}:
        message = failed["validity"]
        if message.startswith("not yet valid"):
            state, headline = "not_yet_valid", "Not valid yet"
            summary = f"Issued by {issuer}, but only valid from {human_date(start)}." if start else message
            reason = "It is not valid yet."
        else:
            state = "expired"
            headline = f"Expired on {human_date(end)}" if end else "Expired"
            summary = f"Issued by {issuer}" + (
                f", it expired on {human_date(end)}." if end else ", it has expired."
            )
            reason = "It has expired: what it says was true only until then."
        return Verdict(state, headline, summary, checks, claims, "struck", reason, recipient_matched)
    reasons = [CHECK_LABELS.get(name, name).lower() for name in failed]
    listed = reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]
    summary = f"Do not rely on this credential: the {listed} check{'s' if len(reasons) > 1 else ''} failed."
    if genuine:
        reason = "Some checks failed, so what it claims is shown struck through."
        return Verdict("invalid", "Not valid", summary, checks, claims, "struck", reason, recipient_matched)
    reason = "What this credential claims is not shown, because it cannot be trusted: " + (
        FAIL_TEXT["proof"] if "proof" in failed else FAIL_TEXT.get(next(iter(failed)), "")
    )
    return Verdict("invalid", "Not valid", summary, checks, (), "withheld", reason, recipient_matched)
