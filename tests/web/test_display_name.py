"""The district decides how public pages name a learner: full name, first name and initial (default),
or not at all; the credential itself never carries the name."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.public import learner_display_name
from service.config import Settings
from tests.factories import Actors
from tests.web.helpers import issue_one


@pytest.mark.parametrize(
    ("style", "expected"),
    [("full", "Aaliyah Garcia"), ("first_initial", "Aaliyah G."), ("none", None)],
)
def test_learner_display_name(style: str, expected: str | None) -> None:
    assert learner_display_name("Aaliyah", "Garcia", style) == expected


async def test_district_setting_drives_the_public_page(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    issued = await issue_one(session, actors.a.tenant.id, settings)
    assert "Learner" not in issued.document  # the family name is not in the credential
    write = await actors.a.headers("tenants:write")
    tenant = f"/api/v1/tenants/{actors.a.tenant.id}"
    page = f"/credentials/{issued.id}"
    html = {"Accept": "text/html"}

    assert "Earned by L0 L." in (await http.get(page, headers=html)).text
    changed = await http.patch(tenant, json={"public_learner_name": "full"}, headers=write)
    assert changed.status_code == 200 and changed.json()["public_learner_name"] == "full"
    assert "Earned by L0 Learner" in (await http.get(page, headers=html)).text
    hidden = await http.patch(tenant, json={"public_learner_name": "none"}, headers=write)
    assert hidden.status_code == 200
    text = (await http.get(page, headers=html)).text
    assert "L0" not in text and "Earned by a learner" in text
    bad = await http.patch(tenant, json={"public_learner_name": "everything"}, headers=write)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"].endswith("public_learner_name")
    gql = await http.post(
        "/graphql",
        json={
            "query": 'mutation($id: UUID!) { updateTenant(id: $id, input: {publicLearnerName: "full"}) '
            "{ publicLearnerName } }",
            "variables": {"id": str(actors.a.tenant.id)},
        },
        headers=write,
    )
    assert gql.json()["data"]["updateTenant"]["publicLearnerName"] == "full", gql.text
