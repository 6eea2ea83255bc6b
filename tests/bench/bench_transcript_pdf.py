"""Benchmark: transcript PDFs (Typst) from a signed ClrCredential, and reading the credential back.

    .venv/bin/python tests/bench/bench_transcript_pdf.py [--seconds 5] [--badges 30] [--courses 40]

A script that prints figures (nothing asserted; pytest does not collect it), single thread, in memory.
The credential is a senior's record built and signed like the tests' sample: ``--badges`` badges (one per
competency, OpenBadgeCredentials with their own proofs), six competency records and ``--courses`` course
records over eight terms.

Figures:
* the credential's size (compact JSON) and the PDF's size and page count, Letter and A4;
* TranscriptView from the credential (views/s), the chart SVG (charts/s);
* PDFs/s and pages/s (view + chart + QR + Typst + PDF/A-3 with the credential embedded);
* extraction of the embedded credential from the PDF (extractions/s);
* peak memory: Python allocations during one PDF (tracemalloc; Typst's own Rust allocations are not
  counted there) and the process's peak RSS (which counts everything, Typst included).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pypdf import PdfReader

from service.credentials.pdf import extract_pdf
from service.transcripts.chart import portrait_chart
from service.transcripts.pdf import render_transcript_pdf
from service.transcripts.view import build_transcript_view
from tests.transcripts.clr_sample import large_clr


def rate(label: str, action: Callable[[], Any], seconds: float, unit: str = "/s") -> float:
    action()  # warm up
    count = 0
    start = time.perf_counter()
    while True:
        action()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    per_second = count / elapsed
    print(f"  {label:<48} {per_second:10.1f} {unit}   ({1000 / per_second:.1f} ms each, n={count})")
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent on each figure")
    parser.add_argument("--badges", type=int, default=30)
    parser.add_argument("--courses", type=int, default=40)
    args = parser.parse_args()

    started = time.perf_counter()
    clr = large_clr(badges=args.badges, courses=args.courses)
    took = time.perf_counter() - started
    print(f"credential: {args.badges} badges, {args.courses} course records, signed in {took:.2f} s")
    text = json.dumps(clr, separators=(",", ":"))
    nested = len(clr["credentialSubject"]["verifiableCredential"])
    print(f"  compact JSON {len(text) / 1024:.0f} KiB, {nested} nested credentials")
    names = {
        "learner_name": "Ada Lovelace",
        "school_name": "North High School",
        "district_name": "North Valley USD",
    }
    view = build_transcript_view(clr, **names)

    print("sizes:")
    pages: dict[str, int] = {}
    for paper in ("us-letter", "a4"):
        pdf = render_transcript_pdf(view, clr, paper=paper)  # type: ignore[arg-type]
        pages[paper] = len(PdfReader(io.BytesIO(pdf)).pages)
        print(f"  {paper:<10} {len(pdf) / 1024:.0f} KiB, {pages[paper]} page(s)")

    print("throughput (one thread):")
    rate(
        "TranscriptView from the credential",
        lambda: build_transcript_view(clr, **names),
        args.seconds,
        "views/s",
    )
    rate("Portrait chart (SVG)", lambda: portrait_chart(view), args.seconds, "charts/s")
    for paper in ("us-letter", "a4"):
        per_second = rate(
            f"PDF, {paper} (view + chart + QR + Typst + PDF/A-3)",
            lambda paper=paper: render_transcript_pdf(build_transcript_view(clr, **names), clr, paper=paper),
            args.seconds,
            "PDFs/s",
        )
        print(f"  {'':<48} {per_second * pages[paper]:10.1f} pages/s")
    pdf = render_transcript_pdf(view, clr)
    rate(
        "embedded credential extracted from the PDF", lambda: extract_pdf(pdf), args.seconds, "extractions/s"
    )

    tracemalloc.start()
    render_transcript_pdf(build_transcript_view(clr, **names), clr)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print("memory:")
    print(f"  Python allocations during one PDF (tracemalloc peak) {peak / 1024 / 1024:.1f} MiB")
    print(f"  process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
