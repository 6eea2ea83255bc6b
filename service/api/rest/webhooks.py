"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, Security
from fastapi.security import SecurityScopes

from service.api.deps import AuthenticatedDep, PageDep, SessionDep, SettingsDep, check_scopes
from service.api.rest import examples
from service.api.rest.errors import GET_ERRORS, WRITE_ERRORS, problems
from service.schemas import Page
from service.tenancy.tokens import Principal
from service.webhooks.schemas import (
    DeliveryRead,
    DeliveryState,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookSecret,
    WebhookUpdate,
)
from service.webhooks.service import WebhookService

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


async def _scoped(security_scopes: SecurityScopes, principal: AuthenticatedDep) -> Principal:
    check_scopes(principal, security_scopes.scopes)
    return principal


WebhooksRead = Annotated[Principal, Security(_scoped, scopes=["webhooks:read"])]
WebhooksWrite = Annotated[Principal, Security(_scoped, scopes=["webhooks:write"])]
LIST_ERRORS = problems(400, 401, 403, 422)


@router.post(
    "",
    status_code=201,
    summary="Subscribe a URL to events",
    responses=WRITE_ERRORS,
    openapi_extra=examples.CREATE_WEBHOOK,
)
async def create_webhook(
    body: WebhookCreate, principal: WebhooksWrite, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """The response carries the signing ``secret``, shown this once. The URL must be http(s) and must
    not resolve to a private, loopback or link-local address (422 naming ``body.url``)."""
    subscription, secret = await WebhookService(session, principal.tenant_id, settings).create(body)
    return WebhookCreated(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)


@router.get(
    "",
    summary="List webhook subscriptions",
    description=(
        "A page of the district's webhook subscriptions (URL, events, status), without their secrets."
    ),
    responses=LIST_ERRORS,
)
async def list_webhooks(
    principal: WebhooksRead,
    session: SessionDep,
    page: PageDep,
    active: Annotated[bool | None, Query()] = None,
) -> Page[WebhookRead]:
    rows, total = await WebhookService(session, principal.tenant_id).list(page, active=active)
    return Page(
        items=[WebhookRead.model_validate(s) for s in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/{webhook_id}",
    summary="Get a webhook subscription",
    description=("One subscription of the caller's district; 404 for another district's."),
    responses=GET_ERRORS,
)
async def get_webhook(webhook_id: uuid.UUID, principal: WebhooksRead, session: SessionDep) -> WebhookRead:
    return WebhookRead.model_validate(await WebhookService(session, principal.tenant_id).get(webhook_id))


@router.patch(
    "/{webhook_id}",
    summary="Update a webhook subscription",
    description=(
        "Only the fields given change (URL, events, active); the URL must pass the outbound guard (no"
        " private addresses unless configured)."
    ),
    responses=WRITE_ERRORS,
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    principal: WebhooksWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookRead:
    service = WebhookService(session, principal.tenant_id, settings)
    return WebhookRead.model_validate(await service.update(webhook_id, body))


@router.delete(
    "/{webhook_id}", status_code=204, summary="Delete a webhook subscription", responses=GET_ERRORS
)
async def delete_webhook(webhook_id: uuid.UUID, principal: WebhooksWrite, session: SessionDep) -> Response:
    """Pending deliveries are dropped with it; its delivery history goes too."""
    await WebhookService(session, principal.tenant_id).delete(webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", summary="Replace the signing secret", responses=GET_ERRORS)
async def rotate_secret(
    webhook_id: uuid.UUID, principal: WebhooksWrite, session: SessionDep, settings: SettingsDep
) -> WebhookSecret:
    """The new secret signs every attempt from now on, retries of earlier events included."""
    subscription, secret = await WebhookService(session, principal.tenant_id, settings).rotate_secret(
        webhook_id
    )
    return WebhookSecret(id=subscription.id, secret=secret)


@router.get("/{webhook_id}/deliveries", summary="List a subscription's deliveries", responses=GET_ERRORS)
async def list_deliveries(
    webhook_id: uuid.UUID,
    principal: WebhooksRead,
    session: SessionDep,
    page: PageDep,
    state: Annotated[DeliveryState | None, Query()] = None,
) -> Page[DeliveryRead]:
    """Newest first, with the outcome of the latest attempt and when the next one is due."""
    rows, total = await WebhookService(session, principal.tenant_id).list_deliveries(
        webhook_id, page, state=state
    )
    return Page(
        items=[DeliveryRead.model_validate(d) for d in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
