"""The public page of one of our credentials: what the template needs, read from the stored
credential alone (pure). The page never shows more than the credential holds, except the learner's
display name (as the district's setting allows) and the live revocation date; never the reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from service.api.web.images import safe_image_src
from service.api.web.templating import human_date
from service.api.web.verdict import first, issuer_name, text_of


@dataclass(frozen=True)
class LevelReached:
    competency: str
    level: str
    descriptor: str | None
    scale: tuple[str, ...]


@dataclass(frozen=True)
class CompetencyView:
    name: str
    code: str | None
    statement: str | None
    framework: str | None
    url: str | None


@dataclass(frozen=True)
class EvidenceView:
    name: str
    description: str | None
    narrative: str | None


@dataclass(frozen=True)
class CredentialPage:
    url: str
    name: str
    description: str | None
    image_src: str | None
    issuer_name: str
    issuer_url: str | None
    learner_display: str | None
    awarded: str | None
    valid_from: str | None
    valid_until: str | None
    expired: bool
    revoked_on: str | None
    criteria: str | None
    achievement_url: str | None
    achievement_type: str | None
    competencies: tuple[CompetencyView, ...]
    frameworks: tuple[str, ...]
    levels: tuple[LevelReached, ...]
    evidence: tuple[EvidenceView, ...]
    verify_url: str
    linkedin_add_url: str
    linkedin_share_url: str
    email_share_url: str
    downloads: tuple[tuple[str, str], ...]
    meta: Mapping[str, str] = field(default_factory=dict)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def linkedin_add_to_profile(
    *, name: str, organization: str, issued: datetime | None, expires: datetime | None, url: str, cert_id: str
) -> str:
    """LinkedIn's "add licence or certification" link, filled in."""
    params: dict[str, str] = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organization,
    }
    if issued is not None:
        params.update(issueYear=str(issued.year), issueMonth=str(issued.month))
    if expires is not None:
        params.update(expirationYear=str(expires.year), expirationMonth=str(expires.month))
    params.update(certUrl=url, certId=cert_id)
    return "https://www.linkedin.com/profile/add?" + urlencode(params)


def _levels(achievement: Mapping[str, Any], subject: Mapping[str, Any]) -> tuple[LevelReached, ...]:
    descriptions = {
        d.get("id"): d for d in achievement.get("resultDescription") or [] if isinstance(d, Mapping)
    }
    out: list[LevelReached] = []
    for result in subject.get("result") or []:
        if not isinstance(result, Mapping):
            continue
        description = descriptions.get(result.get("resultDescription"))
        if description is None:
            continue
        rubric = [lv for lv in description.get("rubricCriterionLevel") or [] if isinstance(lv, Mapping)]
        reached = next((lv for lv in rubric if lv.get("id") == result.get("achievedLevel")), None)
        if reached is None:
            continue
        alignment = first(description.get("alignment"))
        competency = text_of(alignment.get("targetName")) if isinstance(alignment, Mapping) else None
        name = text_of(description.get("name")) or ""
        out.append(
            LevelReached(
                competency=competency or name.removesuffix(": rubric level"),
                level=text_of(reached.get("name")) or "",
                descriptor=text_of(reached.get("description")),
                scale=tuple(text_of(lv.get("name")) or "" for lv in rubric),
            )
        )
    return tuple(out)


def build_page(
    credential: Mapping[str, Any],
    *,
    url: str,
    public_url: str,
    learner_display: str | None,
    revoked_at: datetime | None,
    now: datetime,
) -> CredentialPage:
    subject = first(credential.get("credentialSubject"))
    subject = subject if isinstance(subject, Mapping) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, Mapping) else {}
    issuer = credential.get("issuer")
    issuer_link = issuer.get("url") if isinstance(issuer, Mapping) else None
    name = text_of(credential.get("name")) or text_of(achievement.get("name")) or "Credential"
    organization = issuer_name(credential) or ""
    image = credential.get("image") or achievement.get("image")
    criteria = achievement.get("criteria")
    start = _parse(credential.get("validFrom"))
    end = _parse(credential.get("validUntil"))
    awarded = credential.get("awardedDate") or credential.get("validFrom")
    competencies = tuple(
        CompetencyView(
            name=text_of(item.get("targetName")) or "",
            code=text_of(item.get("targetCode")),
            statement=text_of(item.get("targetDescription")),
            framework=text_of(item.get("targetFramework")),
            url=item.get("targetUrl") if isinstance(item.get("targetUrl"), str) else None,
        )
        for item in achievement.get("alignment") or []
        if isinstance(item, Mapping)
    )
    frameworks = tuple(dict.fromkeys(c.framework for c in competencies if c.framework))
    evidence = tuple(
        EvidenceView(
            name=text_of(item.get("name")) or "Evidence",
            description=text_of(item.get("description")),
            narrative=text_of(item.get("narrative")),
        )
        for item in credential.get("evidence") or []
        if isinstance(item, Mapping)
    )
    description = text_of(credential.get("description")) or text_of(achievement.get("description"))
    image_src = safe_image_src(image, own_url=public_url)
    credential_id = text_of(credential.get("id")) or url
    title = f"{name} - {organization}" if organization else name
    summary = description or f"A verifiable credential issued by {organization}."
    meta = {
        "og:title": title,
        "og:description": summary,
        "og:type": "website",
        "og:url": url,
        "og:site_name": organization or "Portrait",
        "twitter:card": "summary",
        "twitter:title": title,
        "twitter:description": summary,
    }
    png = f"{url}/badge.png"
    meta["og:image"] = image_src if image_src and image_src.startswith("https://") else png
    meta["twitter:image"] = meta["og:image"]
    meta["og:image:alt"] = f"Badge: {name}"
    return CredentialPage(
        url=url,
        name=name,
        description=description,
        image_src=image_src,
        issuer_name=organization,
        issuer_url=issuer_link if isinstance(issuer_link, str) else None,
        learner_display=learner_display,
        awarded=human_date(awarded) if awarded else None,
        valid_from=human_date(credential.get("validFrom")) if credential.get("validFrom") else None,
        valid_until=human_date(credential.get("validUntil")) if credential.get("validUntil") else None,
        expired=end is not None and end <= now,
        revoked_on=human_date(revoked_at) if revoked_at is not None else None,
        criteria=text_of(criteria.get("narrative")) if isinstance(criteria, Mapping) else None,
        achievement_url=achievement.get("id") if isinstance(achievement.get("id"), str) else None,
        achievement_type=text_of(achievement.get("achievementType")),
        competencies=competencies,
        frameworks=frameworks,
        levels=_levels(achievement, subject),
        evidence=evidence,
        verify_url="/verify?" + urlencode({"url": url}),
        linkedin_add_url=linkedin_add_to_profile(
            name=name, organization=organization, issued=start, expires=end, url=url, cert_id=credential_id
        ),
        linkedin_share_url="https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
        email_share_url="mailto:?" + urlencode({"subject": name, "body": url}, quote_via=quote),
        downloads=(
            ("Badge image with the credential inside (PNG)", png),
            ("Badge image with the credential inside (SVG)", f"{url}/badge.svg"),
            ("Signed credential (JSON)", f"{url}.json"),
            ("Signed credential (JWT)", f"{url}.jwt"),
        ),
        meta=meta,
    )
