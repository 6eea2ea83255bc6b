"""OneRoster tables: provider connections, the gradebook records roster has no table for (categories,
line items, results; courses belong to the roster), and the per-connection record index that makes
syncs idempotent, resumable and able to find records a provider dropped."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Index, PrimaryKeyConstraint, String, Table, Text, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from service.db import JSONType, UTCDateTime, created_at_field, metadata, new_id, updated_at_field


class OneRosterConnection(SQLModel, table=True):
    __tablename__ = "oneroster_connections"
    __table_args__ = (Index("ix_oneroster_connections_tenant_id_created_at", "tenant_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    name: str | None = Field(default=None, max_length=255)
    base_url: str = Field(max_length=2048)
    version: str = Field(max_length=8)
    #: "oauth2" (client credentials at token_url) or "oauth1" (HMAC-SHA256 signed requests, 1.1 only)
    auth_method: str = Field(default="oauth2", max_length=16)
    token_url: str | None = Field(default=None, max_length=2048)
    client_id: str = Field(max_length=255)
    #: Encrypted with service.crypto.SecretBox (context "oneroster:<id>"); never returned.
    client_secret_encrypted: str = Field(sa_type=Text)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    #: The largest dateLastModified of the last successful sync: where the next delta starts.
    high_water_mark: str | None = Field(default=None, max_length=64)
    last_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_sync_job_id: uuid.UUID | None = None
    #: Queue a delta sync every so many minutes (None: only on request).
    schedule_minutes: int | None = None
    last_scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: "keep" or "withdraw": OneRoster-made evidence of learners and classes the provider deactivates
    inactive_evidence: str = Field(default="keep", max_length=16, sa_column_kwargs={"server_default": "keep"})
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class GradebookBase(SQLModel):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # No index of its own: the unique (tenant_id, sourced_id) serves tenant scans, and a second index
    # tempts the planner (before the first ANALYZE of a bulk load) into scanning a whole tenant.
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    sourced_id: str = Field(max_length=255)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Category(GradebookBase, table=True):
    __tablename__ = "oneroster_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "sourced_id"),)

    title: str = Field(max_length=255)
    weight: float | None = None


class LineItem(GradebookBase, table=True):
    __tablename__ = "oneroster_line_items"
    __table_args__ = (UniqueConstraint("tenant_id", "sourced_id"),)

    title: str = Field(max_length=255)
    class_id: uuid.UUID | None = Field(default=None, foreign_key="classes.id", ondelete="SET NULL")
    category_id: uuid.UUID | None = Field(
        default=None, foreign_key="oneroster_categories.id", ondelete="SET NULL"
    )
    academic_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="academic_sessions.id", ondelete="SET NULL"
    )
    result_value_min: float | None = None
    result_value_max: float | None = None
    assign_date: date | None = None
    due_date: date | None = None
    #: CASE item ids from ``learningObjectiveSet`` (1.2).
    learning_objective_ids: list[str] = Field(default_factory=list, sa_type=JSONType)


class Result(GradebookBase, table=True):
    __tablename__ = "oneroster_results"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sourced_id"),
        Index("ix_oneroster_results_line_item_id", "line_item_id"),
        Index("ix_oneroster_results_learner_id", "learner_id"),
    )

    # No foreign key on tenant_id (migration 0019): a result goes with its tenant through its line item
    # and its learner, and the check cost every one of a district's 300,000 results a lookup.
    tenant_id: uuid.UUID
    line_item_id: uuid.UUID = Field(foreign_key="oneroster_line_items.id", ondelete="CASCADE")
    learner_id: uuid.UUID = Field(foreign_key="people.id", ondelete="CASCADE")
    score: float | None = None
    score_status: str | None = Field(default=None, max_length=32)
    score_date: date | None = None
    comment: str | None = Field(default=None, sa_type=Text)


class FinalResultsSetting(SQLModel, table=True):
    """Which line items of a connection carry final grades: their results become course records
    (service/adapters/oneroster/course_records.py). A line item is final when its category's sourcedId
    or title is listed, or its title matches the glob pattern (case-insensitive)."""

    __tablename__ = "oneroster_final_results"

    connection_id: uuid.UUID = Field(
        foreign_key="oneroster_connections.id", ondelete="CASCADE", primary_key=True
    )
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    category_sourced_ids: list[str] = Field(default_factory=list, sa_type=JSONType)
    category_titles: list[str] = Field(default_factory=list, sa_type=JSONType)
    line_item_title_pattern: str | None = Field(default=None, max_length=255)
    #: Below this percent of the line item's range no credits are earned (None: credits always earned).
    min_passing_percent: float | None = None
    updated_at: datetime = updated_at_field()


class SyncRecord(SQLModel, table=True):
    """What a connection last wrote for one provider record.

    ``digest`` (of the mapped values) makes a re-run a no-op; ``seen_job_id`` tells a full sync which
    records the provider no longer sends; ``state`` is ``active``, ``tobedeleted`` (deactivation
    pending the guard) or ``inactive``; ``parent_ref`` holds a parent sourcedId resolved after its
    collection (orgs, academic sessions).
    """

    __tablename__ = "oneroster_records"
    __table_args__ = (PrimaryKeyConstraint("connection_id", "collection", "sourced_id"),)

    connection_id: uuid.UUID = Field(foreign_key="oneroster_connections.id", ondelete="CASCADE")
    collection: str = Field(max_length=32)
    sourced_id: str = Field(max_length=255)
    #: No index, no foreign key (migration 0019): nothing reads the index by tenant, and records go with
    #: their tenant through their connection.
    tenant_id: uuid.UUID
    local_id: uuid.UUID
    digest: str = Field(max_length=64)
    state: str = Field(default="active", max_length=16)
    parent_ref: str | None = Field(default=None, max_length=255)
    seen_job_id: uuid.UUID | None = None
    date_last_modified: str | None = Field(default=None, max_length=64)


#: Records a running sync found unchanged (and so did not rewrite): a full sync tells the records the
#: provider no longer sends from these and from the ``seen_job_id`` of the records it wrote. Rows are
#: only appended (no primary key, no index, no foreign key: the cheapest write there is) and deleted
#: when the sync ends or the connection's next sync starts. See migration 0019.
SEEN = Table(
    "oneroster_seen",
    metadata,
    Column("job_id", Uuid(), nullable=False),
    Column("connection_id", Uuid(), nullable=False),
    Column("collection", String(32), nullable=False),
    Column("sourced_id", String(255), nullable=False),
)


class GradeMap(SQLModel, table=True):
    """How results become evidence: a line item (or every line item of a category) -> a competency,
    with cut scores (percent of the line item's score range -> rubric level position). A row with
    neither a line item nor a category holds the cut scores for line items whose
    ``learningObjectiveSet`` names competencies by their CASE identifiers."""

    __tablename__ = "oneroster_grade_maps"
    __table_args__ = (
        UniqueConstraint("tenant_id", "line_item_sourced_id"),
        UniqueConstraint("tenant_id", "category_sourced_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    line_item_sourced_id: str | None = Field(default=None, max_length=255)
    category_sourced_id: str | None = Field(default=None, max_length=255)
    competency_id: uuid.UUID | None = None
    #: [{"min_percent": 0, "level": 0}, {"min_percent": 60, "level": 1}, ...] ascending
    cut_scores: list[dict[str, float]] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = created_at_field()
