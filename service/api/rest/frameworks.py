"""Frameworks (portraits): CRUD of drafts, lifecycle, whole-tree reads, CASE import and export."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse

from service.api.deps import FrameworksRead, FrameworksWrite, PageDep, SessionDep, SettingsDep
from service.api.rest.bodies import read_json_body
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.frameworks.schemas import (
    AttributeCreate,
    AttributeRead,
    AttributeUpdate,
    CompetencyCreate,
    CompetencyRead,
    CompetencyUpdate,
    DescriptorIn,
    DescriptorRead,
    FrameworkCreate,
    FrameworkRead,
    FrameworkTreeRead,
    FrameworkUpdate,
    ImportReportRead,
    ImportResult,
    Kind,
    LevelCreate,
    LevelRead,
    LevelUpdate,
    NewVersion,
    Status,
)
from service.frameworks.service import FrameworkService
from service.schemas import Page

router = APIRouter(prefix="/api/v1/frameworks", tags=["frameworks"])

_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A CASE 1.1 CFPackage (CASE 1.0-style packages are accepted leniently).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.get(
    "",
    summary="List frameworks",
    description=(
        "A page of the district's portraits (frameworks), filterable by kind and status; each item "
        "without its tree."
    ),
    responses=READ_ERRORS,
)
async def list_frameworks(
    principal: FrameworksRead,
    session: SessionDep,
    page: PageDep,
    kind: Annotated[Kind | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    family_id: Annotated[uuid.UUID | None, Query(description="all versions of one portrait")] = None,
) -> Page[FrameworkRead]:
    rows, total = await FrameworkService(session, principal.tenant_id).list_frameworks(
        page, kind=kind, status=status, family_id=family_id
    )
    return Page(
        items=[FrameworkRead.model_validate(f) for f in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "",
    status_code=201,
    summary="Create a draft framework",
    description=(
        "A new draft portrait (kind graduate, learner, educator, leader, system or self). Drafts are "
        "editable; publishing freezes them."
    ),
    responses=WRITE_ERRORS,
)
async def create_framework(
    body: FrameworkCreate, principal: FrameworksWrite, session: SessionDep
) -> FrameworkRead:
    framework = await FrameworkService(session, principal.tenant_id).create_framework(body)
    return FrameworkRead.model_validate(framework)


@router.post(
    "/import",
    status_code=201,
    summary="Import a CASE CFPackage as a framework (its id is the CFDocument identifier)",
    description=(
        "Imports a CASE 1.1 CFPackage (CASE 1.0-style packages are accepted leniently) as a draft "
        "framework and answers with a report of what was ignored; `?replace=true` replaces an "
        "existing draft. An unusable package is a 422 listing every problem, and nothing is written."
    ),
    openapi_extra=_IMPORT_BODY,
    responses=WRITE_ERRORS,
)
async def import_framework(
    request: Request,
    principal: FrameworksWrite,
    session: SessionDep,
    replace: Annotated[bool, Query(description="replace an existing draft with the same identifier")] = False,
) -> ImportResult:
    from service.frameworks.case import parse_package

    data = await read_json_body(request)
    tree, report = parse_package(data)
    service = FrameworkService(session, principal.tenant_id)
    existed = replace and (await service.repo.get(tree.id)) is not None
    framework = await service.save_tree(tree, replace=replace)
    return ImportResult(
        framework=FrameworkRead.model_validate(framework),
        report=ImportReportRead.model_validate(report, from_attributes=True),
        replaced=existed,
    )


@router.get(
    "/{framework_id}",
    summary="Get a framework with its whole tree",
    description=(
        "The framework with its attributes, competencies, grade-band descriptors, rubric levels and "
        "level descriptors; 404 for another district's."
    ),
    responses=GET_ERRORS,
)
async def get_framework(
    framework_id: uuid.UUID, principal: FrameworksRead, session: SessionDep
) -> FrameworkTreeRead:
    return await FrameworkService(session, principal.tenant_id).read_tree(framework_id)


@router.get(
    "/{framework_id}/case",
    summary="Export a framework as a CASE 1.1 CFPackage",
    description=(
        "The framework as a CASE 1.1 CFPackage (CFDocument, CFItems, CFAssociations, CFRubrics), the "
        "form other CASE systems import."
    ),
    responses=GET_ERRORS,
    response_model=dict[str, Any],
)
async def export_framework(
    framework_id: uuid.UUID, principal: FrameworksRead, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    from service.frameworks.case import build_package

    tree = await FrameworkService(session, principal.tenant_id).load_tree(framework_id)
    return JSONResponse(build_package(tree, settings.public_url))


@router.patch(
    "/{framework_id}",
    summary="Update a draft framework",
    description=(
        "Only the fields given change; a published or retired version is frozen (409 `framework_frozen`)."
    ),
    responses=WRITE_ERRORS,
)
async def update_framework(
    framework_id: uuid.UUID, body: FrameworkUpdate, principal: FrameworksWrite, session: SessionDep
) -> FrameworkRead:
    framework = await FrameworkService(session, principal.tenant_id).update_framework(framework_id, body)
    return FrameworkRead.model_validate(framework)


@router.delete(
    "/{framework_id}",
    status_code=204,
    summary="Delete a draft framework",
    description=("Deletes a draft and its tree; a published or retired version cannot be deleted (409)."),
    responses=WRITE_ERRORS,
)
async def delete_framework(
    framework_id: uuid.UUID, principal: FrameworksWrite, session: SessionDep
) -> Response:
    await FrameworkService(session, principal.tenant_id).delete_framework(framework_id)
    return Response(status_code=204)


@router.post(
    "/{framework_id}/publish",
    summary="Publish a draft (freezes it)",
    description=(
        "Publishes a draft (it needs at least one competency and a rubric scale; a 422 names what is "
        "missing): from then on it is frozen and its CASE items are public."
    ),
    responses=WRITE_ERRORS,
)
async def publish_framework(
    framework_id: uuid.UUID, principal: FrameworksWrite, session: SessionDep
) -> FrameworkRead:
    return FrameworkRead.model_validate(
        await FrameworkService(session, principal.tenant_id).publish(framework_id)
    )


@router.post(
    "/{framework_id}/retire",
    summary="Retire a published version",
    description=(
        "Retires a published version: it stays readable (issued credentials point at it) but new work"
        " should use a newer version."
    ),
    responses=WRITE_ERRORS,
)
async def retire_framework(
    framework_id: uuid.UUID, principal: FrameworksWrite, session: SessionDep
) -> FrameworkRead:
    return FrameworkRead.model_validate(
        await FrameworkService(session, principal.tenant_id).retire(framework_id)
    )


@router.post(
    "/{framework_id}/versions",
    status_code=201,
    summary="Draft a new version from a published one",
    description=(
        "Copies a published version into a new draft with new ids that remember what they were copied from."
    ),
    responses=WRITE_ERRORS,
)
async def new_version(
    framework_id: uuid.UUID, principal: FrameworksWrite, session: SessionDep, body: NewVersion | None = None
) -> FrameworkRead:
    framework = await FrameworkService(session, principal.tenant_id).new_version(
        framework_id, body or NewVersion()
    )
    return FrameworkRead.model_validate(framework)


# -- attributes ---------------------------------------------------------------------------------


@router.post(
    "/{framework_id}/attributes",
    status_code=201,
    summary="Add an attribute",
    description=(
        "Adds an attribute (a top-level trait of the portrait) to a draft; 409 on a published version."
    ),
    responses=WRITE_ERRORS,
)
async def add_attribute(
    framework_id: uuid.UUID, body: AttributeCreate, principal: FrameworksWrite, session: SessionDep
) -> AttributeRead:
    attr = await FrameworkService(session, principal.tenant_id).add_attribute(framework_id, body)
    return AttributeRead.model_validate(attr)


@router.patch(
    "/{framework_id}/attributes/{attribute_id}",
    summary="Update an attribute",
    description=("Only the fields given change; 409 on a published version."),
    responses=WRITE_ERRORS,
)
async def update_attribute(
    framework_id: uuid.UUID,
    attribute_id: uuid.UUID,
    body: AttributeUpdate,
    principal: FrameworksWrite,
    session: SessionDep,
) -> AttributeRead:
    attr = await FrameworkService(session, principal.tenant_id).update_attribute(
        framework_id, attribute_id, body
    )
    return AttributeRead.model_validate(attr)


@router.delete(
    "/{framework_id}/attributes/{attribute_id}",
    status_code=204,
    summary="Delete an attribute",
    description=("Deletes an attribute of a draft with its competencies; 409 on a published version."),
    responses=WRITE_ERRORS,
)
async def delete_attribute(
    framework_id: uuid.UUID, attribute_id: uuid.UUID, principal: FrameworksWrite, session: SessionDep
) -> Response:
    await FrameworkService(session, principal.tenant_id).delete_attribute(framework_id, attribute_id)
    return Response(status_code=204)


# -- competencies -------------------------------------------------------------------------------


@router.post(
    "/{framework_id}/competencies",
    status_code=201,
    summary="Add a competency",
    description=(
        "Adds a competency under an attribute (or another competency) of a draft, with its statement,"
        " grade-band descriptors, look-fors and launch year."
    ),
    responses=WRITE_ERRORS,
)
async def add_competency(
    framework_id: uuid.UUID, body: CompetencyCreate, principal: FrameworksWrite, session: SessionDep
) -> CompetencyRead:
    comp = await FrameworkService(session, principal.tenant_id).add_competency(framework_id, body)
    return CompetencyRead.model_validate({**comp.model_dump(), "descriptors": []})


@router.patch(
    "/{framework_id}/competencies/{competency_id}",
    summary="Update a competency",
    description=("Only the fields given change; 409 on a published version."),
    responses=WRITE_ERRORS,
)
async def update_competency(
    framework_id: uuid.UUID,
    competency_id: uuid.UUID,
    body: CompetencyUpdate,
    principal: FrameworksWrite,
    session: SessionDep,
) -> CompetencyRead:
    service = FrameworkService(session, principal.tenant_id)
    comp = await service.update_competency(framework_id, competency_id, body)
    descriptors = await service.repo.descriptors([comp.id])
    return CompetencyRead.model_validate(
        {**comp.model_dump(), "descriptors": [DescriptorRead.model_validate(d) for d in descriptors]}
    )


@router.delete(
    "/{framework_id}/competencies/{competency_id}",
    status_code=204,
    summary="Delete a competency",
    description=("Deletes a competency of a draft and its children; 409 on a published version."),
    responses=WRITE_ERRORS,
)
async def delete_competency(
    framework_id: uuid.UUID, competency_id: uuid.UUID, principal: FrameworksWrite, session: SessionDep
) -> Response:
    await FrameworkService(session, principal.tenant_id).delete_competency(framework_id, competency_id)
    return Response(status_code=204)


@router.put(
    "/{framework_id}/competencies/{competency_id}/descriptors",
    summary="Replace a competency's descriptors per rubric level",
    description=(
        "Sets what each rubric level means for this competency; levels not given lose their "
        "descriptor. 409 on a published version."
    ),
    responses=WRITE_ERRORS,
)
async def put_descriptors(
    framework_id: uuid.UUID,
    competency_id: uuid.UUID,
    body: Annotated[list[DescriptorIn], Body(max_length=100)],
    principal: FrameworksWrite,
    session: SessionDep,
) -> list[DescriptorRead]:
    rows = await FrameworkService(session, principal.tenant_id).put_descriptors(
        framework_id, competency_id, body
    )
    return [DescriptorRead.model_validate(r) for r in rows]


# -- rubric levels ------------------------------------------------------------------------------


@router.post(
    "/{framework_id}/levels",
    status_code=201,
    summary="Add a rubric level",
    description=(
        "Adds a level to the draft's rubric scale at a position (0 = lowest); award rules name levels"
        " by position, id or title."
    ),
    responses=WRITE_ERRORS,
)
async def add_level(
    framework_id: uuid.UUID, body: LevelCreate, principal: FrameworksWrite, session: SessionDep
) -> LevelRead:
    return LevelRead.model_validate(
        await FrameworkService(session, principal.tenant_id).add_level(framework_id, body)
    )


@router.patch(
    "/{framework_id}/levels/{level_id}",
    summary="Update a rubric level",
    description=(
        "Only the fields given change (title, description, score, whether it counts as proficient); "
        "409 on a published version."
    ),
    responses=WRITE_ERRORS,
)
async def update_level(
    framework_id: uuid.UUID,
    level_id: uuid.UUID,
    body: LevelUpdate,
    principal: FrameworksWrite,
    session: SessionDep,
) -> LevelRead:
    level = await FrameworkService(session, principal.tenant_id).update_level(framework_id, level_id, body)
    return LevelRead.model_validate(level)


@router.delete(
    "/{framework_id}/levels/{level_id}",
    status_code=204,
    summary="Delete a rubric level",
    description=("Deletes a rubric level of a draft; 409 on a published version."),
    responses=WRITE_ERRORS,
)
async def delete_level(
    framework_id: uuid.UUID, level_id: uuid.UUID, principal: FrameworksWrite, session: SessionDep
) -> Response:
    await FrameworkService(session, principal.tenant_id).delete_level(framework_id, level_id)
    return Response(status_code=204)
