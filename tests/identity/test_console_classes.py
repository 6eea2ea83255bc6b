"""The class pages of the console: who sees which class, the heat map, and the scoring grid that records
rubric evidence for a whole class at once (through the evidence service, once per form, all or nothing).

Bad input each gets a clear page and writes nothing: a tampered class id (another school's, another
district's, not an id), a post without the form token, a session of another district, a level off the
scale, a learner who is not in the class, a future date, a link that is not a web address."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import Settings
from service.evidence.service import EvidenceService
from service.frameworks.grade_bands import band_for, band_range, grade_number
from service.frameworks.schemas import CompetencyCreate, FrameworkCreate, GradeBandIn, LevelCreate
from service.frameworks.service import FrameworkService
from service.frameworks.tree import GradeBand
from service.roster.schemas import ClassCreate, EnrollmentCreate
from service.roster.service import RosterService
from service.schemas import PageParams
from tests.identity.conftest import World, csrf_of
from tests.identity.test_console_sign_in import sign_in

_KEY = re.compile(r'name="submission" value="([0-9a-f]+)"')
LEVELS = ("Beginning", "Developing", "Proficient", "Extending")


@dataclass(frozen=True)
class Scoring:
    chemistry: uuid.UUID  # school A, grades 09-10, taught by the world's teacher
    far_class: uuid.UUID  # school B
    other_tenant_class: uuid.UUID
    competency: uuid.UUID
    other_competency: uuid.UUID  # a second competency, no grade bands
    draft_competency: uuid.UUID  # in a draft framework


@pytest.fixture
async def scoring(session: AsyncSession, world: World) -> Scoring:
    frameworks = FrameworkService(session, world.tenant.id)
    fw = await frameworks.create_framework(FrameworkCreate(kind="graduate", title="Portrait of a Graduate"))
    for title in LEVELS:
        await frameworks.add_level(fw.id, LevelCreate(title=title, proficient=title == "Proficient"))
    comp = await frameworks.add_competency(
        fw.id,
        CompetencyCreate(
            title="Collaboration",
            statement="Works with others toward shared goals.",
            grade_bands=[
                GradeBandIn(band="6-8", descriptor="Sets group norms and divides work fairly."),
                GradeBandIn(band="9-12", descriptor="Leads diverse teams on extended projects."),
            ],
        ),
    )
    other = await frameworks.add_competency(
        fw.id, CompetencyCreate(title="Communication", statement="Shares ideas clearly.")
    )
    await frameworks.publish(fw.id)
    draft = await frameworks.create_framework(FrameworkCreate(kind="learner", title="Draft Portrait"))
    await frameworks.add_level(draft.id, LevelCreate(title="Only"))
    draft_comp = await frameworks.add_competency(
        draft.id, CompetencyCreate(title="Draft competency", statement="Not yet.")
    )
    await AwardService(session, world.tenant.id).create_achievement(
        AchievementCreate(
            title="Collaborator",
            description="Works well with others.",
            criteria="One piece at Proficient or above.",
            framework_id=fw.id,
            rule={"type": "evidence", "competency_ids": [str(comp.id)], "min_level": 2, "min_count": 1},
        )
    )
    roster = RosterService(session, world.tenant.id)
    chemistry = await roster.create_class(
        ClassCreate(title="Chemistry", school_id=world.school_a, grades=["09", "10"])
    )
    for person, role in (
        (world.teacher_id, "teacher"),
        (world.in_class, "student"),
        (world.same_school, "student"),
    ):
        await roster.create_enrollment(EnrollmentCreate(class_id=chemistry.id, person_id=person, role=role))
    far = await roster.create_class(ClassCreate(title="Far Geology", school_id=world.school_b))
    await roster.create_enrollment(
        EnrollmentCreate(class_id=far.id, person_id=world.other_school, role="student")
    )
    other_roster = RosterService(session, world.other.id)
    far_school = (await other_roster.list_orgs(PageParams(limit=5, offset=0), type_="school"))[0][0]
    other_class = await other_roster.create_class(
        ClassCreate(title="Other district", school_id=far_school.id)
    )
    await session.commit()
    return Scoring(chemistry.id, far.id, other_class.id, comp.id, other.id, draft_comp.id)


async def evidence_of(session: AsyncSession, world: World, class_id: uuid.UUID) -> int:
    _, total = await EvidenceService(session, world.tenant.id).list_page(
        PageParams(limit=1, offset=0), class_id=class_id
    )
    return total


async def grid_form(browser: httpx.AsyncClient, class_id: uuid.UUID, competency: uuid.UUID) -> dict[str, str]:
    response = await browser.get(f"/console/classes/{class_id}", params={"competency": str(competency)})
    assert response.status_code == 200, response.text
    found = _KEY.search(response.text)
    assert found is not None
    return {
        "csrf_token": csrf_of(response.text),
        "submission": found.group(1),
        "competency": str(competency),
        "observed_on": datetime.now(UTC).date().isoformat(),
        "note": "Lab report on reaction rates.",
        "artifact_url": "https://lms.example/assignments/42",
    }


async def test_educator_lists_their_classes_and_sees_the_class_with_its_descriptors(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    listing = await browser.get("/console/classes")
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "no-store"
    assert "Biology" in listing.text and "Chemistry" in listing.text
    assert "Far Geology" not in listing.text and "Other district" not in listing.text
    assert 'href="/console/classes"' in listing.text  # the navigation link

    shown = await browser.get(f"/console/classes/{scoring.chemistry}")
    assert shown.status_code == 200
    assert "Inclass, Ines" in shown.text and "Sameschool, Sami" in shown.text
    assert "Otherschool" not in shown.text
    # The class is grades 09-10: the 9-12 descriptor is shown, not the 6-8 one.
    assert "Grades 9-12:</strong> Leads diverse teams on extended projects." in shown.text
    assert "Sets group norms" not in shown.text
    for level in LEVELS:
        assert f">{level}</option>" in shown.text
    assert shown.text.count('class="heat--none"') == 4  # 2 learners x 2 competencies, nothing yet
    assert "Draft competency" not in shown.text


async def test_scoring_grid_writes_evidence_once_and_the_heat_map_shows_it(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    form = await grid_form(browser, scoring.chemistry, scoring.competency)
    form |= {f"level-{world.in_class}": "2", f"level-{world.same_school}": "1"}
    first = await browser.post(f"/console/classes/{scoring.chemistry}/scores", data=form)
    assert first.status_code == 303, first.text
    assert "saved=2" in first.headers["location"] and "awarded=1" in first.headers["location"]
    again = await browser.post(f"/console/classes/{scoring.chemistry}/scores", data=form)
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert await evidence_of(session, world, scoring.chemistry) == 2

    pieces, _ = await EvidenceService(session, world.tenant.id).list_page(
        PageParams(limit=10, offset=0), class_id=scoring.chemistry
    )
    by_learner = {p.learner_id: p for p in pieces}
    ines = by_learner[world.in_class]
    assert ines.level_position == 2 and ines.source == "rubric"
    assert ines.assessor_id == world.teacher_id and ines.competency_id == scoring.competency
    assert ines.narrative == "Lab report on reaction rates."
    assert ines.artifacts[0]["url"] == "https://lms.example/assignments/42"
    awards = await AwardService(session, world.tenant.id).learner_progress(world.in_class)
    assert [a.earned for a in awards.achievements] == [True]

    shown = await browser.get(first.headers["location"])
    assert "2 scores recorded as evidence for Collaboration" in shown.text
    assert "1 badge earned" in shown.text
    assert 'class="heat--3">Proficient' in shown.text and 'class="heat--1">Developing' in shown.text

    # The same form with other values (the back button, then a change): refused, nothing more written.
    changed = form | {f"level-{world.same_school}": "3"}
    refused = await browser.post(f"/console/classes/{scoring.chemistry}/scores", data=changed)
    assert refused.status_code == 422
    assert "These scores were already saved" in refused.text
    assert await evidence_of(session, world, scoring.chemistry) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"level-IN": "7"}, "Choose one of the levels for Ines Inclass"),
        ({"level-IN": "high"}, "Choose one of the levels for Ines Inclass"),
        ({"level-OUT": "2"}, "The grid names a learner who is not in this class"),
        ({"level-IN": "", "level-SAME": ""}, "Choose a level for at least one learner"),
        ({"observed_on": "2999-01-01"}, "The date of the work must be today or earlier"),
        ({"observed_on": "yesterday"}, "Enter the date of the work"),
        ({"artifact_url": "javascript:alert(1)"}, "Enter the artifact link as a web address"),
        ({"note": "x" * 2001}, "The note must be 2000 characters or fewer"),
        ({"competency": "DRAFT"}, "Choose a competency of a published Portrait"),
        ({"competency": "not-a-uuid"}, "Choose a competency of a published Portrait"),
        ({"submission": ""}, "This form could not be read"),
    ],
)
async def test_bad_grid_input_names_the_problem_and_writes_nothing(
    browser: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
    scoring: Scoring,
    change: dict[str, str],
    message: str,
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    form = await grid_form(browser, scoring.chemistry, scoring.competency)
    form |= {f"level-{world.in_class}": "2", f"level-{world.same_school}": "1"}
    names = {"IN": str(world.in_class), "SAME": str(world.same_school), "OUT": str(world.other_school)}
    for key, value in change.items():
        if key.startswith("level-"):
            form[f"level-{names[key.removeprefix('level-')]}"] = value
        else:
            form[key] = str(scoring.draft_competency) if value == "DRAFT" else value
    response = await browser.post(f"/console/classes/{scoring.chemistry}/scores", data=form)
    assert response.status_code == 422, response.text
    assert "There is a problem" in response.text and message in response.text
    assert await evidence_of(session, world, scoring.chemistry) == 0


async def test_post_without_the_form_token_or_from_another_site_is_refused(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    form = await grid_form(browser, scoring.chemistry, scoring.competency)
    form[f"level-{world.in_class}"] = "2"
    no_token = {k: v for k, v in form.items() if k != "csrf_token"}
    refused = await browser.post(f"/console/classes/{scoring.chemistry}/scores", data=no_token)
    assert refused.status_code == 403
    assert "did not come from this console" in refused.text
    foreign = await browser.post(
        f"/console/classes/{scoring.chemistry}/scores", data=form, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert await evidence_of(session, world, scoring.chemistry) == 0


async def test_another_schools_or_districts_class_is_refused_and_nothing_is_written(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    form = await grid_form(browser, scoring.chemistry, scoring.competency)
    form[f"level-{world.other_school}"] = "2"
    for target in (scoring.far_class, scoring.other_tenant_class, uuid.uuid4(), "not-a-uuid"):
        shown = await browser.get(f"/console/classes/{target}")
        assert shown.status_code == 404, target
        assert "Class not found" in shown.text and "Far Geology" not in shown.text
        posted = await browser.post(f"/console/classes/{target}/scores", data=form)
        assert posted.status_code == 404, target
        assert "Class not found" in posted.text
    assert await evidence_of(session, world, scoring.far_class) == 0
    _, total = await EvidenceService(session, world.tenant.id).list_page(PageParams(limit=1, offset=0))
    assert total == 0


async def test_counselor_sees_their_schools_classes_and_admin_sees_all(
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
    scoring: Scoring,
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    listing = await browser.get("/console/classes")
    assert "Biology" in listing.text and "Chemistry" in listing.text and "Far Geology" not in listing.text
    assert (await browser.get(f"/console/classes/{scoring.chemistry}")).status_code == 200
    assert (await browser.get(f"/console/classes/{scoring.far_class}")).status_code == 404

    await sign_in(second_browser, session, settings, world.tenant.slug, world.admin_email)
    listing = await second_browser.get("/console/classes")
    assert "Far Geology" in listing.text and "Other district" not in listing.text
    assert (await second_browser.get(f"/console/classes/{scoring.far_class}")).status_code == 200
    assert (await second_browser.get(f"/console/classes/{scoring.other_tenant_class}")).status_code == 404


async def test_a_session_of_another_district_sees_none_of_its_classes(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    await sign_in(browser, session, settings, world.other.slug, world.other_counselor_email)
    listing = await browser.get("/console/classes")
    assert "Chemistry" not in listing.text and "Biology" not in listing.text
    shown = await browser.get(f"/console/classes/{scoring.chemistry}")
    assert shown.status_code == 404
    posted = await browser.post(
        f"/console/classes/{scoring.chemistry}/scores",
        data={"csrf_token": csrf_of(listing.text), "submission": "a" * 32, f"level-{world.in_class}": "2"},
    )
    assert posted.status_code == 404
    assert await evidence_of(session, world, scoring.chemistry) == 0


async def test_signed_out_class_pages_redirect_to_sign_in(
    browser: httpx.AsyncClient, scoring: Scoring
) -> None:
    for path in ("/console/classes", f"/console/classes/{scoring.chemistry}"):
        response = await browser.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"
    posted = await browser.post(f"/console/classes/{scoring.chemistry}/scores", data={})
    assert posted.status_code == 303


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        (["09", "10"], "9-12"),
        (["07"], "6-8"),
        (["KG", "01"], "K-2"),
        (["08", "09", "10"], "9-12"),
        ([], None),
    ],
)
def test_band_for_a_class(grades: list[str], expected: str | None) -> None:
    bands = [GradeBand("K-2", "a"), GradeBand("3-5", "b"), GradeBand("6-8", "c"), GradeBand("9-12", "d")]
    found = band_for(bands, grades)
    assert (found.band if found else None) == expected


def test_grade_labels() -> None:
    assert grade_number("09") == 9 and grade_number("KG") == 0 and grade_number("PK") == -1
    assert grade_number("13") is None and grade_number("Other") is None
    assert band_range("K-2") == (0, 2) and band_range("9\u201312") == (9, 12) and band_range("PK") == (-1, -1)
    assert band_range("12-9") is None and band_range("adult") is None


async def test_learner_page_draws_the_portrait_and_growth_with_text_alternatives(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    for day, level in (("2026-09-14", "0"), ("2026-10-20", "2")):
        form = await grid_form(browser, scoring.chemistry, scoring.competency)
        form |= {"observed_on": day, f"level-{world.in_class}": level}
        assert (
            await browser.post(f"/console/classes/{scoring.chemistry}/scores", data=form)
        ).status_code == 303
    shown = await browser.get(f"/console/learners/{world.in_class}")
    assert shown.status_code == 200
    # The Portrait (the transcripts' chart): the level reached on each competency, in its description.
    assert 'id="portrait-0-desc">Competencies: Collaboration: Proficient, 3 of 4.' in shown.text
    assert "Communication: Not yet assessed." in shown.text
    # Growth: one chart for the competency with evidence, described in words, with its data as a table.
    assert (
        'id="growth-0-desc">Collaboration: 14 Sep 2026 Beginning; 20 Oct 2026 Proficient.</desc>'
        in shown.text
    )
    assert shown.text.count("<polyline") == 1
    assert "Show the levels of Collaboration as a table" in shown.text
    assert "<td>Beginning</td>" in shown.text and "<td>Proficient</td>" in shown.text


async def test_learner_page_shows_the_portraits_written_for_learners(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    """A district's Portrait of a Leader (about adults) is published too: it is not drawn or listed on a
    learner's page, the Portrait of a Graduate is."""
    frameworks = FrameworkService(session, world.tenant.id)
    leader = await frameworks.create_framework(FrameworkCreate(kind="leader", title="Portrait of a Leader"))
    await frameworks.add_level(leader.id, LevelCreate(title="Emerging"))
    await frameworks.add_competency(
        leader.id, CompetencyCreate(title="Catalyzing a Shared Purpose", statement="Leads with purpose.")
    )
    await frameworks.publish(leader.id)
    await session.commit()
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    shown = await browser.get(f"/console/learners/{world.in_class}")
    assert shown.status_code == 200
    assert "Portrait of a Graduate" in shown.text and "Collaboration" in shown.text
    assert "Portrait of a Leader" not in shown.text and "Catalyzing a Shared Purpose" not in shown.text


async def test_load_trees_is_load_tree_for_each(
    session: AsyncSession, world: World, scoring: Scoring
) -> None:
    frameworks = FrameworkService(session, world.tenant.id)
    published, _ = await frameworks.list_frameworks(PageParams(limit=10, offset=0))
    many = await frameworks.load_trees([f.id for f in published] + [uuid.uuid4()])
    assert len(many) == len(published) == 2
    for framework in published:
        assert many[framework.id] == await frameworks.load_tree(framework.id)


async def test_odd_addresses_of_the_class_page_still_get_a_page(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World, scoring: Scoring
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    for params in (
        {"saved": "abc", "awarded": "-1"},
        {"competency": "not-a-uuid", "framework": "nope"},
        {"competency": str(scoring.draft_competency)},
        {"competency": str(uuid.uuid4())},
    ):
        shown = await browser.get(f"/console/classes/{scoring.chemistry}", params=params)
        assert shown.status_code == 200, params
        assert "Scores saved" not in shown.text
        assert 'id="scoring-competency">Collaboration</h3>' in shown.text  # the first competency
