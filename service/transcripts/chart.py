"""The Portrait as a picture: an SVG bar chart of each competency's level on the rubric scale (pure).

One row per competency, grouped under its attribute: the competency's name, one cell per level of its
scale (filled up to the level reached) and the reached level in words ("Proficient, 3 of 4"). It reads
in black and white: filled cells are hatched, empty ones outlined, and the level is always written out,
so nothing depends on colour. For screen readers the SVG has ``role="img"`` with a ``<title>`` and a
``<desc>`` holding the whole chart as text (:func:`chart_text` gives the same lines to a page that
prefers a list or a table).

The same SVG is inlined in the HTML page and placed in the PDF (Typst draws SVG text with its embedded
fonts, so the font family is a parameter).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from service.transcripts.view import AttributeView, CompetencyView, TranscriptView

WIDTH = 660
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


def chart_text(view: TranscriptView) -> list[str]:
    """The chart as sentences, one per competency (the text alternative)."""
    return _lines(view.attributes)


def _shared_scale(view: TranscriptView) -> list[str] | None:
    """The level names when every competency uses the same scale (then they head the columns)."""
    scales = {tuple(level.name for level in c.levels) for c in view.competencies if c.levels}
    return list(next(iter(scales))) if len(scales) == 1 else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def portrait_chart(
    view: TranscriptView,
    *,
    id_prefix: str = "portrait-chart",
    font_family: str = HTML_FONT,
    attributes: Sequence[AttributeView] | None = None,
    header: bool = True,
    row: int = ROW,
) -> str:
    """The SVG (a string, UTF-8, no XML declaration) of the Portrait with the levels reached.

    ``attributes`` draws only those groups (the PDF places one picture per attribute so that a large
    Portrait flows across pages); ``header`` writes the level names above the columns; ``row`` is the
    height of one competency's row in pixels.
    """
    title = f"{view.portrait_name or 'Portrait'}: level reached on each competency"
    groups = view.attributes if attributes is None else tuple(attributes)
    lines = _lines(groups) or ["This record holds no Portrait competencies."]
    desc = " ".join(lines)
    scale = _shared_scale(view) if header else None
    cells_x = LABEL_WIDTH
    cells_width = WIDTH - LABEL_WIDTH - TEXT_WIDTH
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
            f"{escape(_clip(attribute.name, 60))}</text>"
        )
        y += GROUP
        for competency in attribute.competencies:
            levels = competency.levels or ()
            reached = competency.reached.rank if competency.reached else 0
            body.append(
                f'<text x="{PAD + 10}" y="{y + row / 2 + 4:.1f}" font-size="12" fill="{INK}">'
                f"{escape(_clip(competency.name, 36))}</text>"
            )
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
                f'<text x="{cells_x + cells_width + 8}" y="{y + row / 2 + 4:.1f}" font-size="11.5" '
                f'fill="{INK}"{" font-weight=" + quoteattr("bold") if reached else ""}>'
                f"{escape(_clip(level_phrase(competency), 22))}</text>"
            )
            y += row
    height = y + PAD
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
        f"font-family={quoteattr(font_family)}>"
        f'<title id="{id_prefix}-title">{escape(title)}</title>'
        f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>'
        f'<defs><pattern id="{id_prefix}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{FILL}"/>'
        f'<rect width="2" height="6" fill="#ffffff"/></pattern></defs>' + "".join(body) + "</svg>"
    )
