"""Document shapes: the one interface for canonicalization by shape (used by :mod:`linked_data` for whole
documents and by :mod:`clr_canonical` for the credentials a transcript embeds).

A document's *shape* is the document with its slot strings (ids, dates, names, narratives... every string
whose expansion cannot depend on its content) replaced by markers; :func:`skeleton` computes it and the
slot strings (its *values*). Documents of one shape have the same RDF quads up to those strings (see
"canonicalization by document shape" in :mod:`linked_data` for why), so the expensive JSON-LD work runs once
per shape.

:class:`Shape` is what a learned shape keeps: its quads with each slot's positions, and a *compiled*
RDFC-1.0 template. For a document of the shape, :meth:`Shape.canonical` writes the canonical N-Quads
directly:

* each quad is a line template (constant text, slot values escaped as N-Quads literals or written as
  IRIs, blank node labels);
* each blank node's RDFC-1.0 "hash first degree quads" is a constant of the shape when none of its quads
  holds a slot, else the SHA-256 of its few quads' lines with this document's values, sorted;
* when every blank node's first degree hash is unique (the usual case: RDFC-1.0's "simple" labelling,
  no N-degree hashing), the canonical labels are the hashes' order (``_:c14n0`` for the smallest), the
  lines are filled in and sorted;
* anything else (two blank nodes with the same first degree hash, two slots that make two quads equal)
  returns ``None``, and the caller runs pyld's URDNA2015 over :meth:`Shape.quads_for`, the general path.

The template writes what pyld's ``serialize_nquad`` writes: ``<iri>`` for IRIs, literals with ``\\``,
tab, line feed, carriage return and ``"`` escaped, ``@lang`` for language-tagged strings, ``^^<datatype>``
unless the datatype is ``xsd:string``. Tests compare it with pyld's full algorithm over random documents.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from itertools import chain, pairwise
from operator import itemgetter
from typing import Any

import orjson

from service.credentials.contexts import ContextRegistry

__all__ = [
    "MARKER",
    "Shape",
    "context_terms",
    "document_key",
    "is_absolute",
    "is_iri_or_blank",
    "learn_shape",
    "marker",
    "markers",
    "shape_key",
    "shaped_key",
    "skeleton",
    "slot_value_ok",
]

MARKER = "x-portrait-slot-"
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*:[^\s]*$")
# RDFC-1.0 canonical N-Quads escape these as \b, \f or \uXXXX; pyld does not. Refused (safe mode).
UNSUPPORTED_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:")
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

Component = dict[str, Any]
Quad = dict[str, Component]


def is_absolute(iri: str) -> bool:
    """Whether ``iri`` is an absolute IRI (a scheme, a colon, no white space)."""
    return bool(_ABSOLUTE_IRI.match(iri))


def is_iri_or_blank(iri: str) -> bool:
    """Whether ``iri`` is an absolute IRI or a blank node identifier."""
    return iri.startswith("_:") or is_absolute(iri)


def slot_value_ok(value: str, kind: str) -> bool:
    """The check safe mode makes at a slot's position: an IRI slot (``"IRI"``) must hold an absolute IRI
    (not a blank node label), a literal slot no control character RDFC-1.0 would escape differently."""
    if kind == "IRI":
        return not value.startswith("_:") and is_absolute(value)
    return UNSUPPORTED_CONTROL.search(value) is None


def context_terms(registry: ContextRegistry) -> frozenset[str]:
    """Every key of every pinned context (terms, prefixes, keywords): strings IRI expansion may map."""
    cached = getattr(registry, "_portrait_context_terms", None)
    if isinstance(cached, frozenset):
        return cached
    terms: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                terms.add(str(key))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for url in registry.urls:
        walk(registry.document_loader(url)["document"].get("@context"))
    result = frozenset(terms)
    registry._portrait_context_terms = result  # type: ignore[attr-defined]
    return result


def _marker_class(value: str) -> str:
    """A slot's marker without its index (see :func:`marker`)."""
    if ":" not in value:
        return MARKER
    match = _SCHEME_PREFIX.match(value)
    if match is None:
        return MARKER
    end = match.end()
    return f"{value[:end]}{'//' if value.startswith('//', end) else ''}{MARKER}"


def marker(index: int, value: str) -> str:
    """Slot ``index``'s marker for ``value``: it keeps the value's scheme and a ``//`` after it, which is
    all IRI expansion looks at in a string that is not a term."""
    match = _SCHEME_PREFIX.match(value)
    if match is None:
        return f"{MARKER}{index}"
    end = match.end()
    return f"{value[:end]}{'//' if value.startswith('//', end) else ''}{MARKER}{index}"


def markers(values: list[str]) -> dict[str, int]:
    """Marker -> slot index, for the slot strings ``values`` of a skeleton."""
    return {marker(index, value): index for index, value in enumerate(values)}


class _NotShaped(Exception):
    """A kept string that looks like a marker, or a value JSON cannot hold (NaN, infinity)."""


def skeleton(
    document: Mapping[str, Any], terms: frozenset[str], *, indexed: bool = True
) -> tuple[Any, list[str]] | None:
    """The document with its slot strings replaced by markers, and the strings; ``None`` when a string
    would have to stay in the shape but looks like a marker (never templated then) or a number is not
    finite.

    Kept in the shape (not slots): ``@context``, the values of ``type`` and ``@``-keywords, strings that
    start with ``_:`` or ``@``, strings that are a term, prefix or keyword of a pinned context, strings in
    a top-level list. ``indexed=False`` writes each marker without its index (what :func:`shape_key`
    hashes: the indexes follow from the markers' order)."""
    values: list[str] = []
    append = values.append

    def text(value: str, key: str) -> str:
        if key == "type" or key[:1] == "@" or value.startswith(("_:", "@")) or value in terms:
            if MARKER in value:
                raise _NotShaped
            return value
        append(value)
        if indexed:
            return marker(len(values) - 1, value)
        return _marker_class(value)

    def walk_dict(node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            kind = type(value)
            if kind is str:
                # text(), inlined for the common case: a slot without a colon (the hot path)
                if (
                    indexed
                    or key == "type"
                    or key[:1] == "@"
                    or value[:1] == "@"
                    or value[:2] == "_:"
                    or ":" in value
                    or value in terms
                ):
                    out[key] = text(value, key)
                else:
                    append(value)
                    out[key] = MARKER
            elif key == "@context" or kind is int or kind is bool or value is None:
                out[key] = value
            elif kind is list:
                out[key] = walk_list(value, key)
            else:
                out[key] = walk(value, key)
        return out

    def walk_list(node: list[Any], key: str) -> list[Any]:
        out: list[Any] = []
        for item in node:
            kind = type(item)
            if kind is str:
                out.append(text(item, key))
            elif kind is dict:
                out.append(walk_dict(item))
            else:
                out.append(walk(item, key))
        return out

    def walk(node: Any, key: str | None) -> Any:
        if isinstance(node, Mapping):
            return walk_dict(node)
        if isinstance(node, list):
            if key is None:
                return [walk(item, key) for item in node]
            return walk_list(node, key)
        if isinstance(node, str):
            if key is None:
                if MARKER in node:
                    raise _NotShaped
                return node
            return text(node, key)
        if isinstance(node, float) and not math.isfinite(node):
            raise _NotShaped
        return node

    try:
        return walk(document, None), values
    except _NotShaped:
        return None


_STRICT_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def shape_key(document: Mapping[str, Any], terms: frozenset[str]) -> tuple[bytes, list[str]] | None:
    """The key of the document's shape (SHA-256 of its skeleton's exact JSON, markers without their
    index) and its slot strings; ``None`` when the document has no shape (see :func:`skeleton`) or is not
    plain JSON. Equal keys mean equal skeletons: the markers' indexes are their order."""
    parts = skeleton(document, terms, indexed=False)
    if parts is None:
        return None
    try:
        data = orjson.dumps(parts[0], option=_STRICT_JSON)
    except TypeError:  # not plain JSON (a datetime, a subclass, a 65-bit integer, a non-string key)
        return None
    return hashlib.sha256(data).digest(), parts[1]


def document_key(document: Any) -> bytes | None:
    """SHA-256 of ``document``'s exact JSON serialization (key order included), or ``None`` when it is
    not plain JSON (no memo then)."""
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode("utf-8")).digest()


def shaped_key(shape_key: bytes, values: list[str]) -> bytes:
    """A document's memo key from its shape's key and its slot strings (the pair determines the
    document: a kept string never contains a marker, see :func:`skeleton`)."""
    try:
        text = b"shape\x00" + orjson.dumps(values)
    except TypeError:  # a lone surrogate: JSON's ASCII escapes
        text = b"ascii\x00" + json.dumps(values).encode("ascii")
    return hashlib.sha256(shape_key + text).digest()


def _escape(value: str) -> str:
    """pyld's N-Quads literal escaping (``pyld.nquads.escape``)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    if '"' in value:
        value = value.replace('"', '\\"')
    return value


def quad_key(quad: Quad) -> tuple[Any, ...]:
    """What makes two quads equal (toRdf keeps one of two equal triples)."""
    subject, predicate, obj = quad["subject"], quad["predicate"], quad["object"]
    return (
        subject["type"],
        subject["value"],
        predicate["value"],
        obj["type"],
        obj["value"],
        obj.get("datatype"),
        obj.get("language"),
        quad.get("name", {}).get("value"),
    )


# A line template: constant strings, and ints for holes: slot s as an IRI is 2*s, as a literal 2*s+1
# (escaped); blank node b is -(b+1).
_Template = tuple[str | int, ...]


def _component_parts(
    component: Component, slot: int | None, blank_index: dict[str, int], literal_index: dict[int, int]
) -> list[str | int]:
    """A quad component as template parts: text, the argument index of a slot's value (raw for an IRI,
    escaped for a literal), ``-(b+1)`` for blank node ``b``."""
    kind = component["type"]
    if kind == "IRI":
        return ["<", slot, ">"] if slot is not None else ["<" + component["value"] + ">"]
    if kind == "blank node":
        return [-(blank_index[component["value"]] + 1)]
    parts: list[str | int] = (
        ['"', literal_index[slot], '"'] if slot is not None else ['"' + _escape(component["value"]) + '"']
    )
    datatype = component["datatype"]
    if datatype == _RDF_LANGSTRING:
        if component.get("language"):
            parts.append("@" + component["language"])
    elif datatype != _XSD_STRING:
        parts.append("^^<" + datatype + ">")
    return parts


class Shape:
    """A learned shape: its quads with the positions of each slot (``(quad, component, kind)``), and
    the compiled RDFC-1.0 template (see the module docstring)."""

    def __init__(
        self,
        quads: list[Quad],
        slots: list[list[tuple[int, str, str]]],
        schemed: frozenset[int] = frozenset(),
    ) -> None:
        self.quads = quads
        self.slots = slots
        #: Slots whose marker keeps a scheme (``https:...``): every document of the shape has it there.
        self._schemed = schemed
        #: Per slot, the kinds of its positions ("IRI", "literal"): the checks its values need.
        self.slot_kinds = [frozenset(kind for _, _, kind in positions) for positions in slots]
        #: quad index -> [(component, slot)] for the quads that hold a slot.
        self.by_quad: dict[int, list[tuple[str, int]]] = {}
        for slot, positions in enumerate(slots):
            for at, name, _kind in positions:
                self.by_quad.setdefault(at, []).append((name, slot))
        #: The quads without slots, as keys: a slotted quad equal to one of them is a duplicate.
        self.fixed_keys = frozenset(quad_key(q) for i, q in enumerate(quads) if i not in self.by_quad)
        #: Per quad, the names of its blank node components (URDNA2015 relabels those in place).
        self.blanks = [tuple(n for n, c in q.items() if c["type"] == "blank node") for q in quads]
        #: Every string of the quads outside the slots: a document whose slot strings are distinct
        #: and none of these cannot make two quads equal, so its quads need no duplicate check.
        self.strings = frozenset(
            str(text)
            for i, q in enumerate(quads)
            for n, c in q.items()
            for text in (c.get("value"), c.get("datatype"), c.get("language"))
            if text is not None and (n, i) not in {(name, i) for name, _ in self.by_quad.get(i, ())}
        )
        self._compile()

    def _compile(self) -> None:
        """Line templates as ``str.format`` strings over one argument list: the ``n`` slot values (IRIs
        as they are), then the escaped values of the ``m`` literal slots, then the blank nodes' canonical
        labels; ``{0[i]}`` is argument ``i``."""
        labels: dict[str, int] = {}
        for names, quad in zip(self.blanks, self.quads, strict=True):
            for name in names:
                labels.setdefault(quad[name]["value"], len(labels))
        self.blank_count = len(labels)
        self.iri_slots = tuple(i for i, kinds in enumerate(self.slot_kinds) if "IRI" in kinds)
        self.literal_slots = tuple(i for i, kinds in enumerate(self.slot_kinds) if "literal" in kinds)
        #: IRI slots whose marker has no scheme (values get the whole absolute IRI check).
        self.unschemed = tuple(slot for slot in self.iri_slots if slot not in self._schemed)
        literal_index = {slot: len(self.slots) + at for at, slot in enumerate(self.literal_slots)}
        first_label = len(self.slots) + len(self.literal_slots)
        lines: list[str | int] = []
        # per blank node: its quads' templates with itself as _:a and the others as _:z
        hash_parts: list[list[str | int]] = [[] for _ in labels]
        for index, quad in enumerate(self.quads):
            if "name" in quad:  # pragma: no cover - shapes are learned for the default graph only
                raise ValueError("named graphs are not compiled")
            holes = dict(self.by_quad.get(index, ()))
            parts: list[str | int] = []
            for name in ("subject", "predicate", "object"):
                parts.extend(_component_parts(quad[name], holes.get(name), labels, literal_index))
                parts.append(" ")
            parts[-1] = " .\n"
            lines.extend(
                part if isinstance(part, str) or part >= 0 else first_label - part - 1 for part in parts
            )
            for name in self.blanks[index]:  # one entry per component, as URDNA2015 does
                me = -(labels[quad[name]["value"]] + 1)
                hash_parts[-me - 1].extend(
                    ("_:a" if part == me else "_:z") if isinstance(part, int) and part < 0 else part
                    for part in parts
                )
        #: All lines as one template (every "\n" in its result ends a line: literals escape theirs, and
        #: the values of IRI slots have none).
        self.lines_template = _Filler(lines)
        self.hash_templates = tuple(_Filler(parts) for parts in hash_parts)
        #: First degree hashes that no slot can change (None where one can).
        self.constant_hashes: tuple[str | None, ...] = tuple(
            _hash_lines(template(())) if template.constant else None for template in self.hash_templates
        )
        all_text = "".join(self.lines_template.texts) + self.lines_template.last
        constants = [h for h in self.constant_hashes if h is not None]
        # Lines are sorted without their "\n": the same order as with it while no line holds a
        # character below "\n" or another control character (slot values are checked for them).
        self.simple = (
            len(set(constants)) == len(constants)
            and bool(lines)
            and UNSUPPORTED_CONTROL.search(all_text) is None
            and "\t" not in all_text
        )
        self._compile_pairs()

    def _compile_pairs(self) -> None:
        """The pairs of quads involving a blank node that some slot values could make equal: same
        predicate, same blank node(s) at the same places, and the other terms each either an equal
        constant or a slot and something of its kind (an IRI, or a literal of the same datatype and
        language). Equal lines elsewhere are merged after sorting; these would change a first degree
        hash, so the compiled path leaves such a document to URDNA2015."""
        forms: list[tuple[Any, ...]] = []
        for index, quad in enumerate(self.quads):
            holes = dict(self.by_quad.get(index, ()))
            form: list[Any] = [quad["predicate"]["value"]]
            for name in ("subject", "object"):
                component = quad[name]
                kind = component["type"]
                shape = (kind, component.get("datatype"), component.get("language"))
                slot = holes.get(name)
                form.append((shape, slot, None if slot is not None else component["value"]))
            forms.append(tuple(form))
        by_predicate: dict[str, list[int]] = {}
        for index, shaped in enumerate(forms):
            if self.blanks[index]:
                by_predicate.setdefault(shaped[0], []).append(index)
        pairs: list[tuple[Any, Any, Any, Any]] = []
        for indexes in by_predicate.values():
            for at, left in enumerate(indexes):
                for right in indexes[at + 1 :]:
                    a, b = forms[left], forms[right]
                    if left not in self.by_quad and right not in self.by_quad:
                        continue  # two constant quads: toRdf made them distinct
                    refs: list[Any] = []
                    for x, y in ((a[1], b[1]), (a[2], b[2])):
                        if x[0] != y[0]:
                            break  # another kind of term, datatype or language: never equal
                        if x[1] is None and y[1] is None and x[2] != y[2]:
                            break
                        if x[0][0] == "blank node" and x[2] != y[2]:
                            break
                        refs.append(x[1] if x[1] is not None else x[2])
                        refs.append(y[1] if y[1] is not None else y[2])
                    else:
                        pairs.append((refs[0], refs[1], refs[2], refs[3]))
        #: (left subject, right subject, left object, right object): a slot as its index, else the
        #: constant text.
        self.pairs = tuple(pairs)

    def _blank_quads_repeat(self, filled: list[str]) -> bool:
        """Whether the slot strings ``filled`` make two quads with a blank node equal."""
        for ls, rs, lo, ro in self.pairs:
            left_s = filled[ls] if ls.__class__ is int else ls
            right_s = filled[rs] if rs.__class__ is int else rs
            if left_s != right_s:
                continue
            left_o = filled[lo] if lo.__class__ is int else lo
            right_o = filled[ro] if ro.__class__ is int else ro
            if left_o == right_o:
                return True
        return False

    def check(self, values: list[str]) -> bool:
        """Whether every value passes the check safe mode makes at its slot's positions."""
        for value, kinds in zip(values, self.slot_kinds, strict=True):
            for kind in kinds:
                if not slot_value_ok(value, kind):
                    return False
        return True

    def may_repeat(self, values: list[str]) -> bool:
        """Whether ``values`` could make two quads equal (then toRdf keeps one: not the compiled path)."""
        return len(set(values)) != len(values) or not self.strings.isdisjoint(values)

    def quads_for(self, values: list[str]) -> list[Quad] | None:
        """The shape's quads with ``values`` in their slots (fresh dicts: URDNA2015 relabels in place);
        ``None`` when a value fails the check safe mode makes at its position."""
        if not self.check(values):
            return None
        out: list[Quad] = []
        check = self.may_repeat(values)
        seen = set(self.fixed_keys) if check else set()
        by_quad, blanks = self.by_quad, self.blanks
        for index, quad in enumerate(self.quads):
            holes = by_quad.get(index)
            blank = blanks[index]
            if holes is None:
                if blank:
                    quad = dict(quad)
                    for name in blank:
                        quad[name] = dict(quad[name])
                out.append(quad)
                continue
            copy = dict(quad)
            for name in blank:
                copy[name] = dict(copy[name])
            for name, slot in holes:
                component = copy[name] = dict(copy[name])
                component["value"] = values[slot]
            if check:
                key = quad_key(copy)
                if key in seen:  # equal strings in two slots: toRdf would have kept one triple
                    continue
                seen.add(key)
            out.append(copy)
        return out

    def canonical(self, values: list[str]) -> str | None:
        """The RDFC-1.0 canonical N-Quads of the shape's document with ``values``, or ``None`` when the
        compiled path does not apply: a value that needs :meth:`check` (then the caller decides), two
        quads with a blank node made equal, or two blank nodes with one first degree hash (then
        URDNA2015 over :meth:`quads_for` decides)."""
        if not self.simple:
            return None
        # The literals joined by NUL (refused in literals, so a safe separator): one control character
        # check and one escaping pass for all of them.
        literals = "\x00".join([values[i] for i in self.literal_slots])
        if _CONTROL_BUT_NUL.search(literals) or literals.count("\x00") >= len(self.literal_slots):
            return None
        # An IRI slot's scheme is part of the shape's key (its marker keeps it), so a value only needs to
        # be free of white space and control characters; slots learned without a scheme get it all.
        if self.iri_slots and _NOT_IN_IRI.search("".join([values[i] for i in self.iri_slots])):
            return None
        for slot in self.unschemed:
            if not _IRIS.fullmatch(values[slot]):
                return None
        if self.pairs and self._blank_quads_repeat(values):
            return None
        args = list(values)
        if self.literal_slots:
            args.extend(_escape(literals).split("\x00"))
        hashes: list[str] = []
        for constant, template in zip(self.constant_hashes, self.hash_templates, strict=True):
            hashes.append(constant if constant is not None else _hash_lines(template(args)))
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        for left, right in pairwise(order):
            if hashes[left] == hashes[right]:
                return None  # not "simple": N-degree hashing decides
        canonical = [""] * len(hashes)
        for rank, blank in enumerate(order):
            canonical[blank] = f"_:c14n{rank}"
        args.extend(canonical)
        lines = self.lines_template(args).split("\n")
        lines.pop()  # after the last line's "\n"
        # Equal lines are equal quads (slots with equal strings): the dataset holds them once.
        return "\n".join(sorted(set(lines))) + "\n"


# Absolute IRIs joined by spaces: stricter than is_absolute (no control characters, no final line feed),
# so every "\n" of a compiled document's lines ends a line.
_IRI_TEXT = r"[A-Za-z][A-Za-z0-9+\-.]*:[^\s\x00-\x1f\x7f]*"
_IRIS = re.compile(rf"{_IRI_TEXT}(?: {_IRI_TEXT})*")
_CONTROL_BUT_NUL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_IN_IRI = re.compile(r"[\s\x00-\x1f\x7f]")


class _Filler:
    """A template: constant texts and argument indexes, filled by one ``itemgetter`` and one join."""

    __slots__ = ("constant", "get", "last", "texts")

    def __init__(self, parts: list[str | int]) -> None:
        texts: list[str] = []
        indexes: list[int] = []
        current = ""
        for part in parts:
            if isinstance(part, str):
                current += part
            else:
                texts.append(current)
                indexes.append(part)
                current = ""
        self.texts = tuple(texts)
        self.last = current
        self.constant = not indexes
        self.get: Any = (
            None
            if not indexes
            else (lambda args, i=indexes[0]: (args[i],))
            if len(indexes) == 1
            else itemgetter(*indexes)
        )

    def __call__(self, args: Any) -> str:
        if self.get is None:
            return self.last
        return "".join(chain.from_iterable(zip(self.texts, self.get(args), strict=True))) + self.last


def _hash_lines(text: str) -> str:
    """RDFC-1.0's hash of N-Quads lines given as one text (each line ends with "\n"): sorted, joined."""
    lines = text.split("\n")
    lines.pop()
    lines.sort()
    return hashlib.sha256(("\n".join(lines) + "\n").encode("utf-8")).hexdigest()


def learn_shape(dataset: dict[str, list[Quad]], slot_markers: dict[str, int]) -> Shape | None:
    """The :class:`Shape` of the RDF ``dataset`` of a skeleton whose markers are ``slot_markers``, or
    ``None`` when the shape cannot be templated (named graphs; a marker that did not come out whole as a
    literal value or an IRI; a slot that vanished)."""
    if set(dataset) != {"@default"}:
        return None  # named graphs: not worth the bookkeeping
    quads = dataset["@default"]
    slots: list[list[tuple[int, str, str]]] = [[] for _ in slot_markers]
    for index, quad in enumerate(quads):
        for name, component in quad.items():
            for field in ("value", "datatype", "language"):
                text = component.get(field)
                if not isinstance(text, str) or MARKER not in text:
                    continue
                slot = slot_markers.get(text)
                kind = component.get("type")
                if slot is None or field != "value" or name == "predicate" or kind not in ("IRI", "literal"):
                    return None
                slots[slot].append((index, name, str(kind)))
    if any(not positions for positions in slots):
        return None
    schemed = frozenset(slot for text, slot in slot_markers.items() if _SCHEME_PREFIX.match(text))
    return Shape(quads, slots, schemed)
