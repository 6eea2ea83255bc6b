"""Reading a credential embedded in a PDF: which file is taken, and every kind of bad PDF refused clearly."""

from __future__ import annotations

import io
import zlib

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

from service.credentials.baking import MAX_CREDENTIAL_CHARS
from service.credentials.pdf import ATTACHMENT_NAME, MAX_PDF_BYTES, PdfError, embedded_files, extract_pdf

CREDENTIAL = b'{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"]}'


def _stream(data: bytes, filters: list[str] | None = None, media: str | None = None) -> DecodedStreamObject:
    """An /EmbeddedFile stream written as given: ``data`` is already encoded by ``filters``."""
    stream = DecodedStreamObject()
    stream.set_data(data)
    stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
    if filters:
        stream[NameObject("/Filter")] = ArrayObject([NameObject(f) for f in filters])
    if media:
        stream[NameObject("/Subtype")] = NameObject("/" + media.replace("/", "#2F"))
    return stream


def _pdf(*files: tuple[str, DecodedStreamObject, bool], encrypt: bool = False) -> bytes:
    """A one-page PDF with the given (name, stream, associated) embedded files."""
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    associated = ArrayObject()
    names = ArrayObject()
    for name, stream, is_associated in files:
        spec = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): TextStringObject(name),
                NameObject("/UF"): TextStringObject(name),
                NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)}),
            }
        )
        if is_associated:
            spec[NameObject("/AFRelationship")] = NameObject("/Data")
        ref = writer._add_object(spec)
        names += [TextStringObject(name), ref]
        if is_associated:
            associated.append(ref)
    root = writer._root_object
    if associated:
        root[NameObject("/AF")] = associated
    if names:
        root[NameObject("/Names")] = DictionaryObject(
            {NameObject("/EmbeddedFiles"): DictionaryObject({NameObject("/Names"): names})}
        )
    if encrypt:
        writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_plain_and_deflated_credentials_are_read() -> None:
    assert extract_pdf(_pdf((ATTACHMENT_NAME, _stream(CREDENTIAL), True))) == CREDENTIAL.decode()
    deflated = _stream(zlib.compress(b"\xef\xbb\xbf  " + CREDENTIAL + b"\n"), ["/FlateDecode"])
    assert extract_pdf(_pdf((ATTACHMENT_NAME, deflated, False))) == CREDENTIAL.decode()


def test_which_embedded_file_is_the_credential() -> None:
    pdf = _pdf(
        ("notes.txt", _stream(b"not this one"), False),
        ("photo.png", _stream(b"\x89PNG"), True),
        ("other.json", _stream(b'{"second": true}'), False),
        ("badge", _stream(b'{"first": true}', media="application/vc+ld+json"), True),
    )
    files = embedded_files(pdf)
    # associated files first, then the rest of the name tree, each once
    assert [(f.name, f.associated) for f in files] == [
        ("photo.png", True),
        ("badge", True),
        ("notes.txt", False),
        ("other.json", False),
    ]
    assert files[1].media_type == "application/vc+ld+json" and files[1].relationship == "Data"
    assert extract_pdf(pdf) == '{"first": true}'  # associated and typed as a credential
    named = _pdf(("other.json", _stream(b'{"second": true}'), True), (ATTACHMENT_NAME, _stream(b"{}"), False))
    assert extract_pdf(named) == "{}"  # our own file name wins
    assert extract_pdf(_pdf(("photo.png", _stream(b"\x89PNG"), True))) is None
    assert extract_pdf(_pdf()) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a not a pdf", "not a PDF document"),
        (b"%PDF-1.7\n garbage without objects", "cannot be read|no document catalog"),
        (b"%PDF-" + b" " * (MAX_PDF_BYTES), "larger than"),
    ],
)
def test_unreadable_pdfs(data: bytes, message: str) -> None:
    with pytest.raises(PdfError, match=message):
        extract_pdf(data)


def test_encrypted_pdf_is_refused() -> None:
    with pytest.raises(PdfError, match="encrypted"):
        extract_pdf(_pdf((ATTACHMENT_NAME, _stream(CREDENTIAL), True), encrypt=True))


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        # 40 MB of spaces deflate to about 40 KB: inflation stops at the bound.
        (_stream(zlib.compress(b" " * 40_000_000, 9), ["/FlateDecode"]), "inflates beyond"),
        (_stream(b"not deflate data", ["/FlateDecode"]), "does not inflate"),
        (_stream(CREDENTIAL.hex().encode() + b">", ["/ASCIIHexDecode"]), "only FlateDecode"),
        (_stream(b"\xff\xfe\x00{"), "not UTF-8"),
        (_stream(b"   "), "is empty"),
        (_stream(b"x" * (MAX_CREDENTIAL_CHARS + 1)), "longer than"),
    ],
    ids=["zip-bomb", "bad-deflate", "other-filter", "not-utf8", "empty", "too-long"],
)
def test_bad_embedded_streams(stream: DecodedStreamObject, message: str) -> None:
    with pytest.raises(PdfError, match=message):
        extract_pdf(_pdf((ATTACHMENT_NAME, stream, True)))


def test_damaged_pdfs_fail_cleanly() -> None:
    """A transcript PDF cut short or with bytes overwritten: the credential, nothing, or a PdfError; never
    another exception (which the API would turn into a 500)."""
    from service.transcripts.pdf import render_transcript_pdf
    from service.transcripts.view import build_transcript_view
    from tests.transcripts.clr_sample import load_vector

    vector = load_vector()
    pdf = render_transcript_pdf(build_transcript_view(vector), vector)
    damaged = [pdf[:cut] for cut in range(len(pdf) // 9, len(pdf), len(pdf) // 9)]
    for step, position in enumerate(range(97, len(pdf), len(pdf) // 23)):
        flipped = bytearray(pdf)
        flipped[position : position + 8] = bytes((step * 37 + i * 11) % 256 for i in range(8))
        damaged.append(bytes(flipped))
    outcomes = set()
    for data in damaged:
        try:
            text = extract_pdf(data)
        except PdfError:
            outcomes.add("error")
        else:
            outcomes.add("none" if text is None else "found")
    # Cut short, most PDFs lose their cross-reference table; a byte flipped in page content leaves the
    # embedded file readable. Either way the answer is one of the three.
    assert outcomes <= {"error", "none", "found"} and {"error", "found"} <= outcomes
