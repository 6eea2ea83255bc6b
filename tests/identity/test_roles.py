"""Console roles from OneRoster roles, and what a staff member's access reaches (pure, table-driven)."""

from __future__ import annotations

import uuid

import pytest

from service.identity.roles import StaffAccess, roster_roles
from service.identity.service import csrf_matches, csrf_token, well_formed


@pytest.mark.parametrize(
    ("oneroster", "expected"),
    [
        (["teacher"], {"educator"}),
        (["aide", "proctor"], {"educator"}),
        (["counselor"], {"counselor"}),
        (["principal"], {"school_lead"}),
        (["siteAdministrator", "administrator"], {"school_lead"}),
        (["districtAdministrator"], {"district_admin"}),
        (["systemAdministrator", "teacher"], {"district_admin", "educator"}),
        (["student"], set()),
        (["parent", "guardian", "relative"], set()),
        ([], set()),
    ],
)
def test_roster_roles(oneroster: list[str], expected: set[str]) -> None:
    assert roster_roles(oneroster) == expected


SCHOOL, OTHER_SCHOOL, CLASS, OTHER_CLASS = (uuid.uuid4() for _ in range(4))


@pytest.mark.parametrize(
    ("roles", "schools", "classes", "learner_orgs", "learner_classes", "visible"),
    [
        ({"counselor"}, {SCHOOL}, set(), {SCHOOL}, set(), True),
        ({"counselor"}, {SCHOOL}, set(), {OTHER_SCHOOL}, {CLASS}, False),
        ({"educator"}, set(), {CLASS}, {SCHOOL}, {CLASS}, True),
        ({"educator"}, set(), {CLASS}, {SCHOOL}, {OTHER_CLASS}, False),
        ({"district_admin"}, set(), set(), {OTHER_SCHOOL}, set(), True),
        (set(), set(), set(), {SCHOOL}, {CLASS}, False),
    ],
)
def test_learner_reach(
    roles: set[str],
    schools: set[uuid.UUID],
    classes: set[uuid.UUID],
    learner_orgs: set[uuid.UUID],
    learner_classes: set[uuid.UUID],
    visible: bool,
) -> None:
    access = StaffAccess(uuid.uuid4(), uuid.uuid4(), frozenset(roles), frozenset(schools), frozenset(classes))
    assert access.can_see_learner(learner_orgs, learner_classes) is visible


def test_csrf_tokens_are_bound_to_the_browser() -> None:
    secret = "s" * 48
    token = csrf_token(secret, "cookie-a")
    assert csrf_matches(secret, "cookie-a", token)
    assert not csrf_matches(secret, "cookie-b", token)
    assert not csrf_matches("t" * 48, "cookie-a", token)
    assert not csrf_matches(secret, "cookie-a", "")
    assert not csrf_matches(secret, "cookie-a", None)


@pytest.mark.parametrize(
    ("token", "ok"),
    [
        ("A" * 43, True),
        ("a-_" + "b" * 40, True),
        ("A" * 42, False),
        ("A" * 44, False),
        ("A" * 42 + "=", False),
        ("A" * 43 + "\n", False),
        ("", False),
    ],
)
def test_token_shape(token: str, ok: bool) -> None:
    assert well_formed(token) is ok
