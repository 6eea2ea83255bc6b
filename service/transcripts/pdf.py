"""The transcript as a PDF that carries its own proof (pure: bytes in, bytes out, no I/O).

Typeset with Typst (its Python binding ships the compiler and the fonts in one wheel: no system library,
no browser). The first page shows the learner, school, district and dates, the Portrait chart (SVG from
:mod:`service.transcripts.chart`), the badges with their dates, the courses by term with grades and
credits, and a QR code with the link to the public verification page. Letter or A4.

The signed ClrCredential travels inside: it is embedded, byte for byte as signed, as a PDF/A-3
associated file (``AFRelationship /Source``, file name :data:`ATTACHMENT_NAME`), the PDF conforming to
PDF/A-3b. :mod:`service.credentials.pdf` reads it back, and ``POST /api/v1/verify`` accepts the PDF.

Everything the template shows reaches Typst as JSON data (``sys.inputs``) and is placed as text, never
evaluated as markup, so a name such as ``#read("/etc/passwd")`` prints as itself.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

import segno
import typst

from service.credentials.pdf import ATTACHMENT_MEDIA_TYPE, ATTACHMENT_NAME
from service.transcripts.chart import PDF_FONT, level_phrase, portrait_chart
from service.transcripts.view import TranscriptView

Paper = Literal["us-letter", "a4"]
PAPERS: tuple[Paper, ...] = ("us-letter", "a4")

#: Height of a competency's row in the PDF's chart (pixels of the SVG; the HTML page uses the default).
PDF_ROW = 20
ATTACHMENT_DESCRIPTION = "The signed ClrCredential (CLR 2.0) this transcript shows"


class TranscriptPdfError(ValueError):
    """The PDF cannot be produced (a Typst error: a bug of the template, not of the input)."""


_TEMPLATE = r"""
#let data = json(bytes(sys.inputs.data))
#set document(title: data.title, author: data.author, keywords: ("CLR 2.0", "transcript"))
#set page(
  paper: sys.inputs.paper,
  margin: (x: 1.6cm, top: 1.5cm, bottom: 1.8cm),
  footer: context [
    #set text(size: 7.5pt, fill: luma(60))
    #data.footer #h(1fr) Page #counter(page).display() of #counter(page).final().first()
  ],
)
#set text(font: "Libertinus Serif", size: 9.5pt, lang: "en", fill: rgb("#1b2a41"))
#set par(justify: false, leading: 0.5em)
#show heading.where(level: 1): set text(size: 17pt)
#show heading.where(level: 2): it => block(above: 1.0em, below: 0.5em, text(size: 11.5pt, it.body))
#show heading.where(level: 3): it => block(above: 0.6em, below: 0.3em, text(size: 9.5pt, it.body))

#grid(
  columns: (1fr, auto),
  column-gutter: 1em,
  [
    #text(size: 9pt, fill: luma(70), data.kicker)
    = #data.title
    #v(0.2em)
    #table(
      columns: (auto, 1fr),
      stroke: none,
      inset: (x: 0pt, y: 2.2pt),
      column-gutter: 1em,
      ..data.facts.map(f => (strong(f.at(0)), f.at(1))).flatten()
    )
  ],
  align(center)[
    #image(bytes(sys.inputs.qr), format: "svg", width: 2.9cm, alt: data.qr_alt)
    #v(-0.4em)
    #text(size: 6.5pt, data.qr_caption)
  ],
)
#if data.verify_url != none [
  #text(size: 8pt)[Check this transcript: #link(data.verify_url)[#data.verify_url]]
]

== #data.chart_heading
#for part in data.charts [
  #block(above: 0.25em, below: 0.25em, align(center,
    image(bytes(part.svg), format: "svg", width: 92%, alt: part.alt)))
]

#v(0.4em)
#grid(
  columns: (1fr, 1.25fr),
  column-gutter: 1.2em,
  [
    == Badges earned
    #if data.badges.len() == 0 [#text(fill: luma(70), data.no_badges)] else [
      #set text(size: 8.5pt)
      #table(
        columns: (1fr, auto),
        stroke: (x, y) => if y == 0 { (bottom: 0.6pt) } else { (bottom: 0.3pt + luma(180)) },
        inset: (x: 2pt, y: 3pt),
        table.header([*Badge*], [*Date*]),
        ..data.badges.map(b => (b.name, b.date)).flatten()
      )
    ]
  ],
  [
    == Courses by term
    #if data.terms.len() == 0 [#text(fill: luma(70), data.no_courses)] else [
      #set text(size: 8.5pt)
      // One table for every term (a table per term made Typst's layout four times slower).
      #table(
        columns: (auto, 1fr, auto, auto),
        stroke: (x, y) => if y == 0 { (bottom: 0.6pt) },
        inset: (x: 2pt, y: 2.6pt),
        align: (left, left, center, right),
        table.header([*Code*], [*Course*], [*Grade*], [*Credits*]),
        ..data.terms.map(term => (
          table.cell(colspan: 4, inset: (x: 2pt, top: 6pt, bottom: 2.6pt),
            stroke: (bottom: 0.3pt + luma(120)))[
            *#term.title* #h(1fr) #text(size: 8pt, term.summary)
          ],
          ..term.courses.map(c => (c.code, c.title, c.grade, c.credits)).flatten(),
        )).flatten()
      )
      #text(size: 8.5pt)[*#data.credit_total*]
    ]
  ],
)

#v(0.6em)
#text(size: 7.5pt, fill: luma(60), data.about)

#pdf.attach(
  sys.inputs.attachment_name,
  bytes(sys.inputs.credential),
  relationship: "source",
  mime-type: sys.inputs.attachment_type,
  description: sys.inputs.attachment_description,
)
"""


def _long_date(value: date | datetime | None) -> str:
    """``30 November 2026`` (the style of the service's pages)."""
    return f"{value.day} {value:%B %Y}" if value else ""


def _short_date(value: date | None) -> str:
    """``2 Mar 2026``: the badge table's narrow column."""
    return f"{value.day} {value:%b %Y}" if value else ""


def _credits(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value != int(value) else f"{value:.1f}"


def _qr_svg(target: str) -> str:
    out = io.BytesIO()
    segno.make(target, error="m").save(out, kind="svg", xmldecl=False, border=2, dark="#000000")
    return out.getvalue().decode("utf-8")


def _charts(view: TranscriptView) -> list[dict[str, str]]:
    """The Portrait chart, one picture per attribute (the first with the level names as column heads),
    so that a large Portrait flows across pages instead of being pushed whole onto the next one."""
    if not view.competencies:
        return [{"svg": portrait_chart(view, font_family=PDF_FONT), "alt": "No Portrait competencies"}]
    return [
        {
            "svg": portrait_chart(
                view,
                id_prefix=f"chart-{index}",
                font_family=PDF_FONT,
                attributes=[attribute],
                header=index == 0,
                row=PDF_ROW,
            ),
            "alt": "; ".join(
                f"{attribute.name}: {c.name}: {level_phrase(c)}" for c in attribute.competencies
            ),
        }
        for index, attribute in enumerate(view.attributes)
    ]


def _data(view: TranscriptView) -> dict[str, Any]:
    facts: list[tuple[str, str]] = [
        ("Learner", view.learner_name or "(name not shown)"),
        ("School", view.school_name or ""),
        ("District", view.district_name or view.issuer_name or ""),
        ("Issued", _long_date(view.valid_from)),
    ]
    if view.valid_until:
        facts.append(("Valid until", _long_date(view.valid_until)))
    if view.portrait_name:
        version = f" (version {view.framework_version})" if view.framework_version else ""
        facts.append(("Framework", f"{view.portrait_name}{version}"))
    if view.revoked_on:
        facts.insert(0, ("Status", f"REVOKED on {_long_date(view.revoked_on)}: no longer valid as proof"))
    if view.partial:
        facts.append(("Scope", "Partial record: it does not hold everything the district knows"))
    terms = []
    for term in view.terms:
        terms.append(
            {
                "title": term.title,
                "summary": f"{_credits(term.credits_earned)} credits earned",
                "courses": [
                    {
                        "code": course.code or "",
                        "title": course.title + (" (in progress)" if course.in_progress else ""),
                        "grade": course.grade or "",
                        "credits": _credits(course.credits_earned),
                    }
                    for course in term.courses
                ],
            }
        )
    badges = [
        {
            "name": badge.name + (f" ({badge.level})" if badge.level else ""),
            "date": _short_date(badge.issued_on),
        }
        for badge in view.badges
    ]
    return {
        "title": view.name,
        "kicker": "Comprehensive Learner Record (CLR 2.0)",
        "author": view.issuer_name or view.district_name or "",
        "facts": [list(fact) for fact in facts if fact[1]],
        "verify_url": view.verify_url,
        "qr_alt": f"QR code linking to {view.verify_url}" if view.verify_url else "QR code",
        "qr_caption": "Scan to verify" if view.verify_url else "",
        "chart_heading": view.portrait_name or "Portrait competencies",
        "charts": _charts(view),
        "badges": badges,
        "no_badges": "No badges in this record yet.",
        "terms": terms,
        "no_courses": "No course records in this record.",
        "credit_total": f"Total credits earned: {_credits(view.credits_earned)}",
        "footer": f"{view.learner_name or ''} · {view.name} · {view.id or ''}".strip(" ·"),
        "about": (
            "This document carries its own proof: the signed credential it shows is embedded in it as "
            f"the file {ATTACHMENT_NAME}. Upload this PDF to the issuer's verification page, or any "
            "verifier of Comprehensive Learner Record 2.0 credentials, to check that it is authentic, "
            "unchanged and not revoked."
        ),
    }


def credential_bytes(credential: Mapping[str, Any] | str) -> str:
    """The text embedded: compact JSON of a credential object, or a compact JWS as given."""
    if isinstance(credential, str):
        return credential.strip()
    return json.dumps(credential, ensure_ascii=False, separators=(",", ":"))


def render_transcript_pdf(
    view: TranscriptView,
    credential: Mapping[str, Any] | str,
    *,
    paper: Paper = "us-letter",
    created: datetime | None = None,
) -> bytes:
    """The PDF/A-3b transcript of ``view`` with ``credential`` (the signed ClrCredential) embedded.

    ``created`` (default: the credential's ``validFrom``, else now) is the document's creation date,
    so the same credential renders to the same bytes.
    """
    if paper not in PAPERS:
        raise TranscriptPdfError(f"unknown paper size {paper!r}; use one of {', '.join(PAPERS)}")
    moment = created or view.valid_from or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    inputs = {
        "paper": paper,
        "data": json.dumps(_data(view), ensure_ascii=False),
        "qr": _qr_svg(view.verify_url or view.id or "urn:unknown"),
        "credential": credential_bytes(credential),
        "attachment_name": ATTACHMENT_NAME,
        "attachment_type": ATTACHMENT_MEDIA_TYPE,
        "attachment_description": ATTACHMENT_DESCRIPTION,
    }
    try:
        compiler = typst.Compiler(ignore_system_fonts=True)
        out = compiler.compile(
            _TEMPLATE.encode("utf-8"),
            format="pdf",
            sys_inputs=inputs,
            pdf_standards=["a-3b"],
            timestamp=int(moment.timestamp()),
        )
    except typst.TypstError as exc:  # pragma: no cover - the template is ours; a failure is a bug
        raise TranscriptPdfError(f"the transcript PDF cannot be typeset: {exc.message}") from exc
    if not isinstance(out, bytes):  # pragma: no cover - one PDF document is one bytes object
        raise TranscriptPdfError("the typesetter returned no PDF")
    return out
