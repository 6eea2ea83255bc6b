"""A credential carried inside a PDF: the embedded file of a transcript PDF (pure, no I/O).

A transcript PDF carries its signed ClrCredential as a PDF/A-3 associated file: a file specification in
the catalog's ``/AF`` array (``/AFRelationship /Source`` or ``/Data``) that is also listed in the
``/EmbeddedFiles`` name tree. :func:`extract_pdf` finds it, preferring, in order: a file named
:data:`ATTACHMENT_NAME`; an associated file with a JSON or JWT media type or file name; any embedded file
with such a type or name. The text (JSON or compact JWS) is returned as is, to be verified as sent.

Bounds: the PDF is at most :data:`MAX_PDF_BYTES`, at most :data:`MAX_EMBEDDED_FILES` file specifications
are looked at, and the embedded stream is inflated by this module (``FlateDecode`` or no filter) up to
:data:`~service.credentials.baking.MAX_CREDENTIAL_CHARS` characters, so a small "zip bomb" stream never
grows past that. Encrypted PDFs are refused. The parser is pypdf (pure Python), run non-strict so that
PDFs from other producers with minor flaws still read; every parse failure becomes a :class:`PdfError`.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, EncodedStreamObject, IndirectObject, StreamObject

from service.credentials.baking import MAX_CREDENTIAL_CHARS
from service.credentials.errors import CredentialError

ATTACHMENT_NAME = "clr-credential.json"
"""The file name of the credential in a transcript PDF produced by Portrait."""
ATTACHMENT_MEDIA_TYPE = "application/vc+ld+json"

MAX_PDF_BYTES = 16 * 1024 * 1024
"""Largest PDF read (the verification endpoint's own body limit is usually smaller)."""
MAX_EMBEDDED_FILES = 64
"""File specifications looked at (associated files plus the name tree), at most."""
_MAX_TREE_NODES = 256

_CREDENTIAL_MEDIA = ("json", "jwt", "jose")
_CREDENTIAL_SUFFIXES = (".json", ".jsonld", ".jwt", ".jws", ".txt")


class PdfError(CredentialError):
    """The PDF cannot be read, or its embedded credential cannot be read."""


@dataclass(frozen=True)
class EmbeddedFile:
    """An embedded file's description, read from its file specification."""

    name: str
    media_type: str | None
    relationship: str | None
    associated: bool
    spec: DictionaryObject

    @property
    def looks_like_credential(self) -> bool:
        media = (self.media_type or "").lower()
        return any(part in media for part in _CREDENTIAL_MEDIA) or self.name.lower().endswith(
            _CREDENTIAL_SUFFIXES
        )


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _name(spec: DictionaryObject) -> str:
    for key in ("/UF", "/F"):
        value = _resolve(spec.get(key))
        if isinstance(value, str) and value:
            return value
    return ""


def _stream(spec: DictionaryObject) -> StreamObject | None:
    files = _resolve(spec.get("/EF"))
    if not isinstance(files, DictionaryObject):
        return None
    for key in ("/F", "/UF"):
        stream = _resolve(files.get(key))
        if isinstance(stream, StreamObject):
            return stream
    return None


def _describe(spec: Any, associated: bool) -> EmbeddedFile | None:
    spec = _resolve(spec)
    if not isinstance(spec, DictionaryObject):
        return None
    stream = _stream(spec)
    if stream is None:
        return None
    subtype = _resolve(stream.get("/Subtype"))
    media = str(subtype).lstrip("/").replace("#2F", "/").replace("#2f", "/") if subtype else None
    relationship = _resolve(spec.get("/AFRelationship"))
    return EmbeddedFile(
        name=_name(spec),
        media_type=media,
        relationship=str(relationship).lstrip("/") if relationship else None,
        associated=associated,
        spec=spec,
    )


def _name_tree(node: Any, budget: list[int]) -> Iterator[Any]:
    """File specifications of an ``/EmbeddedFiles`` name tree (``/Names`` pairs, ``/Kids`` recursion)."""
    node = _resolve(node)
    if not isinstance(node, DictionaryObject) or budget[0] <= 0:
        return
    budget[0] -= 1
    names = _resolve(node.get("/Names"))
    if isinstance(names, ArrayObject):
        for index in range(1, min(len(names), 2 * MAX_EMBEDDED_FILES), 2):
            yield names[index]
    kids = _resolve(node.get("/Kids"))
    if isinstance(kids, ArrayObject):
        for kid in kids[:MAX_EMBEDDED_FILES]:
            yield from _name_tree(kid, budget)


def _reader(data: bytes) -> PdfReader:
    if not isinstance(data, bytes | bytearray):
        raise PdfError("the PDF must be bytes")
    if len(data) > MAX_PDF_BYTES:
        raise PdfError(f"the PDF is larger than {MAX_PDF_BYTES} bytes")
    if b"%PDF-" not in bytes(data[:1024]):
        raise PdfError("not a PDF document (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(bytes(data)), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:  # a parser fed untrusted bytes may fail in any way: a 400, never a 500
        raise PdfError(f"the PDF cannot be read: {exc}") from exc
    if encrypted:
        raise PdfError("the PDF is encrypted; send the transcript PDF as it was issued")
    return reader


def embedded_files(data: bytes) -> list[EmbeddedFile]:
    """The embedded files of a PDF: associated files (``/AF``) first, then the name tree, no repeats."""
    reader = _reader(data)
    found: list[EmbeddedFile] = []
    seen: set[int] = set()
    try:
        catalog = _resolve(reader.trailer.get("/Root"))
        if not isinstance(catalog, DictionaryObject):
            raise PdfError("the PDF has no document catalog")
        associated = _resolve(catalog.get("/AF"))
        candidates: list[tuple[Any, bool]] = []
        if isinstance(associated, ArrayObject):
            candidates += [(spec, True) for spec in associated[:MAX_EMBEDDED_FILES]]
        names = _resolve(catalog.get("/Names"))
        if isinstance(names, DictionaryObject):
            tree = names.get("/EmbeddedFiles")
            candidates += [(spec, False) for spec in _name_tree(tree, [_MAX_TREE_NODES])]
        for spec, is_associated in candidates[: 2 * MAX_EMBEDDED_FILES]:
            described = _describe(spec, is_associated)
            if described is None or id(described.spec) in seen:
                continue
            seen.add(id(described.spec))
            found.append(described)
            if len(found) >= MAX_EMBEDDED_FILES:
                break
    except PdfError:
        raise
    except Exception as exc:  # a parser fed untrusted bytes may fail in any way: a 400, never a 500
        raise PdfError(f"the PDF cannot be read: {exc}") from exc
    return found


def _inflate(stream: StreamObject) -> bytes:
    """The stream's bytes, inflated here with a bound (only FlateDecode or no filter is accepted)."""
    filters = _resolve(stream.get("/Filter"))
    if isinstance(filters, ArrayObject):
        filters = [str(_resolve(f)) for f in filters]
    elif filters is not None:
        filters = [str(filters)]
    else:
        filters = []
    if _resolve(stream.get("/DecodeParms")) not in (None, {}) and filters:
        raise PdfError("the embedded credential uses decode parameters, which are not accepted")
    raw = stream._data if isinstance(stream, EncodedStreamObject) else stream.get_data()
    limit = MAX_CREDENTIAL_CHARS * 4
    if filters == []:
        data = bytes(raw)
    elif filters == ["/FlateDecode"]:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(bytes(raw), limit + 1)
        except zlib.error as exc:
            raise PdfError("the embedded credential's stream does not inflate") from exc
        if inflater.unconsumed_tail:
            raise PdfError(f"the embedded credential inflates beyond {limit} bytes")
    else:
        raise PdfError(
            f"the embedded credential uses the filter {', '.join(filters)}; only FlateDecode is read"
        )
    if len(data) > limit:
        raise PdfError(f"the embedded credential is larger than {limit} bytes")
    return data


def read_embedded(file: EmbeddedFile) -> str:
    """The text of an embedded file (UTF-8, a BOM dropped), bounded."""
    stream = _stream(file.spec)
    if stream is None:  # pragma: no cover - embedded_files only lists specs with a stream
        raise PdfError(f"the embedded file {file.name!r} has no content")
    try:
        data = _inflate(stream)
    except PdfError:
        raise
    except Exception as exc:  # as above
        raise PdfError(f"the embedded file {file.name!r} cannot be read: {exc}") from exc
    try:
        text = data.decode("utf-8").removeprefix("\ufeff").strip()
    except UnicodeDecodeError as exc:
        raise PdfError(f"the embedded file {file.name!r} is not UTF-8 text") from exc
    if len(text) > MAX_CREDENTIAL_CHARS:
        raise PdfError(f"the embedded credential is longer than {MAX_CREDENTIAL_CHARS} characters")
    return text


def _rank(file: EmbeddedFile) -> int | None:
    if file.name == ATTACHMENT_NAME:
        return 0
    if file.associated and file.looks_like_credential:
        return 1
    if file.looks_like_credential:
        return 2
    return None


def extract_pdf(data: bytes) -> str | None:
    """The credential text (JSON or compact JWS) embedded in a PDF, or ``None`` when it carries none.

    Raises :class:`PdfError` when ``data`` is not a readable PDF or the embedded file cannot be read.
    """
    ranked = sorted(
        (
            (rank, index, file)
            for index, file in enumerate(embedded_files(data))
            if (rank := _rank(file)) is not None
        ),
        key=lambda item: (item[0], item[1]),
    )
    if not ranked:
        return None
    text = read_embedded(ranked[0][2])
    if not text:
        raise PdfError(f"the embedded file {ranked[0][2].name!r} is empty")
    return text
