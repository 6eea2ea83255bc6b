"""RDFC-1.0 canonical N-Quads of a ClrCredential, with its embedded credentials processed once.

A ClrCredential embeds signed credentials (``credentialSubject.verifiableCredential``) verbatim; in a
transcript they are 90% of the document, and the same badges and records come back in every transcript of
a learner. :func:`canonicalize` here returns exactly what
:func:`service.credentials.linked_data.canonicalize` returns for the whole document (same safe mode, same
pinned contexts, same bytes), but reuses, per embedded credential, the work that only depends on it:

* its JSON-LD expansion **in the active context it is expanded in** (the key holds the identity of that
  immutable, memoized active context, and the SHA-256 of the credential's exact JSON); the CLR context
  maps ``verifiableCredential`` to a plain ``@set`` (no ``@graph``, no context reset), so an embedded
  credential is a node of the default graph whose expansion depends on the outer context, hence the key;
* its RDF triples (blank nodes labelled locally; a proof graph keeps its blank graph name);
* RDFC-1.0's "hash first degree quads" of each of its blank nodes: such a blank node only occurs in the
  credential's own quads, so the hash is the same alone and inside the transcript.

The document's dataset is then the union of the outer triples (the embedded credentials replaced by
references to their ``id``, which keeps the ``verifiableCredential`` link) and each credential's triples
with its blank nodes renamed apart, duplicates removed (the IRI nodes they share with the outer document,
e.g. the learner or a course, merge as they do in a JSON-LD node map); pyld's URDNA2015 (RDFC-1.0) then
labels and sorts it as usual. RDFC-1.0 output depends only on the dataset, not on the input labels.

Anything unusual takes the plain path (no difference in output, only in time): an embedded credential that
is a string (JWS) or has no absolute IRI ``id``, a document with explicit blank node ids, a registry
without caches. Tests compare both paths byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from frozendict import frozendict
from pyld import jsonld as _pyld  # type: ignore[import-untyped]
from pyld.canon import URDNA2015  # type: ignore[import-untyped]
from pyld.identifier_issuer import IdentifierIssuer  # type: ignore[import-untyped]
from pyld.nquads import serialize_nquad  # type: ignore[import-untyped]

from service.credentials.contexts import BoundedCache, ContextRegistry, default_registry
from service.credentials.errors import CredentialError
from service.credentials.linked_data import (
    SafeProcessor,
    check_expanded,
    jsonld_options,
    raise_jsonld_error,
    registry_lock,
)
from service.credentials.linked_data import canonicalize as plain_canonicalize
from service.credentials.shapes import (
    MARKER,
    context_terms,
    markers,
    shape_key,
    skeleton,
    slot_value_ok,
)

__all__ = ["canonicalize"]

# (graph, subject, predicate, object kind, object value, datatype, language); kinds "I" IRI, "B" blank
# node, "L" literal; graph None for the default graph. Subjects: IRIs as written, blank nodes "_:...".
_Quad = tuple[str | None, str, str, str, str, str | None, str | None]


@dataclass(frozen=True)
class _Piece:
    """One embedded credential, processed: its node id, its quads that involve a blank node (local
    labels), its other quads already as canonical N-Quads lines (blank node labelling cannot change
    them), and the first degree hash of each of its blank nodes."""

    id: str
    quads: tuple[_Quad, ...]
    lines: tuple[str, ...]
    hashes: Mapping[str, str]


_pieces = BoundedCache(2048)
_shapes = BoundedCache(1024)
_SEEN_ONCE = "seen once"
_NOT_TEMPLATABLE = "not templatable"

# Positions of a slot in a piece's quads: (quad index, 1 = subject / 4 = object value, "I" IRI or "L").
_Slot = tuple[int, int, str]


@dataclass(frozen=True)
class _PieceShape:
    """The quads of an embedded credential's *shape* (its slot strings replaced by markers, as
    :mod:`linked_data`'s canonicalization by document shape does): quads without a slot are kept as they
    are (IRI-only ones already as N-Quads lines), and each slot's positions in the others."""

    id_slot: int
    fixed_lines: tuple[str, ...]
    fixed_blank: tuple[_Quad, ...]
    slotted: tuple[tuple[_Quad, tuple[tuple[int, int], ...]], ...]
    slots: tuple[tuple[_Slot, ...], ...]
    #: First degree hashes when no blank node quad holds a slot (they cannot differ then).
    hashes: Mapping[str, str] | None

    def piece(self, values: list[str]) -> _Piece | None:
        """The piece of a credential of this shape with ``values`` in its slots; ``None`` when a value
        fails the check safe mode makes at its position (the full path then raises its own error)."""
        for slot, positions in enumerate(self.slots):
            value = values[slot]
            for _at, _where, kind in positions:
                if not slot_value_ok(value, "IRI" if kind == "I" else "literal"):
                    return None
        node_id = values[self.id_slot]
        if not _pyld._is_absolute_iri(node_id):
            return None
        lines = list(self.fixed_lines)
        blank = list(self.fixed_blank)
        seen_lines = set(lines)
        seen_blank = set(blank)
        changed_blank = False
        for quad, holes in self.slotted:
            filled = list(quad)
            for where, slot in holes:
                filled[where] = values[slot]
            new: _Quad = tuple(filled)  # type: ignore[assignment]
            if _involves_blank(new):
                changed_blank = True
                if new not in seen_blank:  # equal strings in two slots: toRdf keeps one triple
                    seen_blank.add(new)
                    blank.append(new)
            else:
                line = serialize_nquad(_quad_to_triple(new, None), new[0])
                if line not in seen_lines:
                    seen_lines.add(line)
                    lines.append(line)
        quads = tuple(blank)
        hashes = self.hashes if self.hashes is not None and not changed_blank else _first_degree_hashes(quads)
        return _Piece(node_id, quads, tuple(lines), hashes)


class _Embedded(dict[str, Any]):
    """An embedded credential in the document handed to pyld: pyld deep-copies its input, this object
    stays itself (so the expansion hook recognises it, and costs no copy). It is never mutated: a cache
    miss expands a deep copy."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Embedded:
        return self


def _triple_to_quad(graph: str | None, triple: Mapping[str, Any]) -> _Quad:
    s, p, o = triple["subject"], triple["predicate"], triple["object"]
    if o["type"] == "IRI":
        kind = "I"
    elif o["type"] == "blank node":
        kind = "B"
    else:
        kind = "L"
    subject = s["value"]
    if s["type"] == "IRI" and subject.startswith("_:"):  # pragma: no cover - pyld never makes these
        raise ValueError("IRI subject spelled like a blank node")
    return (graph, subject, p["value"], kind, o["value"], o.get("datatype"), o.get("language"))


def _involves_blank(quad: _Quad) -> bool:
    graph = quad[0]
    return (graph is not None and graph.startswith("_:")) or quad[1].startswith("_:") or quad[3] == "B"


def _quad_to_triple(quad: _Quad, rename: Mapping[str, str] | None) -> dict[str, Any]:
    _, subject, predicate, kind, value, datatype, language = quad
    if subject.startswith("_:"):
        s = {"type": "blank node", "value": rename[subject] if rename else subject}
    else:
        s = {"type": "IRI", "value": subject}
    if kind == "I":
        o: dict[str, Any] = {"type": "IRI", "value": value}
    elif kind == "B":
        o = {"type": "blank node", "value": rename[value] if rename else value}
    else:
        o = {"type": "literal", "value": value, "datatype": datatype}
        if language is not None:
            o["language"] = language
    return {"subject": s, "predicate": {"type": "IRI", "value": predicate}, "object": o}


class _Canon(URDNA2015):  # type: ignore[misc]
    """pyld's URDNA2015 with first degree hashes known in advance for some blank nodes."""

    def __init__(self, known: Mapping[str, str]) -> None:
        super().__init__()
        self._known = known

    def hash_first_degree_quads(self, id_: str) -> str:
        known = self._known.get(id_)
        if known is not None:
            self.blank_node_info[id_]["hash"] = known
            return known
        result: str = super().hash_first_degree_quads(id_)
        return result


def _first_degree_hashes(quads: tuple[_Quad, ...]) -> dict[str, str]:
    """RDFC-1.0 first degree hashes of the blank nodes of ``quads`` (as pyld computes them)."""
    dataset: dict[str, list[dict[str, Any]]] = {}
    for quad in quads:
        dataset.setdefault(quad[0] or "@default", []).append(_quad_to_triple(quad, None))
    canon = URDNA2015()
    for graph_name, triples in dataset.items():  # main()'s step 2, as pyld writes it
        name = None if graph_name == "@default" else graph_name
        for triple in triples:
            if name is not None:
                triple["name"] = {"type": "blank node" if name.startswith("_:") else "IRI", "value": name}
            for key, component in triple.items():
                if key == "predicate" or component["type"] != "blank node":
                    continue
                canon.blank_node_info.setdefault(component["value"], {"quads": []})["quads"].append(triple)
    return {label: canon.hash_first_degree_quads(label) for label in canon.blank_node_info}


class _ComposingProcessor(SafeProcessor):
    """The safe-mode processor, expanding each :class:`_Embedded` credential once per active context."""

    def __init__(self, registry: ContextRegistry) -> None:
        super().__init__(registry, memoize=True)
        self.pieces: list[_Piece] = []
        self.fallback = False
        self.links: list[str] = []
        self._refs: dict[int, dict[str, str]] = {}

    def expand(self, input_: Any, options: Mapping[str, Any]) -> Any:
        """Safe-mode expansion, then the references to reused pieces taken out of the default graph's
        nodes and kept as ``<node> <property> <piece>`` lines: pyld's node map would compare each with
        all the others of the same property (quadratic in the number of embedded credentials)."""
        result = super().expand(input_, options)
        if self._refs:
            self._take_links(result, in_default=True)
        return result

    def _take_links(self, node: Any, *, in_default: bool) -> None:
        if isinstance(node, list):
            for item in node:
                self._take_links(item, in_default=in_default)
            return
        if not isinstance(node, dict):
            return
        node_id = node.get("@id")
        subject = (
            node_id
            if in_default
            and isinstance(node_id, str)
            and not node_id.startswith("_:")
            and "@value" not in node
            else None
        )
        for key in list(node):
            values = node[key]
            if key.startswith("@"):
                self._take_links(values, in_default=in_default and key != "@graph")
                continue
            if subject is None or not isinstance(values, list):
                self._take_links(values, in_default=in_default)
                continue
            kept = []
            for value in values:
                ref = self._refs.get(id(value)) if isinstance(value, dict) else None
                if ref is not None and ref is value:
                    self.links.append(
                        serialize_nquad(
                            {
                                "subject": {"type": "IRI", "value": subject},
                                "predicate": {"type": "IRI", "value": key},
                                "object": {"type": "IRI", "value": ref["@id"]},
                            }
                        )
                    )
                else:
                    kept.append(value)
                    self._take_links(value, in_default=in_default)
            if len(kept) != len(values):
                if kept:
                    node[key] = kept
                else:
                    del node[key]

    def _reference(self, node_id: str) -> dict[str, str]:
        ref = {"@id": node_id}
        self._refs[id(ref)] = ref
        return ref

    def _expand(
        self,
        active_ctx: Any,
        active_property: Any,
        element: Any,
        options: Any,
        inside_list: bool = False,
        inside_index: bool = False,
        type_scoped_ctx: Any = None,
    ) -> Any:
        if not isinstance(element, _Embedded):
            return super()._expand(
                active_ctx, active_property, element, options, inside_list, inside_index, type_scoped_ctx
            )
        if not isinstance(active_ctx, frozendict) or inside_list or inside_index:
            self.fallback = True
            return super()._expand(
                active_ctx,
                active_property,
                copy.deepcopy(dict(element)),
                options,
                inside_list,
                inside_index,
                type_scoped_ctx,
            )
        digest = hashlib.sha256(orjson.dumps(element)).digest()
        key = (id(self._registry), id(active_ctx), id(type_scoped_ctx), active_property, digest)
        entry = _pieces.get(key)
        if (
            entry is not None
            and entry[0] is self._registry
            and entry[1] is active_ctx
            and entry[2] is (type_scoped_ctx)
        ):
            piece: _Piece = entry[3]
            self.pieces.append(piece)
            return self._reference(piece.id)
        shaped = self._shaped_piece(active_ctx, active_property, element, options, type_scoped_ctx)
        if shaped is not None:
            _pieces[key] = (self._registry, active_ctx, type_scoped_ctx, shaped)
            self.pieces.append(shaped)
            return self._reference(shaped.id)
        dropped = len(self._dropped)
        expanded = super()._expand(
            active_ctx,
            active_property,
            copy.deepcopy(dict(element)),
            options,
            inside_list,
            inside_index,
            type_scoped_ctx,
        )
        node_id = expanded.get("@id") if isinstance(expanded, dict) else None
        if (
            len(self._dropped) != dropped
            or not isinstance(node_id, str)
            or not _pyld._is_absolute_iri(node_id)
            or node_id.startswith("_:")
        ):
            self.fallback = True  # the plain path decides (and raises what it raises)
            return expanded
        check_expanded(expanded, f"$.credentialSubject.{active_property}")
        piece = self._piece(node_id, expanded, options)
        _pieces[key] = (self._registry, active_ctx, type_scoped_ctx, piece)
        self.pieces.append(piece)
        return self._reference(node_id)

    def _shaped_piece(
        self, active_ctx: Any, active_property: Any, element: _Embedded, options: Any, type_scoped_ctx: Any
    ) -> _Piece | None:
        """The piece of a credential whose shape was seen before (a cohort's records and badges of one
        achievement): its quads from the shape's, with its own strings put back; ``None`` when the
        shape is new (only remembered then: learned on its second sighting) or not templatable."""
        terms = context_terms(self._registry)
        shaped = shape_key(element, terms)
        if shaped is None:
            return None
        digest, values = shaped
        key = (id(self._registry), id(active_ctx), id(type_scoped_ctx), active_property, digest)
        entry = _shapes.get(key)
        if (
            entry is None
            or entry[0] is not self._registry
            or entry[1] is not active_ctx
            or entry[2] is not (type_scoped_ctx)
        ):
            _shapes[key] = (self._registry, active_ctx, type_scoped_ctx, _SEEN_ONCE)
            return None
        shape = entry[3]
        if shape is _SEEN_ONCE:
            parts = skeleton(element, terms)
            learned = (
                None
                if parts is None
                else self._learn_shape(
                    active_ctx, active_property, parts[0], values, options, type_scoped_ctx
                )
            )
            shape = learned if learned is not None else _NOT_TEMPLATABLE
            _shapes[key] = (self._registry, active_ctx, type_scoped_ctx, shape)
        if not isinstance(shape, _PieceShape):
            return None
        return shape.piece(values)

    def _learn_shape(
        self,
        active_ctx: Any,
        active_property: Any,
        shape_doc: dict[str, Any],
        values: list[str],
        options: Any,
        type_scoped_ctx: Any,
    ) -> _PieceShape | None:
        slot_markers = markers(values)
        dropped = len(self._dropped)
        try:
            expanded = super()._expand(
                active_ctx, active_property, copy.deepcopy(shape_doc), options, False, False, type_scoped_ctx
            )
            if len(self._dropped) != dropped:
                return None
            check_expanded(expanded, "$")
        except (_pyld.JsonLdError, CredentialError):
            return None
        finally:
            del self._dropped[dropped:]
        node_id = expanded.get("@id") if isinstance(expanded, dict) else None
        id_slot = slot_markers.get(node_id) if isinstance(node_id, str) else None
        if id_slot is None:
            return None
        quads = self._quads(expanded, options)
        positions: list[list[_Slot]] = [[] for _ in slot_markers]
        fixed_lines: list[str] = []
        fixed_blank: list[_Quad] = []
        slotted: list[tuple[_Quad, tuple[tuple[int, int], ...]]] = []
        for index, quad in enumerate(quads):
            holes: list[tuple[int, int]] = []
            for where, text in enumerate(quad):
                if not isinstance(text, str) or MARKER not in text:
                    continue
                slot = slot_markers.get(text)
                if slot is None or where not in (1, 4) or (where == 4 and quad[3] == "B"):
                    return None  # a marker inside a longer string, or in a graph name, datatype...
                positions[slot].append((index, where, "I" if where == 1 or quad[3] == "I" else "L"))
                holes.append((where, slot))
            if holes:
                slotted.append((quad, tuple(holes)))
            elif _involves_blank(quad):
                fixed_blank.append(quad)
            else:
                fixed_lines.append(serialize_nquad(_quad_to_triple(quad, None), quad[0]))
        if any(not found for found in positions):
            return None
        blank_slotted = any(_involves_blank(quad) for quad, _ in slotted)
        return _PieceShape(
            id_slot=id_slot,
            fixed_lines=tuple(dict.fromkeys(fixed_lines)),
            fixed_blank=tuple(dict.fromkeys(fixed_blank)),
            slotted=tuple(slotted),
            slots=tuple(tuple(p) for p in positions),
            hashes=None if blank_slotted else _first_degree_hashes(tuple(dict.fromkeys(fixed_blank))),
        )

    def _quads(self, expanded: dict[str, Any], options: Any) -> list[_Quad]:
        issuer = IdentifierIssuer("_:b")
        node_map: dict[str, Any] = {"@default": {}}
        self._create_node_map([expanded], node_map, "@default", issuer)
        quads: list[_Quad] = []
        rdf_options = {**options, "produceGeneralizedRdf": False}
        for graph_name, graph in sorted(node_map.items()):
            if graph_name == "@default" or _pyld._is_absolute_iri(graph_name):
                name = None if graph_name == "@default" else graph_name
                for triple in self._graph_to_rdf(graph, issuer, rdf_options):
                    quads.append(_triple_to_quad(name, triple))
        return quads

    def _piece(self, node_id: str, expanded: dict[str, Any], options: Any) -> _Piece:
        quads = self._quads(expanded, options)
        blank = tuple(quad for quad in quads if _involves_blank(quad))
        lines = tuple(
            serialize_nquad(_quad_to_triple(quad, None), quad[0])
            for quad in quads
            if not _involves_blank(quad)
        )
        return _Piece(node_id, blank, lines, _first_degree_hashes(blank))


_EMBEDDED_LISTS = ("verifiableCredential", "achievement")


def _wrapped(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The document with its embedded credentials (and achievement definitions) marked, or None when
    the plain path must run."""
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping):
        return None
    embedded = subject.get("verifiableCredential")
    if not isinstance(embedded, list) or not embedded:
        return None
    if not all(isinstance(item, Mapping) for item in embedded):
        return None
    try:
        text = orjson.dumps(document)
    except TypeError:
        return None  # not plain JSON: the plain path decides
    if b'"_:' in text:  # a blank node id written out (or a string that looks like one): no shortcuts
        return None
    marked = dict(subject)
    for name in _EMBEDDED_LISTS:
        items = subject.get(name)
        if isinstance(items, list):
            marked[name] = [_Embedded(item) if isinstance(item, Mapping) else item for item in items]
    return {**document, "credentialSubject": marked}


def canonicalize(document: Mapping[str, Any], *, registry: ContextRegistry | None = None) -> str:
    """The RDFC-1.0 canonical N-Quads of ``document`` (byte for byte those of
    :func:`service.credentials.linked_data.canonicalize`), faster for a document that embeds credentials
    seen before. Same errors."""
    registry = registry or default_registry()
    wrapped = _wrapped(document) if registry.cache else None
    if wrapped is None:
        return plain_canonicalize(document, registry=registry)
    processor = _ComposingProcessor(registry)
    options = jsonld_options(registry, True)
    options.update(produceGeneralizedRdf=False)
    try:
        with registry_lock(registry):
            dataset = processor.to_rdf(wrapped, options)
    except _pyld.JsonLdError as exc:
        raise_jsonld_error(exc)
    if processor.fallback:
        return plain_canonicalize(document, registry=registry)
    return _compose(dataset, processor.pieces, processor.links)


def _compose(dataset: dict[str, list[dict[str, Any]]], pieces: list[_Piece], links: list[str]) -> str:
    """Canonical N-Quads of the outer dataset plus the pieces: the quads with blank nodes go through
    URDNA2015 (with the pieces' first degree hashes known), the others are already final lines; both
    sorted together, duplicates once (as the node map merges them in the plain path)."""
    seen: set[str] = set()
    for graph_name, triples in dataset.items():
        name = None if graph_name == "@default" else graph_name
        for triple in triples:
            quad = _triple_to_quad(name, triple)
            if not _involves_blank(quad):
                seen.add(serialize_nquad(triple, name))
    extra: list[str] = []
    for line in links:
        if line not in seen:
            seen.add(line)
            extra.append(line)
    known: dict[str, str] = {}
    for index, piece in enumerate(pieces):
        for line in piece.lines:
            if line not in seen:
                seen.add(line)
                extra.append(line)
        prefix = f"_:e{index}x"
        rename = {label: prefix + label[2:] for label in piece.hashes}
        for label, digest in piece.hashes.items():
            known[rename[label]] = digest
        for quad in piece.quads:
            graph = quad[0]
            graph_name = "@default" if graph is None else (rename[graph] if graph.startswith("_:") else graph)
            dataset.setdefault(graph_name, []).append(_quad_to_triple(quad, rename))
    result = _Canon(known).main(dataset, {"format": "application/n-quads"})
    assert isinstance(result, str)
    if not extra:
        return result
    # N-Quads escape line feeds inside literals: every line of the result ends with the only "\n".
    lines = [line + "\n" for line in result.split("\n")[:-1]]
    lines.extend(extra)
    lines.sort()
    return "".join(lines)
