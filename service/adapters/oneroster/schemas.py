"""OneRoster connection and sync request/response schemas (not the provider's wire format: wire.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from service.schemas import InputSchema, ReadSchema

Version = Literal["1.1", "1.2"]
AuthMethod = Literal["oauth2", "oauth1"]
SyncMode = Literal["full", "delta"]
InactiveEvidence = Literal["keep", "withdraw"]
INACTIVE_EVIDENCE_HELP = (
    "evidence made from grades of learners and classes the provider deactivates: keep (the default; "
    "what a learner earned stays theirs) or withdraw (withdrawn, awards that relied on it flagged for "
    "review, never revoked; made again from the stored grades if the provider reactivates them)"
)

Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="http(s) URL; private and loopback addresses are refused unless configured",
    ),
]
ScheduleMinutes = Annotated[
    int, Field(ge=15, le=7 * 24 * 60, description="minutes between scheduled delta syncs (15 to 10080)")
]
Scope = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]
Scopes = Annotated[list[Scope], Field(max_length=20)]


def _split_scopes(value: Any) -> Any:
    """Scopes as a list, or as the space-separated string OAuth uses."""
    if isinstance(value, str):
        return [s for s in value.split() if s]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(dict.fromkeys(value))
    return value


class ConnectionCreate(InputSchema):
    base_url: Url = Field(
        description="the provider root; /ims/oneroster/rostering/v1p2/... (1.2) or "
        "/ims/oneroster/v1p1/... (1.1) lives under it",
        examples=["https://sis.example.org"],
    )
    version: Version = "1.2"
    auth_method: AuthMethod = Field(
        default="oauth2",
        description="oauth2: client credentials at token_url; oauth1: OAuth 1.0a HMAC-SHA256 signed "
        "requests with client_id and client_secret as consumer key and secret (OneRoster 1.1 only)",
    )
    token_url: Url | None = Field(
        default=None, description="OAuth 2.0 token endpoint (client credentials grant); required for oauth2"
    )
    client_id: Annotated[str, Field(min_length=1, max_length=255)]
    client_secret: Annotated[str, Field(min_length=1, max_length=1024)] = Field(
        description="stored encrypted, never returned"
    )
    scopes: Scopes = Field(default_factory=list)
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    schedule_minutes: ScheduleMinutes | None = None
    inactive_evidence: InactiveEvidence = Field(default="keep", description=INACTIVE_EVIDENCE_HELP)

    _scopes = field_validator("scopes", mode="before")(_split_scopes)

    @model_validator(mode="after")
    def _auth(self) -> ConnectionCreate:
        if self.auth_method == "oauth2" and self.token_url is None:
            raise ValueError("token_url is required with auth_method oauth2")
        if self.auth_method == "oauth1" and self.version != "1.1":
            raise ValueError("auth_method oauth1 is only for OneRoster 1.1 providers")
        return self


class ConnectionUpdate(InputSchema):
    """Only the fields sent change; none of them may be null except ``name``."""

    base_url: Url | None = None
    version: Version | None = None
    auth_method: AuthMethod | None = None
    token_url: Url | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    client_secret: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    scopes: Scopes | None = None
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    schedule_minutes: ScheduleMinutes | None = None
    inactive_evidence: InactiveEvidence | None = Field(default=None, description=INACTIVE_EVIDENCE_HELP)

    _scopes = field_validator("scopes", mode="before")(_split_scopes)


class ConnectionRead(ReadSchema):
    id: uuid.UUID
    name: str | None
    base_url: str
    version: Version
    auth_method: AuthMethod
    token_url: str | None
    client_id: str
    scopes: list[str]
    high_water_mark: str | None = Field(description="where the next delta sync starts (dateLastModified)")
    last_sync_at: datetime | None
    last_sync_job_id: uuid.UUID | None
    schedule_minutes: int | None = Field(description="a delta sync is queued this often (null: on request)")
    last_scheduled_at: datetime | None
    inactive_evidence: InactiveEvidence = Field(description=INACTIVE_EVIDENCE_HELP)
    created_at: datetime
    updated_at: datetime


class ConnectionTestResult(ReadSchema):
    ok: bool
    token: bool = Field(description="the token endpoint granted a token")
    rostering: bool = Field(description="the orgs endpoint answered")
    detail: str
    error: dict[str, Any] | None = None


class SyncRequest(InputSchema):
    mode: SyncMode = "delta"
    override: bool = Field(
        default=False,
        description="apply the sync even if it deactivates more than the configured share of learners",
    )


ShortText = Annotated[str, Field(min_length=1, max_length=255)]


class FinalResultsUpdate(InputSchema):
    """Which line items carry final grades (any criterion matching makes a line item final). Their
    results become course records on every sync; all empty: none do."""

    category_sourced_ids: Annotated[list[ShortText], Field(max_length=50)] = Field(default_factory=list)
    category_titles: Annotated[list[ShortText], Field(max_length=50)] = Field(
        default_factory=list, description="category titles, compared case-insensitively"
    )
    line_item_title_pattern: ShortText | None = Field(
        default=None, description="a glob on the line item title, case-insensitive: '*final grade*'"
    )
    min_passing_percent: Annotated[float, Field(ge=0, le=100)] | None = Field(
        default=None, description="below this percent of the line item's range no credits are earned"
    )


class FinalResultsRead(ReadSchema):
    connection_id: uuid.UUID
    category_sourced_ids: list[str]
    category_titles: list[str]
    line_item_title_pattern: str | None
    min_passing_percent: float | None
    updated_at: datetime | None
    course_records: dict[str, int] = Field(
        default_factory=dict,
        description="on update: records created/updated/unchanged from results synced before",
    )


class CutScore(InputSchema):
    min_percent: Annotated[float, Field(ge=0, le=100)] = Field(
        description="lowest score, in percent of the line item's range, that earns this level"
    )
    level: Annotated[int, Field(ge=0, le=100)] = Field(description="rubric level position (0 = lowest)")


class GradeMapCreate(InputSchema):
    """Give a line item or a category (by sourcedId) and a competency; or neither and no competency
    for the cut scores of line items that name competencies in their learningObjectiveSet."""

    line_item_sourced_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    category_sourced_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    competency_id: uuid.UUID | None = None
    cut_scores: Annotated[list[CutScore], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _consistent(self) -> GradeMapCreate:
        if self.line_item_sourced_id is not None and self.category_sourced_id is not None:
            raise ValueError("give line_item_sourced_id or category_sourced_id, not both")
        targeted = self.line_item_sourced_id is not None or self.category_sourced_id is not None
        if targeted and self.competency_id is None:
            raise ValueError("competency_id is required with a line item or a category")
        if not targeted and self.competency_id is not None:
            raise ValueError("competency_id needs line_item_sourced_id or category_sourced_id")
        mins = [c.min_percent for c in self.cut_scores]
        if mins != sorted(mins) or len(set(mins)) != len(mins):
            raise ValueError("cut_scores must be in strictly ascending min_percent order")
        return self


class GradeMapRead(ReadSchema):
    id: uuid.UUID
    line_item_sourced_id: str | None
    category_sourced_id: str | None
    competency_id: uuid.UUID | None
    cut_scores: list[dict[str, float]]
    created_at: datetime
