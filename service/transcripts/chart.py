"""The Portrait as a picture: an SVG bar chart of each competency's level on the rubric scale (pure).

One row per competency, grouped under its attribute: the competency's name, one cell per level of its
scale (filled up to the level reached) and the reached level in words ("Proficient, 3 of 4"). It reads
in black and white: filled cells are hatched, empty ones outlined, and the level is always written out,
so nothing depends on colour. For screen readers the SVG has ``role="img"`` with a ``<title>`` and a
``<desc>`` holding the whole chart as text (:func:`chart_text` gives the same lines to a page that
prefers a list or a table).

The same SVG is inlined in the HTML page and placed in the PDF (Typst draws SVG text with its embedded
fonts, so the font family is a parameter). The staff console draws a learner's current levels with the
same function: anything with a ``portrait_name``, ``attributes`` and ``competencies`` (a
:class:`TranscriptView`, or a :class:`PortraitLevels` built from the learner's evidence) is a Portrait.

:func:`growth_chart` draws one competency's evidence over time (level by date), for the console's
learner page, with the same conventions (title, desc, shapes that read without colour).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from xml.sax.saxutils import escape, quoteattr

from service.transcripts.view import AttributeView, CompetencyView, LevelView


class Portrait(Protocol):
    """What the chart reads: a name, the attributes with their competencies, and all competencies."""

    @property
    def portrait_name(self) -> str | None: ...

    @property
    def attributes(self) -> tuple[AttributeView, ...]: ...

    @property
    def competencies(self) -> tuple[CompetencyView, ...]: ...


@dataclass(frozen=True)
class PortraitLevels:
    """A Portrait with the levels a learner reached, from anywhere other than a transcript."""

    portrait_name: str | None
    attributes: tuple[AttributeView, ...]

    @property
    def competencies(self) -> tuple[CompetencyView, ...]:
        return tuple(c for attribute in self.attributes for c in attribute.competencies)


WIDTH = 660
#: The compact layout (a phone's width): each competency's name on a line of its own, its cells and its
#: level in words on the next, so that the text keeps a readable size without sideways scrolling.
COMPACT_WIDTH = 340
COMPACT_CELLS = 168
COMPACT_NAME = 18
LABEL_WIDTH = 230
TEXT_WIDTH = 150
ROW = 26
GROUP = 24
HEADER = 30
PAD = 6
INK = "#1b2a41"
MUTED = "#5a6272"
FILL = "#24496f"

HTML_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
PDF_FONT = "Libertinus Serif"


def level_phrase(competency: CompetencyView) -> str:
    """The reached level in words: "Proficient, 3 of 4", or "Not yet assessed"."""
    if competency.reached is None:
        return "Not yet assessed" if competency.levels else "No rubric scale"
    return f"{competency.reached.name}, {competency.reached.rank} of {len(competency.levels)}"


def _lines(attributes: Sequence[AttributeView]) -> list[str]:
    return [
        f"{attribute.name}: {competency.name}: {level_phrase(competency)}."
        for attribute in attributes
        for competency in attribute.competencies
    ]


def chart_text(view: Portrait) -> list[str]:
    """The chart as sentences, one per competency (the text alternative)."""
    return _lines(view.attributes)


def _shared_scale(view: Portrait) -> list[str] | None:
    """The level names when every competency uses the same scale (then they head the columns)."""
    scales = {tuple(level.name for level in c.levels) for c in view.competencies if c.levels}
    return list(next(iter(scales))) if len(scales) == 1 else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def portrait_chart(
    view: Portrait,
    *,
    id_prefix: str = "portrait-chart",
    font_family: str = HTML_FONT,
    attributes: Sequence[AttributeView] | None = None,
    header: bool = True,
    row: int = ROW,
    compact: bool = False,
) -> str:
    """The SVG (a string, UTF-8, no XML declaration) of the Portrait with the levels reached.

    ``attributes`` draws only those groups (the PDF places one picture per attribute so that a large
    Portrait flows across pages); ``header`` writes the level names above the columns; ``row`` is the
    height of one competency's row in pixels. ``compact`` draws the narrow layout for a phone
    (:data:`COMPACT_WIDTH` wide, the name above the cells, no column heads: every row writes its
    level out).
    """
    title = f"{view.portrait_name or 'Portrait'}: level reached on each competency"
    groups = view.attributes if attributes is None else tuple(attributes)
    lines = _lines(groups) or ["This record holds no Portrait competencies."]
    desc = " ".join(lines)
    scale = _shared_scale(view) if header and not compact else None
    width = COMPACT_WIDTH if compact else WIDTH
    cells_x = PAD + 10 if compact else LABEL_WIDTH
    cells_width = COMPACT_CELLS if compact else WIDTH - LABEL_WIDTH - TEXT_WIDTH
    name_height = COMPACT_NAME if compact else 0
    body: list[str] = []
    y = PAD
    if scale:
        cell = cells_width / len(scale)
        for index, name in enumerate(scale):
            x = cells_x + cell * index + cell / 2
            body.append(
                f'<text x="{x:.1f}" y="{y + HEADER - 10}" text-anchor="middle" font-size="10.5" '
                f'fill="{MUTED}">{escape(_clip(name, 14))}</text>'
            )
        y += HEADER
    if not any(group.competencies for group in groups):
        body.append(f'<text x="{PAD}" y="{y + 16}" font-size="13" fill="{INK}">{escape(lines[0])}</text>')
        y += row
    for attribute in groups:
        body.append(
            f'<text x="{PAD}" y="{y + GROUP - 7}" font-size="13" font-weight="bold" fill="{INK}">'
            f"{escape(_clip(attribute.name, 44 if compact else 60))}</text>"
        )
        y += GROUP
        for competency in attribute.competencies:
            levels = competency.levels or ()
            reached = competency.reached.rank if competency.reached else 0
            name_y = y + name_height - 4 if compact else y + row / 2 + 4
            body.append(
                f'<text x="{PAD + 10}" y="{name_y:.1f}" font-size="{13 if compact else 12}" fill="{INK}">'
                f"{escape(_clip(competency.name, 44 if compact else 36))}</text>"
            )
            y += name_height
            count = max(len(levels), 1)
            cell = cells_width / count
            for index in range(count):
                filled = index < reached
                x = cells_x + cell * index + 1.5
                fill = f"url(#{id_prefix}-hatch)" if filled else "#ffffff"
                dash = "" if filled else ' stroke-dasharray="3 2"'
                body.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{cell - 3:.1f}" height="{row - 8}" '
                    f'fill="{fill}" stroke="{INK if filled else MUTED}" stroke-width="1"{dash}/>'
                )
            body.append(
                f'<text x="{cells_x + cells_width + 8}" y="{y + row / 2 + 4:.1f}" '
                f'font-size="{12.5 if compact else 11.5}" '
                f'fill="{INK}"{" font-weight=" + quoteattr("bold") if reached else ""}>'
                f"{escape(_clip(level_phrase(competency), 22))}</text>"
            )
            y += row
    height = y + PAD
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
        f"font-family={quoteattr(font_family)}>"
        f'<title id="{id_prefix}-title">{escape(title)}</title>'
        f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>'
        f'<defs><pattern id="{id_prefix}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{FILL}"/>'
        f'<rect width="2" height="6" fill="#ffffff"/></pattern></defs>' + "".join(body) + "</svg>"
    )


# -- growth over time ------------------------------------------------------------------------------

GROWTH_WIDTH = 340
GROWTH_LABEL = 96
GROWTH_ROW = 22
GROWTH_FOOT = 22


@dataclass(frozen=True)
class GrowthPoint:
    """One piece of evidence: its date, its level's rank on the scale (1 = lowest) and what it was."""

    observed_on: date
    rank: int
    label: str = ""


def _day(value: date) -> str:
    return f"{value.day} {value.strftime('%b %Y')}"


def growth_text(title: str, levels: Sequence[str], points: Sequence[GrowthPoint]) -> str:
    """The growth chart as one sentence (its text alternative)."""
    if not points:
        return f"{title}: no evidence with a level yet."
    ordered = sorted(points, key=lambda p: p.observed_on)
    parts = [
        f"{_day(p.observed_on)} {levels[p.rank - 1] if 0 < p.rank <= len(levels) else p.label}"
        for p in ordered
    ]
    return f"{title}: " + "; ".join(parts) + "."


def growth_chart(
    title: str,
    levels: Sequence[str],
    points: Sequence[GrowthPoint],
    *,
    id_prefix: str = "growth-chart",
    font_family: str = HTML_FONT,
) -> str:
    """A small SVG of one competency's evidence levels by date: one row per level of the scale (the
    lowest at the bottom), a marker per piece joined in date order, the first and last dates below."""
    rows = max(len(levels), 1)
    plot_top = PAD
    plot_height = rows * GROWTH_ROW
    height = plot_top + plot_height + GROWTH_FOOT
    x0, x1 = GROWTH_LABEL, GROWTH_WIDTH - 12
    ordered = sorted(points, key=lambda p: p.observed_on)
    body: list[str] = []
    for index, name in enumerate(levels):
        y = plot_top + plot_height - (index + 0.5) * GROWTH_ROW
        body.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#d0d4da" stroke-width="1"/>'
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{escape(_clip(name, 14))}</text>"
        )
    if ordered:
        first, last = ordered[0].observed_on, ordered[-1].observed_on
        span = (last - first).days
        inner = (x1 - x0) - 16

        def x_of(day: date) -> float:
            return x0 + 8 + (inner * (day - first).days / span if span else inner / 2)

        def y_of(rank: int) -> float:
            return plot_top + plot_height - (max(1, min(rank, rows)) - 0.5) * GROWTH_ROW

        coords = [(x_of(p.observed_on), y_of(p.rank)) for p in ordered]
        if len(coords) > 1:
            body.append(
                f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}" fill="none" '
                f'stroke="{FILL}" stroke-width="2"/>'
            )
        for x, y in coords:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{FILL}" '
                'stroke="#ffffff" stroke-width="1.5"/>'
            )
        foot = plot_top + plot_height + 15
        body.append(f'<text x="{x0}" y="{foot}" font-size="10.5" fill="{MUTED}">{escape(_day(first))}</text>')
        if span:
            body.append(
                f'<text x="{x1}" y="{foot}" text-anchor="end" font-size="10.5" fill="{MUTED}">'
                f"{escape(_day(last))}</text>"
            )
    else:
        body.append(
            f'<text x="{x0}" y="{plot_top + plot_height + 15}" font-size="11" fill="{INK}">'
            "No evidence with a level yet</text>"
        )
    desc = growth_text(title, levels, ordered)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {GROWTH_WIDTH} {height}" '
        f'width="{GROWTH_WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc" font-family={quoteattr(font_family)}>'
        f'<title id="{id_prefix}-title">{escape(title)}: evidence levels by date</title>'
        f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def scale_of(names: Sequence[str]) -> tuple[LevelView, ...]:
    """A rubric scale (lowest first) from its level names."""
    return tuple(LevelView(id=str(rank), name=name, rank=rank) for rank, name in enumerate(names, start=1))
