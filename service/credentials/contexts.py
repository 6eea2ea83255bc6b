"""Pinned JSON-LD contexts and the offline document loader.

The contexts ship inside this package (``contexts/``); each file is pinned by its SHA-256 and checked
when the registry loads it, so a modified copy is refused instead of silently changing what a signature
covers. The loader never touches the network: a URL that is not pinned raises
:class:`~service.credentials.errors.UnknownContextError`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from service.credentials.errors import ContextIntegrityError, UnknownContextError

CONTEXTS_DIR = Path(__file__).parent / "contexts"

# Context URLs the library uses by name.
VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CLR_V2P0 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_V1 = "https://w3id.org/security/data-integrity/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
ED25519_2020_V1 = "https://w3id.org/security/suites/ed25519-2020/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
UNDEFINED_TERMS_V2 = "https://www.w3.org/ns/credentials/undefined-terms/v2"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


@dataclass(frozen=True)
class PinnedContext:
    """One pinned context: its URL, the file that holds it and the SHA-256 (hex) of that file."""

    url: str
    filename: str
    sha256: str


def _pins(*rows: tuple[str, str, str]) -> dict[str, PinnedContext]:
    return {url: PinnedContext(url, filename, digest) for url, filename, digest in rows}


# Copied byte for byte from ../shared/conformance/contexts (see its PROVENANCE-openbadges.tsv).
PINNED_CONTEXTS: Mapping[str, PinnedContext] = _pins(
    (VC_V2, "w3c_credentials_v2.jsonld", "19ec34cb299205bfe6415caa144492b6e1c3aae2de96fb6161e130ead5cd0a5a"),
    (
        VC_V1,
        "w3c_2018_credentials_v1.jsonld",
        "7d9769715abda5bdec90dbae04dd39807e9d0e232fdb9b13456d78b52624de98",
    ),
    (
        OB_V3P0,
        "ob_v3p0_context-3.0.3.json",
        "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761",
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "ob_v3p0_context-3.0.2.json",
        "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53",
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        "ob_v3p0_context-3.0.1.json",
        "d582f3564282fb3b709136d28412e78e70b678b4dbc2f0221f67d84932748355",
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        "ob_v3p0_context.json",
        "b077fa134d909d92c1dcd1c153f2af1b244aeb415967fdc1467d7fc5dd48ac10",
    ),
    (
        OB_V3P0_EXTENSIONS,
        "ob_v3p0_extensions.json",
        "146f85aa16effd7ca1da8056eb443f53ce1eca8a34186cb062832c0a97d889c3",
    ),
    (
        CLR_V2P0,
        "clr_v2p0_context-2.0.1.json",
        "880f1902d4158f2f33ce06af41b90719977cd1ea337a9de2e41edb3ff5e543d6",
    ),
    (
        "https://purl.imsglobal.org/spec/clr/v2p0/context.json",
        "clr_v2p0_context.json",
        "958ff9dc1a5a18c226579b707eac77c1ef50d7d9ab6c24e7058a3b02663f53a1",
    ),
    (
        MULTIKEY_V1,
        "w3id.org_security_multikey_v1.jsonld",
        "c5f3806f8286920573221938917988a18a4cc5a09e968d29649613c7a1c2b1f6",
    ),
    (
        DATA_INTEGRITY_V1,
        "w3id_security_data-integrity_v1.jsonld",
        "c6e5073f4bd4bf6d08f245736e6f32c29b012860b18583644b2d71e1de862669",
    ),
    (
        DATA_INTEGRITY_V2,
        "w3id_security_data-integrity_v2.jsonld",
        "0f77743daf5b4e8fc067fc5ba5b21044283053aa717fc6b0219843bed3b00363",
    ),
    (
        ED25519_2020_V1,
        "w3id_security_suites_ed25519-2020_v1.jsonld",
        "b9e1ab971fd8bf2c7553e0c4a9438e0b9450afde1ea1ca5b2492368b9f549588",
    ),
    (
        DID_V1,
        "www.w3.org_ns_did_v1.jsonld",
        "a5d5033333d949be83530bb43395f882953cd09c928fb4c3f729673bb837cd3f",
    ),
    (
        STATUS_V1,
        "www.w3.org_ns_credentials_status_v1.jsonld",
        "80885f52d35e31a95bfd2557099bd2e3f8cb52afefa7b2aaa8ae3786e1469409",
    ),
    (
        UNDEFINED_TERMS_V2,
        "www.w3.org_ns_credentials_undefined-terms_v2.jsonld",
        "12ce438d3d024c76ef23fddb6d577f50f0a5b98411336be766adf81619aa4746",
    ),
    # Not in the conformance collection: w3c/vc-data-model@647f43b324:contexts/credentials/examples/v2
    # (the source of the published file; tests/credentials/contexts/PROVENANCE.tsv). It only sets
    # @vocab, exactly as its inline twin {"@vocab": "https://www.w3.org/ns/credentials/examples#"}
    # does; both are accepted under one rule (docs/verification.md).
    (
        EXAMPLES_V2,
        "www.w3.org_ns_credentials_examples_v2.jsonld",
        "57393fbc69d6efb9b9b5dc9cb6b9880b0944360abfe2eaf459c9e58cf2279d7c",
    ),
)


class BoundedCache:
    """A small thread-safe LRU mapping (``get`` / ``[]=``), the interface pyld's context caches use."""

    def __init__(self, maxsize: int) -> None:
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the cached value for ``key`` (marking it recently used), or ``default``."""
        with self._lock:
            try:
                self._data.move_to_end(key)
            except KeyError:
                return default
            return self._data[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)

    def __getitem__(self, key: Any) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()


_MISSING = object()


class ContextRegistry:
    """The pinned contexts, loaded once and checked against their SHA-256 pins.

    ``directory`` and ``pins`` default to the files shipped in this package; tests pass a copy to prove
    that a tampered file is refused. The registry also owns the JSON-LD processing caches (resolved
    contexts and processed active contexts), so that they can only ever hold these pinned documents;
    ``cache=False`` turns them off (plain pyld behaviour, for benchmarks and comparisons).
    """

    def __init__(
        self,
        directory: Path = CONTEXTS_DIR,
        pins: Mapping[str, PinnedContext] = PINNED_CONTEXTS,
        *,
        cache: bool = True,
    ) -> None:
        self._documents: dict[str, dict[str, Any]] = {}
        for url, pin in pins.items():
            path = directory / pin.filename
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise ContextIntegrityError(f"pinned context {url!r} is missing ({path})") from exc
            digest = hashlib.sha256(raw).hexdigest()
            if digest != pin.sha256:
                raise ContextIntegrityError(
                    f"pinned context {url!r} ({pin.filename}) has SHA-256 {digest}, expected {pin.sha256}"
                )
            document = json.loads(raw)
            if not isinstance(document, dict) or "@context" not in document:
                raise ContextIntegrityError(f"pinned context {url!r} is not a JSON-LD context document")
            self._documents[url] = document
        self.cache = cache
        # pyld's shared resolved-context cache, private to this registry (see jsonld.py).
        self.resolved_contexts = BoundedCache(256)
        # Processed active contexts, memoized by jsonld.py (identity keyed; see _CachingProcessor).
        self.processed_contexts = BoundedCache(4096)
        # Canonical N-Quads of whole documents, keyed by the SHA-256 of their exact JSON (linked_data.py).
        self.canonical_documents = BoundedCache(2048)
        # Document shapes: RDF quads with slots for the strings that vary (linked_data.py).
        self.canonical_shapes = BoundedCache(512)

    @property
    def urls(self) -> frozenset[str]:
        """The pinned context URLs."""
        return frozenset(self._documents)

    def __contains__(self, url: object) -> bool:
        return url in self._documents

    def get(self, url: str) -> dict[str, Any]:
        """Return a private deep copy of the context document at ``url``.

        Raises :class:`UnknownContextError` when the URL is not pinned.
        """
        try:
            document = self._documents[url]
        except KeyError:
            raise UnknownContextError(url) from None
        return copy.deepcopy(document)

    def contexts(self) -> dict[str, dict[str, Any]]:
        """Every pinned context as ``{url: document}`` (copies), e.g. to hand to another verifier."""
        return {url: self.get(url) for url in sorted(self._documents)}

    def document_loader(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A pyld document loader over the pinned contexts: offline, raises on any other URL.

        The remote document is tagged ``static`` so that pyld keeps the resolved context in its shared
        cache (which we give it per registry) instead of re-resolving it for every operation.
        """
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": self.get(url),
            "tag": "static",
        }


@lru_cache(maxsize=1)
def default_registry() -> ContextRegistry:
    """The registry of the contexts shipped in this package (loaded and hash-checked once)."""
    return ContextRegistry()
