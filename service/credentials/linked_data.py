"""JSON-LD expansion in a safe mode, and RDFC-1.0 canonicalization, over the pinned contexts only.

Safe mode
---------
The W3C credentials v2 context has no ``@vocab``, so a JSON-LD processor silently drops a term it does
not define, and leaves a relative IRI out of the RDF graph. Either way a signature would not cover what
the JSON shows. pyld has no safe mode of its own, so this module builds one from two checks:

1. **Dropped terms.** pyld (3.3) calls a processor's ``on_property_dropped`` handler for every key that
   expansion ignores (an undefined term, a relative or blank-node property, an unknown ``@keyword``).
   Unlike comparing key sets before and after expansion, this also sees keys inside type-scoped and
   property-scoped contexts, ``@nest`` blocks and embedded credentials, and it costs nothing extra.
2. **Relative IRIs and values RDF would lose.** After expansion with no base IRI (``None``: with an
   empty base pyld would resolve against ``http://example.org/base/``, so nothing relative is silently
   made absolute), the expanded tree is walked: every ``@id``, every node ``@type`` and every
   value ``@type`` must be an absolute IRI or a blank node identifier, and no property may be a blank
   node (RDF drops those triples too).

Either failure raises :class:`~service.credentials.errors.SafeModeError` naming the term or IRI.

Canonicalization runs the same expansion (in the same processor, so the checks apply) and pyld's
URDNA2015, which produces RDFC-1.0 output for these documents. String literals containing control
characters other than tab, line feed and carriage return are refused: pyld escapes those differently
from RDFC-1.0's canonical N-Quads, and a signature over them would not verify elsewhere.

Speed
-----
Expansion dominates signing time, and most of it is re-processing the same contexts: the OB context has a
type-scoped context per class, and pyld re-processes each one for every node because the active context it
applies to is a fresh copy every time. Two caches, both private to the :class:`ContextRegistry` and both
holding only outputs that pyld itself computed, make it cheaper without changing a byte of output:

* the remote-context cache: pinned documents are tagged ``static`` so pyld keeps them resolved;
* a processed-context memo: ``_process_context`` results keyed by the identity of the (immutable,
  frozen) active context and of the local context object, plus the flags that influence the result.
  Identity keys are safe because the cache entry holds references to both objects, so an ``id()`` can
  not be reused while the entry exists.

A third cache holds canonical N-Quads of whole documents, keyed by the SHA-256 of the document's exact
JSON serialization (key order included): canonicalization is a pure function of that JSON and of the
registry's pinned contexts, so an identical document gives identical N-Quads. It pays off where the same
JSON is canonicalized again: a proof configuration (same key, same ``created`` second: every credential a
busy issuer signs within one second), a credential verified repeatedly (a QR code scanned by several
partners, a verification page reloaded). Failures (safe mode...) are never cached; documents whose
N-Quads exceed 64 KiB are not kept.

``tests/bench/bench_credentials.py`` measures the ratio (about x5 for canonicalization, x7 for signing).
Byte-identical output is proved by the test vectors, which run with the caches on, and by a test that
canonicalizes every example and fixture with the caches off, cold and warm (and from several threads).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from frozendict import frozendict
from pyld import jsonld as _pyld  # type: ignore[import-untyped]
from pyld.canon import URDNA2015  # type: ignore[import-untyped]
from pyld.context_resolver import ContextResolver  # type: ignore[import-untyped]

from service.credentials.contexts import BoundedCache, ContextRegistry, default_registry
from service.credentials.errors import CredentialError, JsonLdError, SafeModeError, UnknownContextError

__all__ = ["canonicalize", "expand"]

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*:[^\s]*$")
# RDFC-1.0 canonical N-Quads escape these as \b, \f or \uXXXX; pyld does not. Refuse them.
_UNSUPPORTED_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KEYWORDS_WITH_STRING_VALUES = frozenset({"@index", "@language", "@direction"})


def _never_fetch(url: str, options: Any = None) -> Any:
    raise UnknownContextError(url)


# pyld's module-wide default loader fetches over HTTP (requests or aiohttp, when installed). Every call
# here passes the registry's loader; replacing the default too means no code path can ever fetch.
_pyld.set_document_loader(_never_fetch)

# One lock per registry: pyld's per-context caches (cachetools LRU) are not thread-safe, and JSON-LD
# processing is pure Python, so serializing it costs no throughput under the GIL.
_locks: dict[int, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock_for(registry: ContextRegistry) -> threading.RLock:
    with _locks_guard:
        lock = _locks.get(id(registry))
        if lock is None:
            lock = _locks[id(registry)] = threading.RLock()
        return lock


def _is_absolute(iri: str) -> bool:
    return bool(_ABSOLUTE_IRI.match(iri))


def _is_iri_or_blank(iri: str) -> bool:
    return iri.startswith("_:") or _is_absolute(iri)


def _context_key(local_ctx: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """Key parts for a local context: strings by value, objects by identity (and kept alive)."""
    items = local_ctx if isinstance(local_ctx, list) else [local_ctx]
    key: list[Any] = []
    held: list[Any] = []
    for item in items:
        if isinstance(item, str):
            key.append(item)
        elif isinstance(item, dict | frozendict):
            key.append(("obj", id(item)))
            held.append(item)
        else:  # None / False (context reset) and anything unusual: not memoized
            return None
    return tuple(key), tuple(held)


class _SafeProcessor(_pyld.JsonLdProcessor):  # type: ignore[misc]
    """A pyld processor whose ``expand`` enforces safe mode and whose context processing is memoized."""

    def __init__(self, registry: ContextRegistry, *, memoize: bool = True) -> None:
        super().__init__(on_property_dropped=self._record_dropped)
        self._registry = registry
        self._memoize = memoize
        self._dropped: list[str | None] = []

    def _record_dropped(self, expanded_property: str | None) -> None:
        self._dropped.append(expanded_property)

    def expand(self, input_: Any, options: Mapping[str, Any]) -> Any:
        self._dropped = []
        result = super().expand(input_, options)
        if self._dropped:
            names = sorted({term for term in self._dropped if term is not None})
            shown = ", ".join(repr(name) for name in names)
            if None in self._dropped:
                shown += (", " if shown else "") + "a key mapped to null or spelled like an unknown @keyword"
            raise SafeModeError(
                f"undefined term {shown}: not defined by the document's @context, expansion would drop it",
                term=names[0] if names else None,
            )
        _check_expanded(result, "$")
        return result

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        local_ctx = _drop_idle_null_vocab(active_ctx, local_ctx, self._registry)
        try:
            return self._process_context_cached(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        except KeyError as exc:  # pyld's "@vocab": null when no vocabulary is set (a remote context's)
            raise _pyld.JsonLdError(
                f"cannot process the @context: {exc}", "jsonld.SyntaxError", code="invalid local context"
            ) from None

    def _process_context_cached(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool,
        propagate: bool,
        validate_scoped: bool,
        cycles: Any,
    ) -> Any:
        parts = _context_key(local_ctx) if self._memoize and isinstance(active_ctx, frozendict) else None
        if parts is None:
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        ctx_key, held = parts
        key = (
            id(active_ctx),
            ctx_key,
            override_protected,
            propagate,
            validate_scoped,
            options.get("base"),
            options.get("processingMode"),
        )
        cache = self._registry.processed_contexts
        entry = cache.get(key)
        if (
            entry is not None
            and entry[0] is active_ctx
            and len(entry[1]) == len(held)
            and all(a is b for a, b in zip(entry[1], held, strict=True))
        ):
            return entry[2]
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        if isinstance(result, frozendict):  # only immutable results may be shared
            cache[key] = (active_ctx, held, result)
        return result


def _sets_vocab(url: str, registry: ContextRegistry) -> bool:
    try:
        context = registry.document_loader(url)["document"].get("@context")
    except CredentialError:
        return True  # not one of ours: it will be refused anyway; assume the worst meanwhile
    return any(
        isinstance(item, Mapping) and "@vocab" in item
        for item in (context if isinstance(context, list) else [context])
    )


def _drop_idle_null_vocab(active_ctx: Any, local_ctx: Any, registry: ContextRegistry) -> Any:
    """``"@vocab": null`` where no vocabulary can be in effect is a no-op; drop it, because pyld deletes
    the active context's ``@vocab`` unconditionally and fails with a KeyError when there is none (the
    W3C VC 2.0 suite sends ``[VC v2, {"@vocab": null}]``)."""
    items = local_ctx if isinstance(local_ctx, list) else [local_ctx]
    if not any(isinstance(item, Mapping) and item.get("@vocab", 0) is None for item in items):
        return local_ctx
    vocab_possible = isinstance(active_ctx, Mapping) and "@vocab" in active_ctx
    kept: list[Any] = []
    for item in items:
        if item is None:
            vocab_possible = False  # a context reset
        elif not isinstance(item, Mapping):
            vocab_possible = vocab_possible or not isinstance(item, str) or _sets_vocab(item, registry)
        elif "@vocab" in item:
            if item["@vocab"] is None and not vocab_possible:
                item = {key: value for key, value in item.items() if key != "@vocab"}
            else:
                vocab_possible = item["@vocab"] is not None
        kept.append(item)
    return kept if isinstance(local_ctx, list) else kept[0]


def _check_expanded(node: Any, path: str) -> None:
    """Walk expanded JSON-LD and refuse relative IRIs and strings RDFC-1.0 would escape differently."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_expanded(item, f"{path}[{index}]")
        return
    if isinstance(node, str):
        if _UNSUPPORTED_CONTROL.search(node):
            raise SafeModeError(f"string at {path} contains a control character", term=node, path=path)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        value_type = node.get("@type")
        if isinstance(value_type, str) and value_type != "@json" and not _is_absolute(value_type):
            raise SafeModeError(
                f"relative IRI {value_type!r} as the datatype of the value at {path}",
                term=value_type,
                path=path,
            )
        if isinstance(node["@value"], str) and value_type != "@json":
            _check_expanded(node["@value"], f"{path}.@value")
        return
    for key, value in node.items():
        here = f"{path}.{key}"
        if key == "@id":
            if not isinstance(value, str) or not _is_iri_or_blank(value):
                raise SafeModeError(f"relative IRI {value!r} as @id at {path}", term=str(value), path=here)
        elif key == "@type":
            for type_ in value if isinstance(value, list) else [value]:
                if not isinstance(type_, str) or not _is_iri_or_blank(type_):
                    raise SafeModeError(
                        f"relative IRI {type_!r} as @type at {path} (an undefined type term?)",
                        term=str(type_),
                        path=here,
                    )
        elif key in _KEYWORDS_WITH_STRING_VALUES:
            continue
        elif key.startswith("@"):
            _check_expanded(value, here)
        else:
            if key.startswith("_:"):
                raise SafeModeError(f"blank node {key!r} used as a property at {path}", term=key, path=here)
            _check_expanded(value, here)


def _options(registry: ContextRegistry, memoize: bool) -> dict[str, Any]:
    # memoize=False reproduces plain pyld (every operation resolves and processes contexts afresh).
    resolved = registry.resolved_contexts if memoize else BoundedCache(256)
    return {
        "documentLoader": registry.document_loader,
        "contextResolver": ContextResolver(resolved, registry.document_loader),
        "base": None,  # never resolve relative IRIs (pyld would use http://example.org/base/ for "")
        "processingMode": "json-ld-1.1",
    }


def _run(registry: ContextRegistry, memoize: bool, operation: str, document: Mapping[str, Any]) -> Any:
    memoize = memoize and registry.cache
    processor = _SafeProcessor(registry, memoize=memoize)
    options = _options(registry, memoize)
    try:
        with _lock_for(registry):
            if operation == "expand":
                return processor.expand(dict(document), options)
            options.update(algorithm="URDNA2015", format="application/n-quads")
            return processor.normalize(dict(document), options)
    except _pyld.JsonLdError as exc:
        ours = _our_cause(exc)
        if ours is not None:  # e.g. UnknownContextError raised by the loader inside pyld
            raise ours from None
        raise JsonLdError(_describe(exc)) from exc


def _our_cause(exc: BaseException) -> CredentialError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, CredentialError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _describe(exc: BaseException) -> str:
    """Flatten a pyld error chain into one readable message."""
    messages: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).strip()
        details = getattr(current, "details", None)
        if isinstance(details, dict):
            for name in ("term", "url"):
                if isinstance(details.get(name), str):
                    text += f" ({name}: {details[name]})"
        if text and text not in messages:
            messages.append(text)
        current = current.__cause__ or current.__context__
    return "JSON-LD processing failed: " + " <- ".join(messages)


def expand(
    document: Mapping[str, Any], *, registry: ContextRegistry | None = None, memoize: bool = True
) -> list[dict[str, Any]]:
    """Expand a JSON-LD document in safe mode, with the pinned contexts only.

    Raises :class:`SafeModeError` (naming the term or IRI) when a term is undefined or an IRI is
    relative, :class:`UnknownContextError` for a context URL that is not pinned, and
    :class:`JsonLdError` for any other JSON-LD error. ``memoize=False`` turns both context caches off
    (plain pyld behaviour, for benchmarks).
    """
    result = _run(registry or default_registry(), memoize, "expand", document)
    assert isinstance(result, list)
    return result


_MAX_MEMO_NQUADS = 64 * 1024


def _document_key(document: Mapping[str, Any]) -> bytes | None:
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None  # not plain JSON (the processor decides what to do with it): no memo
    return hashlib.sha256(text.encode("utf-8")).digest()


def canonicalize(
    document: Mapping[str, Any],
    *,
    registry: ContextRegistry | None = None,
    memoize: bool = True,
    shapes: bool = True,
) -> str:
    """Return the RDFC-1.0 canonical N-Quads of a JSON-LD document (expanded in safe mode).

    Same errors as :func:`expand`. The output is the exact byte sequence that Data Integrity hashes.
    With the caches on, a document whose shape was seen before skips expansion (see "canonicalization
    by document shape" below); ``shapes=False`` turns only that off (tests compare both paths).
    """
    registry = registry or default_registry()
    key: bytes | None = None
    skeleton: tuple[Any, list[str]] | None = None
    shape_key: bytes | None = None
    if memoize and registry.cache:
        skeleton = _skeleton(document, _context_terms(registry)) if shapes else None
        shape_key = _document_key(skeleton[0]) if skeleton is not None else None
        # With a shape, the document is its skeleton plus its slot strings: keyed by those, one JSON
        # serialization of the document (the skeleton's) serves both caches.
        key = _shaped_key(shape_key, skeleton[1]) if shape_key and skeleton else _document_key(document)
    if key is not None:
        cached = registry.canonical_documents.get(key)
        if isinstance(cached, str):
            return cached
    result = None
    if key is not None and skeleton is not None and shape_key is not None:
        result = _canonicalize_by_shape(skeleton[0], skeleton[1], shape_key, registry)
    if result is None:
        result = _run(registry, memoize, "normalize", document)
    assert isinstance(result, str)
    if key is not None and len(result) <= _MAX_MEMO_NQUADS:
        registry.canonical_documents[key] = result
    return result


# -- canonicalization by document shape ---------------------------------------------------------------
#
# Credentials built from one achievement template differ only in a few strings (ids, dates, hashes,
# evidence text): their JSON-LD expansion and RDF conversion are the same up to those strings. So the
# expensive part (expansion + toRdf, ~85% of canonicalization) runs once per *shape*: the document with
# every slot string replaced by a marker. The shape's RDF quads, with each marker's positions recorded,
# are kept; a document of that shape gets its quads by putting its own strings back, and only RDFC-1.0's
# blank node labelling and sorting (pyld's URDNA2015, the same code as the full path) runs per document.
#
# Why the quads are the same (JSON-LD 1.1 expansion, pyld 3.3): how a string expands depends on the term
# definition of its key (literal with the term's datatype, or IRI), never on the string, except for IRI
# expansion, which looks at a colon, the prefix before it, whether "//" follows it, keywords and term
# names. A slot's marker keeps the string's scheme and "//" (``urn:x-portrait-slot-3``); strings that are
# keywords or term names of a pinned context, blank node labels and ``type`` / ``@``-keyword values are
# kept in the shape. Every marker must come out of the shape's quads unchanged, as a whole literal value
# or a whole IRI (else the shape is not used: a prefix expanded it, @vocab prefixed it, it was embedded in
# an rdf:JSON literal...), and a document's own strings get the checks safe mode would make at those
# positions (absolute IRIs; no control characters in literals): else the full path runs and raises its
# own error. Equal strings in two slots give duplicate quads, which are dropped as toRdf drops them.
# tests/credentials/test_shapes.py compares this path with the full one over generated credentials and the
# OB 3.0 test vector, byte for byte.

_MARKER = "x-portrait-slot-"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*$")
_NOT_TEMPLATABLE = "not templatable"
_SEEN_ONCE = "seen once"
_Component = dict[str, Any]


def _context_terms(registry: ContextRegistry) -> frozenset[str]:
    """Every key of every pinned context (terms, prefixes, keywords): strings that IRI expansion may map."""
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


def _marker(index: int, value: str) -> str:
    colon = value.find(":")
    if colon > 0 and _SCHEME.match(value[:colon]):
        return f"{value[:colon]}:{'//' if value[colon + 1 :].startswith('//') else ''}{_MARKER}{index}"
    return f"{_MARKER}{index}"


def _skeleton(document: Mapping[str, Any], terms: frozenset[str]) -> tuple[Any, list[str]] | None:
    """The document with its slot strings replaced by markers, and the strings; ``None`` when a string
    would have to stay in the shape but looks like a marker (never templated then)."""
    values: list[str] = []

    def walk(node: Any, key: str | None) -> Any:
        if isinstance(node, Mapping):
            return {k: (v if k == "@context" else walk(v, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, key) for item in node]
        if isinstance(node, str):
            keep = (
                key is None
                or key == "type"
                or key.startswith("@")
                or node.startswith(("_:", "@"))
                or node in terms
            )
            if keep:
                if _MARKER in node:
                    raise ValueError(node)
                return node
            values.append(node)
            return _marker(len(values) - 1, node)
        return node

    try:
        return walk(document, None), values
    except ValueError:
        return None


class _Shape:
    """A shape's quads with the positions of each slot: ``(quad, component, kind)``."""

    def __init__(self, quads: list[dict[str, _Component]], slots: list[list[tuple[int, str, str]]]) -> None:
        self.quads = quads
        self.slots = slots
        #: quad index -> [(component, slot)] for the quads that hold a slot.
        self.by_quad: dict[int, list[tuple[str, int]]] = {}
        for slot, positions in enumerate(slots):
            for at, name, _kind in positions:
                self.by_quad.setdefault(at, []).append((name, slot))
        #: The quads without slots, as keys: a slotted quad equal to one of them is a duplicate.
        self.fixed_keys = frozenset(_quad_key(q) for i, q in enumerate(quads) if i not in self.by_quad)
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


def _quad_key(quad: dict[str, _Component]) -> tuple[Any, ...]:
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


def _learn_shape(dataset: dict[str, list[dict[str, _Component]]], markers: dict[str, int]) -> _Shape | None:
    if set(dataset) != {"@default"}:
        return None  # named graphs: not worth the bookkeeping
    quads = dataset["@default"]
    slots: list[list[tuple[int, str, str]]] = [[] for _ in markers]
    for index, quad in enumerate(quads):
        for name, component in quad.items():
            for field in ("value", "datatype", "language"):
                text = component.get(field)
                if not isinstance(text, str) or _MARKER not in text:
                    continue
                slot = markers.get(text)
                kind = component.get("type")
                if slot is None or field != "value" or name == "predicate" or kind not in ("IRI", "literal"):
                    return None
                slots[slot].append((index, name, str(kind)))
    if any(not positions for positions in slots):
        return None
    return _Shape(quads, slots)


def _quads_for(shape: _Shape, values: list[str]) -> list[dict[str, _Component]] | None:
    """The shape's quads with ``values`` in their slots (fresh dicts: URDNA2015 relabels in place);
    ``None`` when a value fails the check safe mode makes at its position."""
    for slot, positions in enumerate(shape.slots):
        value = values[slot]
        for _at, _name, kind in positions:
            if kind == "IRI":
                if not _is_iri_or_blank(value) or value.startswith("_:"):
                    return None
            elif _UNSUPPORTED_CONTROL.search(value):
                return None
    out: list[dict[str, _Component]] = []
    check = len(set(values)) != len(values) or not shape.strings.isdisjoint(values)
    seen = set(shape.fixed_keys) if check else set()
    by_quad, blanks = shape.by_quad, shape.blanks
    for index, quad in enumerate(shape.quads):
        holes = by_quad.get(index)
        blank = blanks[index]
        if holes is None:
            # URDNA2015 relabels blank node components in place (and changes nothing else): those
            # are copied, the rest shared.
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
            key = _quad_key(copy)
            if key in seen:  # equal strings in two slots: toRdf would have kept one triple
                continue
            seen.add(key)
        out.append(copy)
    return out


def _shaped_key(shape_key: bytes, values: list[str]) -> bytes:
    """A document's memo key from its shape's key and its slot strings (the pair determines the
    document: a kept string never contains a marker, see _skeleton)."""
    return hashlib.sha256(b"shape\x00" + shape_key + json.dumps(values).encode("ascii")).digest()


def _canonicalize_by_shape(
    shape_doc: Any, values: list[str], key: bytes, registry: ContextRegistry
) -> str | None:
    """RDFC-1.0 N-Quads through the document's shape (its skeleton ``shape_doc`` with the slot strings
    ``values``, ``key`` the skeleton's key), or ``None`` (then the full path runs)."""
    shape = registry.canonical_shapes.get(key)
    if shape is None:
        # First sighting: only remember it. A shape is learned when a second document has it, so
        # documents of one-off shapes (a transcript, a third party's credential) cost nothing extra.
        registry.canonical_shapes[key] = _SEEN_ONCE
        return None
    if shape is _SEEN_ONCE:
        markers = {_marker(i, value): i for i, value in enumerate(values)}
        processor = _SafeProcessor(registry)
        options = _options(registry, True)
        options["produceGeneralizedRdf"] = False
        try:
            with _lock_for(registry):
                dataset = processor.to_rdf(dict(shape_doc), options)
        except (_pyld.JsonLdError, CredentialError):
            return None  # the full path raises the document's own error
        learned = _learn_shape(dataset, markers)
        shape = learned if learned is not None else _NOT_TEMPLATABLE
        registry.canonical_shapes[key] = shape
    if not isinstance(shape, _Shape):
        return None
    quads = _quads_for(shape, values)
    if quads is None:
        return None
    # The ordering (urdna2015) is pure Python without shared state: no lock needed.
    result = URDNA2015().main(
        {"@default": quads}, {"algorithm": "URDNA2015", "format": "application/n-quads"}
    )
    assert isinstance(result, str)
    return result
