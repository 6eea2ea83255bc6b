"""A small district for the console: two schools, a counselor at one, a teacher of one class, a district
admin, learners in and out of their reach; a second district with its own counselor."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.roster.schemas import ClassCreate, EnrollmentCreate, OrgCreate, PersonCreate
from service.roster.service import RosterService
from tests.factories import TenantRef, make_tenant_ref
from tests.web.browser import npm_ci

NODE_DIR = Path(__file__).parent / "node"
CONSOLE_BASE = "https://portrait.test"  # the tests' public_url: Secure cookies need https
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]*)"')


def node_packages() -> str:
    """The node executable, with tests/identity/node's pinned packages (oidc-provider, the identity
    provider) installed (``npm ci``) when missing or stale."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node and npm are required for the console's single sign-on and browser tests")
    npm_ci(NODE_DIR, "for the console's single sign-on and browser tests")
    return node


@contextmanager
def oidc_provider(client_id: str, client_secret: str, redirect_uris: list[str]) -> Iterator[str]:
    """A real OpenID Connect provider (oidc-provider on Node, node/provider.mjs); yields its issuer URL."""
    process = subprocess.Popen(  # noqa: S603 - our own script
        [node_packages(), str(NODE_DIR / "provider.mjs"), client_id, client_secret, ",".join(redirect_uris)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the provider listens (or exits)
        assert line, "the OpenID Connect provider did not start"
        yield str(json.loads(line)["issuer"])
    finally:
        process.terminate()
        process.wait(timeout=30)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html
    return found.group(1)


@dataclass(frozen=True)
class World:
    tenant: TenantRef
    other: TenantRef
    school_a: uuid.UUID
    school_b: uuid.UUID
    counselor_email: str
    teacher_email: str
    admin_email: str
    learner_email: str
    other_counselor_email: str
    teacher_id: uuid.UUID
    in_class: uuid.UUID  # school A, in the teacher's class
    same_school: uuid.UUID  # school A, not in the teacher's class
    other_school: uuid.UUID  # school B
    other_tenant_learner: uuid.UUID


async def _person(
    roster: RosterService, role: str, given: str, family: str, org: uuid.UUID, email: str
) -> uuid.UUID:
    made = await roster.create_person(
        PersonCreate(role=role, given_name=given, family_name=family, email=email, org_ids=[org])  # type: ignore[arg-type]
    )
    return made.id


@pytest.fixture
async def world(session: AsyncSession, settings: Settings) -> World:
    tenant = await make_tenant_ref(session, settings)
    other = await make_tenant_ref(session, settings)
    tag = tenant.slug
    roster = RosterService(session, tenant.id)
    district = await roster.create_org(OrgCreate(name="District", type="district"))
    school_a = (await roster.create_org(OrgCreate(name="School A", type="school", parent_id=district.id))).id
    school_b = (await roster.create_org(OrgCreate(name="School B", type="school", parent_id=district.id))).id
    counselor_email = f"counselor@{tag}.test"
    teacher_email = f"Teacher@{tag}.test"
    admin_email = f"admin@{tag}.test"
    await _person(roster, "counselor", "Cora", "Counsel", school_a, counselor_email)
    teacher_id = await _person(roster, "teacher", "Theo", "Teach", school_a, teacher_email)
    await _person(roster, "districtAdministrator", "Ada", "Admin", district.id, admin_email)
    learner_email = f"learner@{tag}.test"
    in_class = await _person(roster, "student", "Ines", "Inclass", school_a, learner_email)
    same_school = await _person(roster, "student", "Sami", "Sameschool", school_a, f"s2@{tag}.test")
    other_school = await _person(roster, "student", "Omar", "Otherschool", school_b, f"s3@{tag}.test")
    klass = await roster.create_class(ClassCreate(title="Biology", school_id=school_a))
    await roster.create_enrollment(EnrollmentCreate(class_id=klass.id, person_id=teacher_id, role="teacher"))
    await roster.create_enrollment(EnrollmentCreate(class_id=klass.id, person_id=in_class, role="student"))

    other_roster = RosterService(session, other.id)
    other_school_org = (await other_roster.create_org(OrgCreate(name="Far School", type="school"))).id
    other_counselor_email = f"counselor@{other.slug}.test"
    await _person(other_roster, "counselor", "Olga", "Other", other_school_org, other_counselor_email)
    other_tenant_learner = await _person(
        other_roster, "student", "Fay", "Faraway", other_school_org, f"fay@{other.slug}.test"
    )
    await session.commit()
    return World(
        tenant=tenant,
        other=other,
        school_a=school_a,
        school_b=school_b,
        counselor_email=counselor_email,
        teacher_email=teacher_email,
        admin_email=admin_email,
        learner_email=learner_email,
        other_counselor_email=other_counselor_email,
        teacher_id=teacher_id,
        in_class=in_class,
        same_school=same_school,
        other_school=other_school,
        other_tenant_learner=other_tenant_learner,
    )


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client on the public https origin (what a browser would be)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE_BASE) as client:
        yield client


@pytest.fixture
async def second_browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE_BASE) as client:
        yield client
