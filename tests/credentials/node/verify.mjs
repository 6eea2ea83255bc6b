// Independent check of credentials signed by service/credentials, with Digital Bazaar's libraries.
//
// Usage: node verify.mjs INPUT.json
// INPUT: {
//   "credential": {...},                 the credential to verify (eddsa-rdfc-2022 Data Integrity)
//   "contexts": {"<url>": {...}},        JSON-LD contexts the JS libraries do not bundle themselves
//   "documents": {"<url>": {...}},       controller (DID) documents and status list credentials
//   "now": "2025-06-01T00:00:00Z"        optional instant for validity checks
// }
// Prints one JSON object: {"verified": bool, "error": ..., "status": ..., "contextSources": {...}}.
// Nothing is fetched: every URL must come from the JS libraries' bundled contexts or from INPUT.
import {readFile} from 'node:fs/promises';
import {gunzipSync} from 'node:zlib';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

const input = JSON.parse(await readFile(process.argv[2], 'utf8'));
const contexts = input.contexts ?? {};
const documents = input.documents ?? {};
const contextSources = {};

const DID_V1 = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

// did:key documents are derived here, from the key in the DID, not taken from the input.
async function didKeyDocument(did) {
  const fingerprint = did.slice('did:key:'.length);
  const key = await Ed25519Multikey.from({
    '@context': MULTIKEY_V1,
    type: 'Multikey',
    controller: did,
    id: `${did}#${fingerprint}`,
    publicKeyMultibase: fingerprint
  });
  const method = await key.export({publicKey: true, includeContext: false});
  return {
    '@context': [DID_V1, MULTIKEY_V1],
    id: did,
    verificationMethod: [method],
    assertionMethod: [method.id],
    authentication: [method.id]
  };
}

async function documentLoader(url) {
  // 1. contexts bundled with @digitalbazaar/vc (their own copies: an independent check of ours)
  try {
    const bundled = await vc.defaultDocumentLoader(url);
    contextSources[url] = 'js-bundled';
    return bundled;
  } catch {
    // not bundled
  }
  // 2. contexts from the input (the pinned copies of service/credentials)
  if(contexts[url]) {
    contextSources[url] = 'input';
    return {contextUrl: null, documentUrl: url, document: contexts[url]};
  }
  // 3. controller documents and their verification methods, status list credentials
  const [base, fragment] = url.split('#');
  let doc = documents[base];
  if(!doc && base.startsWith('did:key:')) {
    doc = await didKeyDocument(base);
  }
  if(doc) {
    if(fragment === undefined) {
      return {contextUrl: null, documentUrl: url, document: doc};
    }
    const method = (doc.verificationMethod ?? []).find(
      m => m.id === url || m.id === `#${fragment}`);
    if(method) {
      return {
        contextUrl: null,
        documentUrl: url,
        document: {'@context': doc['@context'], ...method, id: url}
      };
    }
  }
  throw new Error(`offline document loader: no document for ${url}`);
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
const now = input.now ? new Date(input.now) : new Date();

// Bitstring Status List, checked independently of the Python implementation: the list credential is
// verified like any credential, then the bit is read from its GZIP'd, base64url'd bitstring.
const statusResults = [];
async function checkStatus({credential}) {
  const entries = [].concat(credential.credentialStatus ?? []);
  for(const entry of entries) {
    if(entry.type !== 'BitstringStatusListEntry') {
      return {verified: false, error: new Error(`unsupported status type ${entry.type}`)};
    }
    const list = documents[entry.statusListCredential];
    if(!list) {
      return {verified: false, error: new Error(`no status list ${entry.statusListCredential}`)};
    }
    const listResult = await vc.verifyCredential({
      credential: list, suite, documentLoader, now, checkStatus: async () => ({verified: true})
    });
    if(!listResult.verified) {
      return {verified: false, error: new Error(
        `status list credential does not verify: ${JSON.stringify(listResult.error ?? listResult)}`)};
    }
    const subject = list.credentialSubject;
    if(subject.statusPurpose !== entry.statusPurpose) {
      return {verified: false, error: new Error('statusPurpose mismatch')};
    }
    let encoded = subject.encodedList;
    if(encoded.startsWith('u')) {
      encoded = encoded.slice(1);
    }
    const bits = gunzipSync(Buffer.from(encoded, 'base64url'));
    const index = Number.parseInt(entry.statusListIndex, 10);
    const set = (bits[index >> 3] >> (7 - (index % 8))) & 1;
    statusResults.push({index, purpose: entry.statusPurpose, set: Boolean(set), length: bits.length * 8});
    if(set) {
      return {verified: false, error: new Error(`${entry.statusPurpose} bit ${index} is set`)};
    }
  }
  return {verified: true};
}

function describe(error) {
  if(!error) {
    return null;
  }
  if(Array.isArray(error)) {
    return error.map(describe);
  }
  if(error.errors) {
    return {message: error.message, errors: error.errors.map(describe)};
  }
  return {name: error.name, message: error.message};
}

try {
  const result = await vc.verifyCredential({
    credential: input.credential, suite, documentLoader, now, checkStatus
  });
  const proofErrors = (result.results ?? []).filter(r => !r.verified).map(r => describe(r.error));
  process.stdout.write(JSON.stringify({
    verified: result.verified,
    error: describe(result.error),
    proofErrors,
    statusError: describe(result.statusResult?.error),
    status: statusResults,
    contextSources
  }) + '\n');
} catch(error) {
  process.stdout.write(JSON.stringify({
    verified: false, error: describe(error), status: statusResults, contextSources
  }) + '\n');
}
