"""Webhook request and response schemas, and the event vocabulary."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from service.schemas import InputSchema, ReadSchema

EventType = Literal[
    "award.created",
    "award.updated",
    "credential.issued",
    "credential.revoked",
    "sync.finished",
    "transcript.issued",
    "transcript.revoked",
]
EVENT_TYPES: tuple[str, ...] = (
    "award.created",
    "award.updated",
    "credential.issued",
    "credential.revoked",
    "sync.finished",
    "transcript.issued",
    "transcript.revoked",
)
#: What a subscription may list: event types, or "*" for every event.
SubscribedEvent = Literal[
    "award.created",
    "award.updated",
    "credential.issued",
    "credential.revoked",
    "sync.finished",
    "transcript.issued",
    "transcript.revoked",
    "*",
]
DeliveryState = Literal["pending", "delivered", "failed"]

Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="http(s) URL receiving POSTs; private and loopback addresses are refused",
        examples=["https://lms.example.org/hooks/portrait"],
    ),
]
Events = Annotated[
    list[SubscribedEvent],
    Field(min_length=1, max_length=len(EVENT_TYPES) + 1, description='event types, or ["*"] for all'),
]
Description = Annotated[str, Field(max_length=500)]


def _dedupe(events: list[SubscribedEvent] | None) -> list[SubscribedEvent] | None:
    return None if events is None else list(dict.fromkeys(events))


class WebhookCreate(InputSchema):
    url: Url
    events: Events
    description: Description | None = None
    active: bool = True

    _events = field_validator("events")(_dedupe)


class WebhookUpdate(InputSchema):
    """Only the fields sent change; ``url``, ``events`` and ``active`` cannot be null."""

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    active: bool | None = None

    _events = field_validator("events")(_dedupe)


class WebhookRead(ReadSchema):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="signing secret (HMAC-SHA256 key of Portrait-Signature); shown only in this response"
    )


class WebhookSecret(ReadSchema):
    id: uuid.UUID
    secret: str = Field(description="the new signing secret; shown only in this response")


class DeliveryRead(ReadSchema):
    id: uuid.UUID = Field(description="sent as the Portrait-Delivery header")
    subscription_id: uuid.UUID
    event_id: uuid.UUID = Field(description="the id in the body; the same for every subscription")
    event_type: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_duration_ms: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
