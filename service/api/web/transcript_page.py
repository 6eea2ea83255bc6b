"""The transcript page: ``GET /transcripts/{uuid}`` for a browser (``Accept: text/html``).

The same content as the PDF's first page (from the same :class:`~service.transcripts.view.TranscriptView`):
learner, school, district and dates, the Portrait chart inline (SVG, with its text alternative), the
badges with dates, the courses by term with grades and credits, the QR code and link, and links to the PDF
(Letter, A4) and the signed JSON. Printable (a print stylesheet hides the controls), readable in black and
white, usable on a phone (tables scroll sideways, the chart is also given as a list).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import segno
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from service.api.web.templating import human_date, render
from service.transcripts.chart import HTML_FONT, chart_text, level_phrase, portrait_chart
from service.transcripts.reading import TranscriptReading
from service.transcripts.view import CompetencyView, TranscriptView


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    href: str | None = None


@dataclass(frozen=True)
class TranscriptPage:
    view: TranscriptView
    url: str
    facts: tuple[Row, ...]
    chart_svg: Markup
    chart_svg_compact: Markup
    chart_lines: tuple[str, ...]
    qr_svg: Markup | None
    pdf_letter_url: str
    pdf_a4_url: str
    json_url: str
    verify_url: str
    revoked_on: str | None

    @staticmethod
    def level(competency: CompetencyView) -> str:
        return level_phrase(competency)


def _long_date(value: object) -> str:
    return human_date(value) if isinstance(value, datetime | date) else ""


def _qr(target: str) -> Markup:
    out = io.BytesIO()
    segno.make(target, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        border=2,
        scale=3,
        title="QR code of this transcript's address",
        svgclass="transcript__qr-code",
    )
    # segno writes the SVG itself (path data and attributes only): no text from the credential in it.
    return Markup(out.getvalue().decode("utf-8"))  # noqa: S704


def build_page(reading: TranscriptReading, public_url: str) -> TranscriptPage:
    view = reading.view
    url = f"{public_url}/transcripts/{reading.transcript_id}"
    facts = [
        Row("Learner", view.learner_name or "A learner (name not published)"),
        Row("School", view.school_name or ""),
        Row("District", view.district_name or view.issuer_name or "", view.issuer_url),
        Row("Issued", _long_date(view.valid_from)),
        Row("Valid until", _long_date(view.valid_until)),
        Row(
            "Framework",
            f"{view.portrait_name}"
            + (f" (version {view.framework_version})" if view.framework_version else "")
            if view.portrait_name
            else "",
        ),
        Row(
            "Scope", "Partial record: it does not hold everything the district knows" if view.partial else ""
        ),
    ]
    # The SVG is built by our own code from escaped text (xml.sax.saxutils), so it is safe to inline.
    chart = Markup(portrait_chart(view, font_family=HTML_FONT))  # noqa: S704
    # The same chart laid out for a phone's width (the page shows one of the two, by screen width).
    compact = Markup(  # noqa: S704
        portrait_chart(view, font_family=HTML_FONT, id_prefix="portrait-chart-compact", compact=True)
    )
    return TranscriptPage(
        view=view,
        url=url,
        facts=tuple(row for row in facts if row.value),
        chart_svg=chart,
        chart_svg_compact=compact,
        chart_lines=tuple(chart_text(view)),
        qr_svg=_qr(url),
        pdf_letter_url=f"/transcripts/{reading.transcript_id}.pdf",
        pdf_a4_url=f"/transcripts/{reading.transcript_id}.pdf?paper=a4",
        json_url=f"/transcripts/{reading.transcript_id}.json",
        verify_url="/verify?" + urlencode({"url": url}),
        revoked_on=_long_date(reading.revoked_on) or None,
    )


def transcript_page(request: Request, reading: TranscriptReading, public_url: str) -> HTMLResponse:
    page = build_page(reading, public_url)
    title = view_title(page.view)
    return render(
        request,
        "transcript.html",
        {"page": page, "page_title": title, "main_class": "transcript"},
        headers={
            "Cache-Control": "no-cache",
            "Vary": "Accept",
            "Link": f'<{page.json_url}>; rel="alternate"',
        },
    )


def view_title(view: TranscriptView) -> str:
    who = f"{view.learner_name}: " if view.learner_name else ""
    return f"{who}{view.name}"
