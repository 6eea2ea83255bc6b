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

``tests/bench/bench_credentials.py`` measures the ratio (about x5 for canonicalization, x7 for signing);
``tests/bench/bench_canonical.py`` the CPU per distinct credential through the shapes (below).
Byte-identical output is proved by the test vectors, which run with the caches on, and by a test that
canonicalizes every example and fixture with the caches off, cold and warm (and from several threads).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, NoReturn

from frozendict import frozendict
from pyld import jsonld as _pyld  # type: ignore[import-untyped]
from pyld.canon import URDNA2015  # type: ignore[import-untyped]
from pyld.context_resolver import ContextResolver  # type: ignore[import-untyped]

from service.credentials.contexts import BoundedCache, ContextRegistry, default_registry
from service.credentials.errors import CredentialError, JsonLdError, SafeModeError, UnknownContextError
from service.credentials.shapes import (
    UNSUPPORTED_CONTROL,
    Shape,
    context_terms,
    document_key,
    is_absolute,
    is_iri_or_blank,
    learn_shape,
    markers,
    shape_key,
    shaped_key,
)
from service.credentials.shapes import skeleton as shape_skeleton

__all__ = [
    "SafeProcessor",
    "canonicalize",
    "check_expanded",
    "expand",
    "jsonld_options",
    "raise_jsonld_error",
    "registry_lock",
]

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


def registry_lock(registry: ContextRegistry) -> threading.RLock:
    with _locks_guard:
        lock = _locks.get(id(registry))
        if lock is None:
            lock = _locks[id(registry)] = threading.RLock()
        return lock


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


class SafeProcessor(_pyld.JsonLdProcessor):  # type: ignore[misc]
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
        check_expanded(result, "$")
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


def check_expanded(node: Any, path: str) -> None:
    """Walk expanded JSON-LD and refuse relative IRIs and strings RDFC-1.0 would escape differently."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            check_expanded(item, f"{path}[{index}]")
        return
    if isinstance(node, str):
        if UNSUPPORTED_CONTROL.search(node):
            raise SafeModeError(f"string at {path} contains a control character", term=node, path=path)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        value_type = node.get("@type")
        if isinstance(value_type, str) and value_type != "@json" and not is_absolute(value_type):
            raise SafeModeError(
                f"relative IRI {value_type!r} as the datatype of the value at {path}",
                term=value_type,
                path=path,
            )
        if isinstance(node["@value"], str) and value_type != "@json":
            check_expanded(node["@value"], f"{path}.@value")
        return
    for key, value in node.items():
        here = f"{path}.{key}"
        if key == "@id":
            if not isinstance(value, str) or not is_iri_or_blank(value):
                raise SafeModeError(f"relative IRI {value!r} as @id at {path}", term=str(value), path=here)
        elif key == "@type":
            for type_ in value if isinstance(value, list) else [value]:
                if not isinstance(type_, str) or not is_iri_or_blank(type_):
                    raise SafeModeError(
                        f"relative IRI {type_!r} as @type at {path} (an undefined type term?)",
                        term=str(type_),
                        path=here,
                    )
        elif key in _KEYWORDS_WITH_STRING_VALUES:
            continue
        elif key.startswith("@"):
            check_expanded(value, here)
        else:
            if key.startswith("_:"):
                raise SafeModeError(f"blank node {key!r} used as a property at {path}", term=key, path=here)
            check_expanded(value, here)


def jsonld_options(registry: ContextRegistry, memoize: bool) -> dict[str, Any]:
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
    processor = SafeProcessor(registry, memoize=memoize)
    options = jsonld_options(registry, memoize)
    try:
        with registry_lock(registry):
            if operation == "expand":
                return processor.expand(dict(document), options)
            options.update(algorithm="URDNA2015", format="application/n-quads")
            return processor.normalize(dict(document), options)
    except _pyld.JsonLdError as exc:
        raise_jsonld_error(exc)


def raise_jsonld_error(exc: BaseException) -> NoReturn:
    """Raise the error a pyld error stands for: ours when one of ours caused it (e.g. the loader's
    :class:`UnknownContextError`), else a :class:`JsonLdError` with the flattened message."""
    ours = _our_cause(exc)
    if ours is not None:
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
    shaped: tuple[bytes, list[str]] | None = None
    if memoize and registry.cache:
        shaped = shape_key(document, context_terms(registry)) if shapes else None
        # With a shape, the document is its skeleton plus its slot strings: keyed by those, one JSON
        # serialization of the document (the skeleton's) serves both caches.
        key = shaped_key(*shaped) if shaped is not None else document_key(document)
    if key is not None:
        cached = registry.canonical_documents.get(key)
        if isinstance(cached, str):
            return cached
    result = None
    if shaped is not None:
        result = _canonicalize_by_shape(document, shaped[1], shaped[0], registry)
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
# are kept, and compiled into N-Quads line templates (service/credentials/shapes.py): a document of that
# shape gets its canonical N-Quads by putting its own strings into the templates, hashing the few quads of
# each blank node a slot touches (RDFC-1.0's first degree hashes) and sorting the lines. When that is not
# enough (two blank nodes with one first degree hash, or equal strings that make two quads equal), its
# quads with its strings go through pyld's URDNA2015, the same code as the full path.
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
# OB 3.0 test vector, byte for byte; tests/credentials/test_shapes_property.py over random documents
# (hypothesis), the compiled templates included.

_NOT_TEMPLATABLE = "not templatable"
_SEEN_ONCE = "seen once"


def _canonicalize_by_shape(
    document: Mapping[str, Any], values: list[str], key: bytes, registry: ContextRegistry
) -> str | None:
    """RDFC-1.0 N-Quads through the document's shape (``values`` its slot strings, ``key`` its shape's
    key), or ``None`` (then the full path runs)."""
    shape = registry.canonical_shapes.get(key)
    if shape is None:
        # First sighting: only remember it. A shape is learned when a second document has it, so
        # documents of one-off shapes (a transcript, a third party's credential) cost nothing extra.
        registry.canonical_shapes[key] = _SEEN_ONCE
        return None
    if shape is _SEEN_ONCE:
        parts = shape_skeleton(document, context_terms(registry))
        if parts is None:  # pragma: no cover - shape_key found one
            return None
        shape_doc = parts[0]
        processor = SafeProcessor(registry)
        options = jsonld_options(registry, True)
        options["produceGeneralizedRdf"] = False
        try:
            with registry_lock(registry):
                dataset = processor.to_rdf(dict(shape_doc), options)
        except (_pyld.JsonLdError, CredentialError):
            return None  # the full path raises the document's own error
        learned = learn_shape(dataset, markers(values))
        shape = learned if learned is not None else _NOT_TEMPLATABLE
        registry.canonical_shapes[key] = shape
    if not isinstance(shape, Shape):
        return None
    result = shape.canonical(values)
    if result is not None:
        return result
    if not shape.check(values):
        return None  # a value safe mode refuses at its position: the full path raises the error
    quads = shape.quads_for(values)
    if quads is None:  # pragma: no cover - checked above
        return None
    # The ordering (urdna2015) is pure Python without shared state: no lock needed.
    result = URDNA2015().main(
        {"@default": quads}, {"algorithm": "URDNA2015", "format": "application/n-quads"}
    )
    assert isinstance(result, str)
    return result
