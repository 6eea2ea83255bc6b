// A minimal W3C VC-API issuer on Digital Bazaar's libraries, for tests/bench/bench_vc_api.py.
//
// Usage: node vc_api_issuer.mjs PORT CONTEXTS.json
// CONTEXTS.json: {"<url>": {...}} the pinned JSON-LD contexts (Portrait's own copies), served from memory
// together with the contexts @digitalbazaar/vc bundles; nothing is fetched.
// POST /credentials/issue {"credential": {...}} -> 201 {"verifiableCredential": {...}} signed with
// eddsa-rdfc-2022 by an Ed25519 Multikey generated at start (issuer: its did:key). GET /health -> 200.
import {createServer} from 'node:http';
import {readFile} from 'node:fs/promises';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

const port = Number(process.argv[2]);
const contexts = JSON.parse(await readFile(process.argv[3], 'utf8'));

async function documentLoader(url) {
  if(contexts[url]) {
    return {contextUrl: null, documentUrl: url, document: contexts[url]};
  }
  return vc.defaultDocumentLoader(url);
}

const keyPair = await Ed25519Multikey.generate();
const did = `did:key:${keyPair.publicKeyMultibase}`;
keyPair.controller = did;
keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: eddsaRdfc2022});

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)});
  res.end(text);
}

createServer((req, res) => {
  if(req.method === 'GET' && req.url === '/health') {
    return send(res, 200, {status: 'ok'});
  }
  if(req.method !== 'POST' || req.url !== '/credentials/issue') {
    return send(res, 404, {error: 'not found'});
  }
  const chunks = [];
  req.on('data', chunk => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const {credential} = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      credential.issuer = credential.issuer ?? did;
      const verifiableCredential = await vc.issue({credential, suite, documentLoader});
      send(res, 201, {verifiableCredential});
    } catch(e) {
      send(res, 400, {error: String(e && e.message || e)});
    }
  });
}).listen(port, '127.0.0.1');
