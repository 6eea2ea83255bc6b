"""The signing pool's batching (service.badges.signing._Batcher): concurrent requests' jobs travel to
the workers several to a message, each gets its own signed document or its own error, and a job sent
with a worker free goes at once, alone."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from service.badges import signing
from service.credentials import (
    Signer,
    did_key,
    did_key_verification_method,
    resolve_did_key_method,
    verify_credential,
)
from service.credentials.errors import SafeModeError


def _signer() -> Signer:
    private = ed25519.Ed25519PrivateKey.generate()
    return Signer(verification_method=did_key_verification_method(private.public_key()), private_key=private)


def _document(signer: Signer, n: int, **extra: Any) -> dict[str, Any]:
    public = signer.private_key.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": did_key(public),
        "credentialSubject": {"id": f"did:example:learner-{n}"},
        **extra,
    }


async def test_concurrent_jobs_share_messages_and_each_gets_its_own_result() -> None:
    signers = [_signer(), _signer()]  # two keys in the same messages
    documents = [(signers[n % 2], _document(signers[n % 2], n)) for n in range(12)]
    bad = _document(signers[0], 99, undefinedTerm="x")  # safe mode refuses it, and only it
    batcher = signing._batcher()
    messages, jobs = batcher.messages, batcher.jobs

    results = await asyncio.gather(
        *(
            signing.sign_json(doc, signer, created=None, check=False, processes=2)
            for signer, doc in documents
        ),
        signing.sign_json(bad, signers[0], created=None, check=False, processes=2),
        return_exceptions=True,
    )

    assert batcher.jobs - jobs == 13
    # Two sent at once (one per worker), the other eleven queued meanwhile and sent together.
    assert batcher.messages - messages < 13
    assert isinstance(results[-1], SafeModeError)
    for n, ((signer, _), result) in enumerate(zip(documents, results[:-1], strict=True)):
        assert isinstance(result, bytes), result
        signed = orjson.loads(result)
        assert signed["credentialSubject"]["id"] == f"did:example:learner-{n}"
        assert signed["proof"][0]["verificationMethod"] == signer.verification_method
        checked = verify_credential(signed, resolve_key=resolve_did_key_method)
        assert checked.check("proof").ok, [c.to_json() for c in checked.checks]


async def test_one_job_in_flight_is_sent_alone_at_once() -> None:
    signer = _signer()
    batcher = signing._batcher()
    for n in range(3):
        messages, jobs = batcher.messages, batcher.jobs
        signed = await signing.sign(_document(signer, n), signer, created=None, check=False, processes=2)
        assert (batcher.messages - messages, batcher.jobs - jobs) == (1, 1)
        assert signed["credentialSubject"]["id"] == f"did:example:learner-{n}"
        assert batcher.running == 0 and not batcher.queue


async def test_without_a_pool_jobs_run_in_a_thread_and_fail_alone() -> None:
    signer = _signer()
    with pytest.raises(SafeModeError):
        await signing.sign_json(
            _document(signer, 1, undefinedTerm="x"), signer, created=None, check=False, processes=0
        )
    signed = orjson.loads(
        await signing.sign_json(_document(signer, 2), signer, created=None, check=False, processes=0)
    )
    assert signed["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
