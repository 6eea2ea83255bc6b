"""Open Badges 3.0 and CLR 2.0 credentials library (no database or web imports).

Public API, by task:

* **Build** - :class:`OpenBadgeCredential` and its parts (:mod:`.models`); :func:`build_credential`,
  :func:`check_credential` (canonical JSON + official JSON Schema + safe-mode JSON-LD).
* **Sign** - :class:`Signer`, :func:`issue`, :func:`sign_data_integrity` (``eddsa-rdfc-2022``),
  :func:`sign_vc_jwt` (RS256 / ES256 / EdDSA).
* **JSON-LD** - :func:`expand` (safe mode), :func:`canonicalize` (RDFC-1.0 N-Quads),
  :class:`ContextRegistry` (pinned contexts, offline loader).
* **Keys and DIDs** - :func:`generate_private_key`, Multikey / JWK helpers, :func:`did_key`,
  :func:`resolve_did_key`, :func:`did_web_for_issuer`, :func:`build_did_document`, :func:`document_resolver`.
* **Revocation** - :class:`Bitstring`, :class:`BitstringStatusListEntry`,
  :func:`build_status_list_credential`, :func:`check_status`.
* **Verify** - :func:`verify_credential` -> :class:`VerificationResult` with named :class:`Check` items;
  other issuers' keys and status lists through an injected fetcher: :mod:`.remote`
  (:func:`~.remote.verify_with_fetcher`, :func:`~.remote.verify_presentation_with_fetcher`); VC data
  model rules: :mod:`.data_model`.
* **CLR 2.0** - :class:`~.clr.ClrCredential`, :class:`~.clr.ClrSubject`, :class:`~.clr.Association`,
  :func:`~.clr.build_clr_credential` (official CLR schema + safe mode), :func:`~.clr.issue_clr`.
* **Baked images** - :mod:`.baking` (PNG iTXt / SVG ``openbadges:credential``).
"""

from service.credentials.builder import (
    Signer,
    build_credential,
    canonical_problems,
    check_credential,
    issue,
    sign_data_integrity,
    sign_vc_jwt,
)
from service.credentials.contexts import ContextRegistry, default_registry
from service.credentials.data_integrity import add_proof, canonical_inputs, create_proof, verify_proof
from service.credentials.did import (
    IssuerKey,
    build_did_document,
    did_key,
    did_key_verification_method,
    did_web,
    did_web_document_url,
    did_web_for_issuer,
    document_resolver,
    jwks,
    resolve_did_key,
    resolve_did_key_method,
)
from service.credentials.errors import (
    BakingError,
    ContextIntegrityError,
    CredentialError,
    FetchError,
    JsonLdError,
    KeyFormatError,
    KeyResolutionError,
    ProofError,
    SafeModeError,
    SchemaValidationError,
    StatusListError,
    UnknownContextError,
)
from service.credentials.keys import (
    KeyResolver,
    PrivateKey,
    PublicKey,
    VerificationKey,
    generate_private_key,
    jws_algorithm,
    public_key_from_jwk,
    public_key_from_multibase,
    public_key_multibase,
    public_key_to_jwk,
    verification_key_from_document,
)
from service.credentials.linked_data import canonicalize, expand
from service.credentials.models import (
    Achievement,
    AchievementSubject,
    Alignment,
    CredentialSchema,
    Criteria,
    Evidence,
    IdentityObject,
    Image,
    OpenBadgeCredential,
    Profile,
    Result,
    ResultDescription,
    RubricCriterionLevel,
    identity_hash,
)
from service.credentials.schema import schema_errors, schema_for, validate
from service.credentials.status_list import (
    Bitstring,
    BitstringStatusListEntry,
    StatusResult,
    build_status_list_credential,
    check_status,
)
from service.credentials.vc_jwt import encode_vc_jwt, parse_vc_jwt, verify_vc_jwt
from service.credentials.verify import (
    Check,
    StatusChecker,
    VerificationResult,
    verification_methods,
    verify_credential,
)

__all__ = [
    "Achievement",
    "AchievementSubject",
    "Alignment",
    "BakingError",
    "Bitstring",
    "BitstringStatusListEntry",
    "Check",
    "ContextIntegrityError",
    "ContextRegistry",
    "CredentialError",
    "CredentialSchema",
    "Criteria",
    "Evidence",
    "FetchError",
    "IdentityObject",
    "Image",
    "IssuerKey",
    "JsonLdError",
    "KeyFormatError",
    "KeyResolutionError",
    "KeyResolver",
    "OpenBadgeCredential",
    "PrivateKey",
    "Profile",
    "ProofError",
    "PublicKey",
    "Result",
    "ResultDescription",
    "RubricCriterionLevel",
    "SafeModeError",
    "SchemaValidationError",
    "Signer",
    "StatusChecker",
    "StatusListError",
    "StatusResult",
    "UnknownContextError",
    "VerificationKey",
    "VerificationResult",
    "add_proof",
    "build_credential",
    "build_did_document",
    "build_status_list_credential",
    "canonical_inputs",
    "canonical_problems",
    "canonicalize",
    "check_credential",
    "check_status",
    "create_proof",
    "default_registry",
    "did_key",
    "did_key_verification_method",
    "did_web",
    "did_web_document_url",
    "did_web_for_issuer",
    "document_resolver",
    "encode_vc_jwt",
    "expand",
    "generate_private_key",
    "identity_hash",
    "issue",
    "jwks",
    "jws_algorithm",
    "parse_vc_jwt",
    "public_key_from_jwk",
    "public_key_from_multibase",
    "public_key_multibase",
    "public_key_to_jwk",
    "resolve_did_key",
    "resolve_did_key_method",
    "schema_errors",
    "schema_for",
    "sign_data_integrity",
    "sign_vc_jwt",
    "validate",
    "verification_key_from_document",
    "verification_methods",
    "verify_credential",
    "verify_proof",
    "verify_vc_jwt",
]
