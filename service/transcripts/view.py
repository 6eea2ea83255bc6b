"""What a reader sees in a ClrCredential: :class:`TranscriptView`, built from the signed JSON (pure, no I/O).

The HTML page and the PDF both render this view, so they say the same thing. Everything shown comes from
the credential itself (issuer, dates, the Portrait tree, nested badges and records); the only additions
are display names the caller knows and the credential does not carry (the learner's name, the school,
the district), passed in by the caller.

How the credential is read (CLR 2.0, ``ClrSubject``):

* ``achievement[]`` lists the definitions. ``achievementType`` ``Competency`` entries are the Portrait's
  competencies; their ``resultDescription`` of type ``RubricCriterionLevel`` is the rubric scale.
  ``association[]`` (``isChildOf`` / ``isParentOf``) places them under an attribute and the Portrait.
  ``Course`` entries are course definitions (code, subject, credits available).
* ``verifiableCredential[]`` holds the assertions, each a credential of its own:

  - a course record (its achievement is a ``Course``): term, grade (``result.value``), credits earned;
  - a competency record (an AchievementCredential whose achievement is one of the competencies): the
    level reached (``result.achievedLevel``);
  - anything else is a badge, listed with its date. A badge's results that align with a competency (the
    result description's ``alignment.targetUrl`` names the competency or one of its alignments) also
    count towards that competency's level.

A competency's level is the highest reached across all sources. Unknown shapes are skipped, never fatal:
the view of a credential from another issuer shows whatever it can read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from service.credentials.timeutil import parse_datetime

#: Bounds on what is read from one credential (a transcript of a long school career fits well within).
MAX_NESTED = 2_000
MAX_ACHIEVEMENTS = 5_000
MAX_LEVELS = 50

COMPLETED = "Completed"


@dataclass(frozen=True)
class LevelView:
    """One level of a rubric scale; ``rank`` counts from 1 (the lowest level)."""

    id: str
    name: str
    rank: int
    level: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CompetencyView:
    """A Portrait competency, its rubric scale (lowest first) and the level the learner reached."""

    id: str
    name: str
    levels: tuple[LevelView, ...]
    reached: LevelView | None = None
    description: str | None = None
    code: str | None = None
    attribute: str | None = None
    #: Names of the badges (and records) that show the level, for the reader's "why".
    sources: tuple[str, ...] = ()

    @property
    def fraction(self) -> float:
        """How far up the scale the learner is: 0 (nothing yet) to 1 (the top level)."""
        if self.reached is None or not self.levels:
            return 0.0
        return self.reached.rank / len(self.levels)


@dataclass(frozen=True)
class AttributeView:
    """A group of competencies (a Portrait attribute such as "Communicator")."""

    id: str | None
    name: str
    competencies: tuple[CompetencyView, ...]


@dataclass(frozen=True)
class BadgeView:
    id: str | None
    name: str
    achievement: str
    issued_on: date | None
    issuer: str | None = None
    level: str | None = None
    achievement_type: str | None = None


@dataclass(frozen=True)
class CourseView:
    id: str | None
    title: str
    term: str
    code: str | None = None
    subject: str | None = None
    grade: str | None = None
    credits_earned: float | None = None
    credits_available: float | None = None
    status: str | None = None
    completed_on: date | None = None

    @property
    def in_progress(self) -> bool:
        return self.status is not None and self.status != COMPLETED


@dataclass(frozen=True)
class TermView:
    title: str
    courses: tuple[CourseView, ...]

    @property
    def credits_earned(self) -> float:
        return sum(course.credits_earned or 0.0 for course in self.courses)


@dataclass(frozen=True)
class TranscriptView:
    """Everything the HTML page and the PDF show, in reading order."""

    id: str | None
    name: str
    issuer_name: str | None
    issuer_id: str | None
    issuer_url: str | None
    subject_id: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    awarded_on: date | None
    partial: bool | None
    portrait_name: str | None
    framework_version: str | None
    attributes: tuple[AttributeView, ...]
    badges: tuple[BadgeView, ...]
    terms: tuple[TermView, ...]
    learner_name: str | None = None
    school_name: str | None = None
    district_name: str | None = None
    verify_url: str | None = None
    #: Set by the caller that knows (the status list says so): the day the issuer revoked the transcript.
    revoked_on: date | None = None
    #: Nested credentials given as compact JWS (VC-JWT): counted, not opened here.
    enveloped_count: int = 0
    achievement_count: int = 0
    credential_count: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def competencies(self) -> tuple[CompetencyView, ...]:
        return tuple(c for attribute in self.attributes for c in attribute.competencies)

    @property
    def credits_earned(self) -> float:
        return sum(term.credits_earned for term in self.terms)

    @property
    def courses(self) -> tuple[CourseView, ...]:
        return tuple(course for term in self.terms for course in term.courses)


# --- reading JSON-LD-ish values --------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _types(node: Mapping[str, Any]) -> set[str]:
    return {t for t in _list(node.get("type")) if isinstance(t, str)}


def _text(value: Any) -> str | None:
    """A display string for a value that may be a string, a language map or an object with a name."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):
        for key in ("name", "@value", "en", "en-US"):
            inner = value.get(key)
            if isinstance(inner, str) and inner.strip():
                return inner.strip()
        return None
    if isinstance(value, list):
        for item in value:
            text = _text(item)
            if text:
                return text
    return None


def _id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value)  # a plain date (activity dates are sometimes dates)
        except ValueError:
            return None


def _date(value: Any) -> date | None:
    moment = _datetime(value)
    return moment.date() if moment else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    for item in _list(credential.get("credentialSubject")):
        if isinstance(item, Mapping):
            return item
    return {}


def _achievement_type(achievement: Mapping[str, Any]) -> str | None:
    value = achievement.get("achievementType")
    return value if isinstance(value, str) else None


# --- rubric scales -------------------------------------------------------------------------------------


def _scale(description: Mapping[str, Any]) -> tuple[LevelView, ...]:
    """The levels of a RubricCriterionLevel result description, lowest first.

    Ordered by ``level`` when every level has a numeric one, else in the listed order.
    """
    raw = [
        lv for lv in _list(description.get("rubricCriterionLevel"))[:MAX_LEVELS] if isinstance(lv, Mapping)
    ]
    numbers = [_number(lv.get("level")) for lv in raw]
    if raw and all(n is not None for n in numbers):
        raw = [lv for _, lv in sorted(zip(numbers, raw, strict=True), key=lambda pair: pair[0] or 0.0)]
    levels = []
    for rank, lv in enumerate(raw, start=1):
        level = lv.get("level")
        levels.append(
            LevelView(
                id=_id(lv) or f"#level-{rank}",
                name=_text(lv.get("name")) or (str(level) if level is not None else f"Level {rank}"),
                rank=rank,
                level=str(level) if level is not None else None,
                description=_text(lv.get("description")),
            )
        )
    return tuple(levels)


def _rubric_descriptions(achievement: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        rd
        for rd in _list(achievement.get("resultDescription"))
        if isinstance(rd, Mapping)
        and (rd.get("resultType") == "RubricCriterionLevel" or rd.get("rubricCriterionLevel"))
    ]


def _match_level(
    scale: Sequence[LevelView], other: LevelView | None, level_id: str | None
) -> LevelView | None:
    """The level of ``scale`` that ``level_id`` (or the level ``other`` of another scale) designates."""
    for candidate in scale:
        if level_id is not None and candidate.id == level_id:
            return candidate
    if other is None:
        return None
    for candidate in scale:
        if other.level is not None and candidate.level == other.level:
            return candidate
    for candidate in scale:
        if candidate.name.casefold() == other.name.casefold():
            return candidate
    return None


# --- the builder ---------------------------------------------------------------------------------------


@dataclass
class _Competency:
    id: str
    name: str
    levels: tuple[LevelView, ...]
    keys: set[str]
    description: str | None
    code: str | None
    reached: LevelView | None = None
    sources: list[str] = field(default_factory=list)

    def raise_to(self, level: LevelView | None, source: str | None) -> None:
        if level is None:
            return
        if self.reached is None or level.rank > self.reached.rank:
            self.reached = level
        if source and source not in self.sources:
            self.sources.append(source)


def _tree(associations: Iterable[Any]) -> dict[str, str]:
    """child id -> parent id, from isChildOf / isParentOf associations (the first parent wins)."""
    parents: dict[str, str] = {}
    for item in associations:
        if not isinstance(item, Mapping):
            continue
        kind, source, target = item.get("associationType"), item.get("sourceId"), item.get("targetId")
        if not isinstance(source, str) or not isinstance(target, str) or source == target:
            continue
        if kind == "isChildOf":
            parents.setdefault(source, target)
        elif kind == "isParentOf":
            parents.setdefault(target, source)
    return parents


def _result_levels(
    subject: Mapping[str, Any], achievement: Mapping[str, Any], extra: Mapping[str, Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any] | None, str | None]]:
    """(result description, achieved level id) for each rubric result of an AchievementSubject."""
    descriptions = {d.get("id"): d for d in _rubric_descriptions(achievement)}
    out: list[tuple[Mapping[str, Any] | None, str | None]] = []
    for result in _list(subject.get("result")):
        if not isinstance(result, Mapping):
            continue
        level_id = result.get("achievedLevel")
        if not isinstance(level_id, str):
            continue
        rd_id = result.get("resultDescription")
        rd = descriptions.get(rd_id) or (extra.get(rd_id) if isinstance(rd_id, str) else None)
        out.append((rd, level_id))
    return out


def _grade(subject: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(grade, status) from a course record's results: the first result with a value."""
    status: str | None = None
    for result in _list(subject.get("result")):
        if not isinstance(result, Mapping):
            continue
        if isinstance(result.get("status"), str):
            status = status or result["status"]
        value = result.get("value")
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip(), result.get("status") if isinstance(
                result.get("status"), str
            ) else status
    return None, status


def build_transcript_view(
    credential: Mapping[str, Any],
    *,
    learner_name: str | None = None,
    school_name: str | None = None,
    district_name: str | None = None,
    verify_url: str | None = None,
) -> TranscriptView:
    """Read a (signed) ClrCredential into a :class:`TranscriptView`.

    ``verify_url`` is where a reader checks the credential (the QR code's target); it defaults to the
    credential ``id`` when that is an http(s) URL.
    """
    subject = _subject(credential)
    issuer = credential.get("issuer")
    issuer_name = _text(issuer) if isinstance(issuer, Mapping) else None
    issuer_id = _id(issuer)
    issuer_url = (
        issuer.get("url") if isinstance(issuer, Mapping) and isinstance(issuer.get("url"), str) else None
    )
    notes: list[str] = []

    achievements = [a for a in _list(subject.get("achievement")) if isinstance(a, Mapping)]
    if len(achievements) > MAX_ACHIEVEMENTS:
        notes.append(f"only the first {MAX_ACHIEVEMENTS} achievement definitions are shown")
        achievements = achievements[:MAX_ACHIEVEMENTS]
    by_id = {a["id"]: a for a in achievements if isinstance(a.get("id"), str)}
    parents = _tree(_list(subject.get("association")))

    nested_raw = _list(subject.get("verifiableCredential"))
    enveloped = sum(1 for item in nested_raw if isinstance(item, str))
    nested = [item for item in nested_raw if isinstance(item, Mapping)]
    if len(nested) > MAX_NESTED:
        notes.append(f"only the first {MAX_NESTED} nested credentials are shown")
        nested = nested[:MAX_NESTED]

    badge_achievement_ids = {
        _id(_subject(vc).get("achievement"))
        for vc in nested
        if "OpenBadgeCredential" in _types(vc) and _id(_subject(vc).get("achievement")) not in parents
    }

    # Competencies: the Competency definitions (not a badge's own achievement that is outside the tree).
    competencies: dict[str, _Competency] = {}
    for achievement in achievements:
        ach_id = achievement.get("id")
        if not isinstance(ach_id, str) or _achievement_type(achievement) != "Competency":
            continue
        if ach_id in badge_achievement_ids:
            continue
        descriptions = _rubric_descriptions(achievement)
        keys = {ach_id}
        for alignment in _list(achievement.get("alignment")):
            if isinstance(alignment, Mapping) and isinstance(alignment.get("targetUrl"), str):
                keys.add(alignment["targetUrl"])
        competencies[ach_id] = _Competency(
            id=ach_id,
            name=_text(achievement.get("name")) or ach_id,
            levels=_scale(descriptions[0]) if descriptions else (),
            keys=keys,
            description=_text(achievement.get("description")),
            code=_text(achievement.get("humanCode")),
        )
    by_key: dict[str, _Competency] = {}
    for competency in competencies.values():
        for key in competency.keys:
            by_key.setdefault(key, competency)

    # Result descriptions defined at the CLR level (a record may point to its competency's scale).
    clr_descriptions = {
        rd["id"]: rd
        for achievement in achievements
        for rd in _rubric_descriptions(achievement)
        if isinstance(rd.get("id"), str)
    }

    badges: list[BadgeView] = []
    courses: list[tuple[tuple[str, str], CourseView]] = []
    for vc in nested:
        vc_subject = _subject(vc)
        vc_achievement = vc_subject.get("achievement")
        if not isinstance(vc_achievement, Mapping):
            continue
        ach_id = _id(vc_achievement)
        definition = by_id.get(ach_id) if ach_id else None
        ach_type = _achievement_type(vc_achievement) or (
            _achievement_type(definition) if definition else None
        )
        vc_name = _text(vc.get("name")) or _text(vc_achievement.get("name")) or "Credential"
        if ach_type == "Course":
            merged: Mapping[str, Any] = {**(definition or {}), **vc_achievement}
            grade, status = _grade(vc_subject)
            term = _text(vc_subject.get("term")) or "Courses"
            when = (
                _text(vc_subject.get("activityStartDate")) or _text(vc_subject.get("activityEndDate")) or ""
            )
            courses.append(
                (
                    (when, term),
                    CourseView(
                        id=_id(vc),
                        title=_text(merged.get("name")) or vc_name,
                        term=term,
                        code=_text(merged.get("humanCode")),
                        subject=_text(merged.get("fieldOfStudy")),
                        grade=grade,
                        credits_earned=_number(vc_subject.get("creditsEarned")),
                        credits_available=_number(merged.get("creditsAvailable")),
                        status=status,
                        completed_on=_date(vc_subject.get("activityEndDate")),
                    ),
                )
            )
            continue
        is_record = ach_id in competencies and "OpenBadgeCredential" not in _types(vc)
        if (
            ach_type == "LearningProgram"
            and "OpenBadgeCredential" not in _types(vc)
            and not _list(vc_subject.get("result"))
        ):
            continue  # "a learner of the program", the placeholder of a record with nothing in it yet
        reached_names: list[str] = []
        for rd, level_id in _result_levels(vc_subject, vc_achievement, clr_descriptions):
            targets: list[_Competency] = []
            if ach_id in competencies:
                targets.append(competencies[ach_id])
            if rd is not None:
                for alignment in _list(rd.get("alignment")):
                    url = alignment.get("targetUrl") if isinstance(alignment, Mapping) else None
                    if isinstance(url, str) and url in by_key and by_key[url] not in targets:
                        targets.append(by_key[url])
            own_scale = _scale(rd) if rd is not None else ()
            own_level = _match_level(own_scale, None, level_id)
            if own_level is not None:
                reached_names.append(own_level.name)
            for target in targets:
                target.raise_to(
                    _match_level(target.levels, own_level, level_id), None if is_record else vc_name
                )
        if is_record:
            continue
        awarded = _date(vc.get("awardedDate")) or _date(vc.get("validFrom")) or _date(vc.get("issuanceDate"))
        vc_issuer = vc.get("issuer")
        badges.append(
            BadgeView(
                id=_id(vc),
                name=vc_name,
                achievement=_text(vc_achievement.get("name")) or vc_name,
                issued_on=awarded,
                issuer=_text(vc_issuer) if isinstance(vc_issuer, Mapping) else None,
                level=reached_names[0] if len(reached_names) == 1 else None,
                achievement_type=ach_type,
            )
        )
    badges.sort(key=lambda b: (b.issued_on or date.min, b.name))

    # Group the competencies under their parents (attributes), in the order of the definitions.
    groups: dict[str | None, list[CompetencyView]] = {}
    for competency in competencies.values():
        parent_id = parents.get(competency.id)
        groups.setdefault(parent_id, []).append(
            CompetencyView(
                id=competency.id,
                name=competency.name,
                levels=competency.levels,
                reached=competency.reached,
                description=competency.description,
                code=competency.code,
                attribute=_text(by_id[parent_id].get("name")) if parent_id in by_id else None,
                sources=tuple(competency.sources),
            )
        )
    attributes = tuple(
        AttributeView(
            id=parent_id,
            name=(_text(by_id[parent_id].get("name")) if parent_id in by_id else None) or "Competencies",
            competencies=tuple(items),
        )
        for parent_id, items in groups.items()
    )

    # The Portrait: the root above the competencies' parents.
    # (Competencies placed right under the Portrait have it as their group: the group is then named so.)
    portrait: Mapping[str, Any] | None = None
    for parent_id in groups:
        if parent_id is None:
            continue
        node_id = parent_id
        seen: set[str] = set()
        while node_id in parents and node_id not in seen:
            seen.add(node_id)
            node_id = parents[node_id]
        if node_id in by_id:
            portrait = by_id[node_id]
            break

    # Terms in date order when every course row is dated, else in the order the credential lists them
    # (issuers list records chronologically; an undated in-progress course must not jump ahead).
    if not all(when for (when, _term), _course in courses):
        courses = [(("", term), course) for (_when, term), course in courses]
    terms: dict[str, tuple[str, list[CourseView]]] = {}
    for (when, term), course in sorted(courses, key=lambda pair: pair[0][0]):
        entry = terms.setdefault(term, (when, []))
        entry[1].append(course)
    term_views = tuple(
        TermView(title=term, courses=tuple(sorted(items, key=lambda c: c.title.casefold())))
        for term, (_when, items) in terms.items()
    )

    credential_id = _id(credential)
    if verify_url is None and credential_id and credential_id.startswith(("https://", "http://")):
        verify_url = credential_id
    partial = credential.get("partial")
    if partial is None:
        partial = subject.get("partial")
    return TranscriptView(
        id=credential_id,
        name=_text(credential.get("name")) or "Comprehensive Learner Record",
        issuer_name=issuer_name,
        issuer_id=issuer_id,
        issuer_url=issuer_url,
        subject_id=_id(subject),
        valid_from=_datetime(credential.get("validFrom")) or _datetime(credential.get("issuanceDate")),
        valid_until=_datetime(credential.get("validUntil")) or _datetime(credential.get("expirationDate")),
        awarded_on=_date(credential.get("awardedDate")),
        partial=partial if isinstance(partial, bool) else None,
        portrait_name=_text(portrait.get("name")) if portrait else None,
        framework_version=_text(portrait.get("version")) if portrait else None,
        attributes=attributes,
        badges=tuple(badges),
        terms=term_views,
        learner_name=learner_name,
        school_name=school_name,
        district_name=district_name or issuer_name,
        verify_url=verify_url,
        enveloped_count=enveloped,
        achievement_count=len(achievements),
        credential_count=len(nested) + enveloped,
        notes=tuple(notes),
    )
