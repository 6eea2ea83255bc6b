"""The Portrait chart (SVG): well-formed, accessible, readable without colour."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from service.transcripts.chart import chart_text, portrait_chart
from service.transcripts.view import build_transcript_view
from tests.transcripts.clr_sample import build_clr

NS = {"svg": "http://www.w3.org/2000/svg"}


@pytest.fixture(scope="module")
def clr() -> dict[str, Any]:
    return build_clr()


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, written by the code under test


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_chart_names_every_competency_and_level(clr: dict[str, Any]) -> None:
    view = build_transcript_view(clr)
    svg = portrait_chart(view, id_prefix="c1")
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert (
        root.findtext("svg:title", namespaces=NS)
        == "Portrait of a Graduate: level reached on each competency"
    )
    desc = root.findtext("svg:desc", namespaces=NS) or ""
    assert "Communicator: Communicates clearly: Proficient, 3 of 4." in desc
    assert "Collaborator: Leads with empathy: Not yet assessed." in desc
    texts = _texts(root)
    # Level names head the columns (one shared scale), each row writes its level out in words.
    assert texts[:4] == ["Beginning", "Developing", "Proficient", "Advanced"]
    for expected in ("Communicator", "Listens actively", "Developing, 2 of 4", "Advanced, 4 of 4"):
        assert expected in texts
    # Filled cells are hatched (a pattern, not a colour alone): 3 + 2 + 4 + 0 + 1 levels reached.
    hatched = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("fill") == "url(#c1-hatch)"]
    assert len(hatched) == 10
    assert root.find("svg:defs/svg:pattern[@id='c1-hatch']", NS) is not None
    assert chart_text(view)[0] == "Communicator: Communicates clearly: Proficient, 3 of 4."


def test_names_are_escaped_and_clipped(clr: dict[str, Any]) -> None:
    doc = copy.deepcopy(clr)
    competency = next(
        a for a in doc["credentialSubject"]["achievement"] if a.get("achievementType") == "Competency"
    )
    competency["name"] = "<script>alert(1)</script> & a name far too long to fit in the label column"
    svg = portrait_chart(build_transcript_view(doc))
    root = _parse(svg)  # still well-formed
    assert "<script>" not in svg
    label = next(t for t in _texts(root) if t.startswith("<script>"))
    assert label.endswith("\u2026") and len(label) <= 36
    assert "a name far too long to fit in the label column" in (
        root.findtext("svg:desc", namespaces=NS) or ""
    )


def test_mixed_scales_have_no_column_headings(clr: dict[str, Any]) -> None:
    doc = copy.deepcopy(clr)
    competency = next(
        a for a in doc["credentialSubject"]["achievement"] if a.get("achievementType") == "Competency"
    )
    competency["resultDescription"][0]["rubricCriterionLevel"].pop()  # a 3-level scale
    texts = _texts(_parse(portrait_chart(build_transcript_view(doc))))
    assert "Beginning" not in texts
    assert "Proficient, 3 of 3" in texts


def test_record_without_portrait() -> None:
    svg = portrait_chart(build_transcript_view({"name": "Empty"}))
    root = _parse(svg)
    assert _texts(root) == ["This record holds no Portrait competencies."]
    assert root.findtext("svg:desc", namespaces=NS) == "This record holds no Portrait competencies."


def test_compact_layout_for_a_phone(clr: dict[str, Any]) -> None:
    """The compact chart is 340 units wide: each name on a line of its own above its cells, the level in
    words right of the cells, no column heads; the same title, text alternative and hatching."""
    view = build_transcript_view(clr)
    wide = _parse(portrait_chart(view, id_prefix="w"))
    root = _parse(portrait_chart(view, id_prefix="c", compact=True))
    assert root.get("viewBox", "").split()[2] == "340" and root.get("width") == "340"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.findtext("svg:desc", namespaces=NS) == wide.findtext("svg:desc", namespaces=NS)
    texts = {t.text: t for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert "Beginning" not in texts  # no column heads: each row writes its level out
    name, level = texts["Listens actively"], texts["Developing, 2 of 4"]
    # The name sits above the row of cells, the level to their right with room for its words.
    assert float(name.get("y", 0)) < float(level.get("y", 0))
    assert float(level.get("x", 0)) <= 340 - 120
    cells = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("y")]
    assert max(float(r.get("x", 0)) + float(r.get("width", 0)) for r in cells) < float(level.get("x", 0))
    hatched = [r for r in cells if r.get("fill") == "url(#c-hatch)"]
    assert len(hatched) == 10
