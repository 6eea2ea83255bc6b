"""The growth chart (pure): one marker per piece in date order, the levels as rows, the same in words."""

from __future__ import annotations

from datetime import date

from service.transcripts.chart import GrowthPoint, growth_chart, growth_text

LEVELS = ["Beginning", "Developing", "Proficient", "Extending"]


def test_growth_chart_marks_each_piece_and_says_it_in_words() -> None:
    points = [
        GrowthPoint(date(2026, 10, 5), 3),
        GrowthPoint(date(2026, 9, 1), 1),
        GrowthPoint(date(2026, 9, 20), 2),
    ]
    svg = growth_chart("Collaboration <& co>", LEVELS, points, id_prefix="g1")
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 1
    assert 'role="img" aria-labelledby="g1-title g1-desc"' in svg
    assert "Collaboration &lt;&amp; co&gt;: evidence levels by date" in svg
    assert "1 Sep 2026 Beginning; 20 Sep 2026 Developing; 5 Oct 2026 Proficient." in svg
    for name in LEVELS:
        assert f">{name}</text>" in svg
    # Markers climb as the level rises (smaller y is higher up).
    ys = [float(part.split('"')[0]) for part in svg.split('cy="')[1:]]
    assert ys[0] > ys[1] > ys[2]


def test_growth_chart_without_evidence_says_so() -> None:
    svg = growth_chart("Curiosity", LEVELS, [])
    assert "<circle" not in svg and "No evidence with a level yet" in svg
    assert growth_text("Curiosity", LEVELS, []) == "Curiosity: no evidence with a level yet."


def test_one_piece_sits_in_the_middle() -> None:
    svg = growth_chart("Grit", LEVELS, [GrowthPoint(date(2026, 9, 1), 4)])
    assert svg.count("<circle") == 1 and "<polyline" not in svg
    assert growth_text("Grit", LEVELS, [GrowthPoint(date(2026, 9, 1), 4)]) == "Grit: 1 Sep 2026 Extending."
