"""Small hand-made PDFs for the upload tests: one with the credential attached (an embedded file,
Flate-compressed, as PDF/A-3 documents carry attachments), one with only a link to it."""

from __future__ import annotations

import zlib


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _page(text: str, annotations: bytes = b"") -> list[bytes]:
    content = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    return [
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 6 0 R >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >>" + annotations + b" >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def pdf_with_attachment(credential: str) -> bytes:
    packed = zlib.compress(credential.encode())
    objects = _page("Badge certificate")
    objects += [
        b"<< /Names [(credential.json) 7 0 R] >>",
        b"<< /Type /Filespec /F (credential.json) /UF (credential.json) /EF << /F 8 0 R >> >>",
        b"<< /Type /EmbeddedFile /Subtype /application#2Fjson /Filter /FlateDecode /Length "
        + str(len(packed)).encode()
        + b" >>\nstream\n"
        + packed
        + b"\nendstream",
    ]
    return _pdf(objects)


def pdf_with_link(url: str) -> bytes:
    annotation = (
        b" /Annots [<< /Type /Annot /Subtype /Link /Rect [72 700 400 720] /A << /S /URI /URI ("
        + url.encode()
        + b") >> >>]"
    )
    objects = _page("Verify at the link", annotation)
    objects += [b"<< /Names [] >>"]
    return _pdf(objects)


def pdf_bomb() -> bytes:
    packed = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    objects = _page("nothing")
    objects += [
        b"<< /Names [] >>",
        b"<< /Filter /FlateDecode /Length "
        + str(len(packed)).encode()
        + b" >>\nstream\n"
        + packed
        + b"\nendstream",
    ]
    return _pdf(objects)
