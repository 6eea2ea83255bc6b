#!/usr/bin/env bash
# Run the public W3C test suites (VC Data Model 2.0, vc-di-eddsa, Bitstring Status List) against a
# local Portrait server with the demo district, and print passed/failed/pending per suite.
#
#   tests/bench/w3c_suites.sh            # clone (first time), npm install, serve, run all three suites
#   tests/bench/w3c_suites.sh vc-di-eddsa-test-suite    # only the named suites
#
# Needs git, node >= 18 with npm, network access to GitHub (clone) and to the npm registry (install),
# and the project's .venv (`python3 dev.py install`). Nothing it fetches is committed: it all lives
# under var/w3c-suites/ (git-ignored). Not part of `dev.py test`: CI cannot count on reaching GitHub.
#
# Environment:
#   W3C_SUITES_DIR     where the suites are cloned (default: var/w3c-suites in the repository)
#   W3C_GIT_URL        clone URL template, {owner} and {name} are replaced
#                      (default https://github.com/{owner}/{name}.git; a local mirror works too)
#   W3C_SUITES_LATEST  set to 1 to run the suites' newest commits instead of the pinned ones below
#   W3C_KEEP_SERVER    set to 1 to leave the work directory (database, server.log) in place
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SUITES_DIR="${W3C_SUITES_DIR:-$ROOT/var/w3c-suites}"
DEFAULT_GIT_URL='https://github.com/{owner}/{name}.git'
GIT_URL="${W3C_GIT_URL:-$DEFAULT_GIT_URL}"
PORTRAIT="$ROOT/.venv/bin/portrait"
PYTHON="$ROOT/.venv/bin/python"

# owner/name@commit: the commits the README's figures were measured with.
REPOS=(
  "w3c/vc-test-suite-implementations@a15c6cf73e588f93a5b532a02c051ad7b59777ab"
  "w3c-ccg/data-integrity-test-suite-assertion@8d84d182f022f02049135f7d1ad3d5d0181e5560"
  "w3c/vc-data-model-2.0-test-suite@6e075243825f50c79017de4a27089d329c093d0f"
  "w3c/vc-di-eddsa-test-suite@a62061b23892deb44dbad67a0315d403fdf09440"
  "w3c/vc-bitstring-status-list-test-suite@5cdc5625948470d1f3b8b615e0771c013dc9029e"
)
SUITES=("$@")
if [ ${#SUITES[@]} -eq 0 ]; then
  SUITES=(vc-data-model-2.0-test-suite vc-di-eddsa-test-suite vc-bitstring-status-list-test-suite)
fi

say() { printf '[w3c] %s\n' "$*" >&2; }

[ -x "$PORTRAIT" ] || { say "no .venv: run 'python3 dev.py install' first"; exit 2; }
command -v npm >/dev/null || { say "npm is required"; exit 2; }
mkdir -p "$SUITES_DIR"

# -- 1. fetch the suites -----------------------------------------------------------------------
for spec in "${REPOS[@]}"; do
  repo="${spec%@*}"; commit="${spec#*@}"; owner="${repo%/*}"; name="${repo#*/}"
  dir="$SUITES_DIR/$name"
  if [ ! -d "$dir/.git" ]; then
    url="${GIT_URL//\{owner\}/$owner}"; url="${url//\{name\}/$name}"
    say "cloning $url"
    git clone --quiet "$url" "$dir"
  fi
  if [ "${W3C_SUITES_LATEST:-0}" != 1 ]; then
    git -C "$dir" checkout --quiet --force "$commit"
  fi
done

# -- 2. npm install --------------------------------------------------------------------------
# The suites depend on two helper packages as `github:` URLs; point them at the clones above so the
# run uses the pinned commits and npm needs no GitHub access. --install-links copies them into
# node_modules, so the helper finds the suite's localConfig.cjs from its own location.
for suite in "${SUITES[@]}"; do
  dir="$SUITES_DIR/$suite"
  [ -d "$dir" ] || { say "unknown suite $suite"; exit 2; }
  git -C "$dir" checkout --quiet -- package.json
  sed -i.orig \
    -e 's#"github:w3c/vc-test-suite-implementations"#"file:../vc-test-suite-implementations"#' \
    -e 's#"github:w3c-ccg/data-integrity-test-suite-assertion"#"file:../data-integrity-test-suite-assertion"#' \
    "$dir/package.json"
  rm -f "$dir/package.json.orig"
  if ! cmp -s "$dir/package.json" "$dir/node_modules/.w3c-package.json"; then
    say "npm install in $suite"
    (cd "$dir" && npm install --install-links --no-audit --no-fund --loglevel=error >npm-install.log 2>&1) \
      || { say "npm install failed, see $dir/npm-install.log"; exit 1; }
    cp "$dir/package.json" "$dir/node_modules/.w3c-package.json"
  fi
done

# -- 3. a fresh service with the demo district, behind a local TLS proxy -----------------------
# The suites send the configured headers (our bearer token) only to https endpoints: over plain http
# they post without them. So the service is reached through a small HTTPS reverse proxy with a
# self-signed certificate (the suites' HTTP agent does not check certificates).
WORK="$(mktemp -d "${TMPDIR:-/tmp}/portrait-w3c-XXXXXX")"
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
TLS_PORT="$(free_port)"
BASE="https://127.0.0.1:$TLS_PORT"
SERVER_PID=""
PROXY_PID=""
cleanup() {
  for pid in $PROXY_PID $SERVER_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ "${W3C_KEEP_SERVER:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
cat >"$WORK/proxy.cjs" <<'JS'
// HTTPS in front of the local service: every request is passed on unchanged.
const fs = require('fs'), http = require('http'), https = require('https');
const [cert, key, listen, target] = process.argv.slice(2);
https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, (req, res) => {
  const upstream = http.request(
    {host: '127.0.0.1', port: Number(target), method: req.method, path: req.url, headers: req.headers},
    reply => { res.writeHead(reply.statusCode, reply.headers); reply.pipe(res); });
  upstream.on('error', e => { res.writeHead(502); res.end(String(e)); });
  req.pipe(upstream);
}).listen(Number(listen), '127.0.0.1');
JS
node "$WORK/proxy.cjs" "$WORK/tls.crt" "$WORK/tls.key" "$TLS_PORT" "$PORT" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!

# Own PORTRAIT_* settings (a database URL above all) must not leak in.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(PORTRAIT_[A-Z0-9_]*\)=.*/\1/p')
export PORTRAIT_MODE=embedded
export PORTRAIT_VAR_DIR="$WORK/var"
export PORTRAIT_DATABASE_URL="sqlite+aiosqlite:///$WORK/var/w3c.db"
export PORTRAIT_PUBLIC_URL="$BASE"
export PORTRAIT_LOG_LEVEL=WARNING
export PORTRAIT_AUTH__TOKEN_TTL_SECONDS=7200
# The suites send a few hundred verifications from one address within minutes.
export PORTRAIT_VERIFY__RATE_LIMIT_PER_MINUTE=100000
export PORTRAIT_VERIFY__RATE_LIMIT_BURST=100000
# Status lists and DID documents named by the suites' own fixtures live on the internet (w3id.org,
# example.com); nothing else may be reached.
export PORTRAIT_OUTBOUND__ALLOWLIST_ONLY=true

say "loading the demo district into $WORK"
(cd "$WORK" && "$PORTRAIT" demo >"$WORK/demo.log" 2>&1) || { cat "$WORK/demo.log"; exit 1; }
(cd "$WORK" && exec "$PORTRAIT" serve --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1) &
SERVER_PID=$!

# -- 4. token, issuer identifiers, localConfig.cjs ---------------------------------------------
"$PYTHON" - "http://127.0.0.1:$PORT" "$WORK/var/demo-client.json" "$WORK/settings.json" <<'PY'
import base64, json, sys, time, urllib.request

base, client_file, out = sys.argv[1:]
for _ in range(300):
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
            if r.status == 200:
                break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("the server did not come up")
client = json.load(open(client_file))
basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
req = urllib.request.Request(
    f"{base}/oauth/token", data=b"grant_type=client_credentials", method="POST",
    headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
)
token = json.load(urllib.request.urlopen(req, timeout=10))["access_token"]
did = json.load(urllib.request.urlopen(f"{base}/issuers/demo/did.json", timeout=10))
# The did:key of the issuer's current Ed25519 key: the one the VC-API signs with for did:key.
keys = [m for m in did["verificationMethod"] if m.get("publicKeyMultibase", "").startswith("z6Mk")]
did_key = "did:key:" + keys[-1]["publicKeyMultibase"]
json.dump({"token": token, "did_web": did["id"], "did_key": did_key}, open(out, "w"))
PY
say "server on http://127.0.0.1:$PORT (pid $SERVER_PID), $BASE through the proxy; issuer $(sed 's/.*"did_key": "\([^"]*\)".*/\1/' "$WORK/settings.json")"

write_config() {  # $1 = suite directory, $2 = tags (JSON array), $3 = issuer options (JSON object)
  node - "$WORK/settings.json" "$BASE/vc-api/issuers/demo" "$2" "$3" >"$1/localConfig.cjs" <<'JS'
const [settingsFile, base, tags, issuerOptions] = process.argv.slice(2);
const s = require(settingsFile);
const auth = {Authorization: `Bearer ${s.token}`};
const config = {
  settings: {enableInteropTests: false, testAllImplementations: false},
  implementations: [{
    name: 'Portrait',
    implementation: 'Portrait (local)',
    issuers: [{
      id: s.did_key,
      endpoint: `${base}/credentials/issue`,
      headers: auth,
      options: JSON.parse(issuerOptions),
      supports: {vc: ['2.0']},
      tags: JSON.parse(tags)
    }],
    verifiers: [{
      id: `${base}/verifier`,
      endpoint: `${base}/credentials/verify`,
      supports: {vc: ['1.1', '2.0']},
      tags: JSON.parse(tags)
    }],
    vpVerifiers: [{
      id: `${base}/verifier`,
      endpoint: `${base}/presentations/verify`,
      supports: {vc: ['1.1', '2.0']},
      tags: JSON.parse(tags)
    }]
  }]
};
process.stdout.write('module.exports = ' + JSON.stringify(config, null, 2) + ';\n');
JS
}

# -- 5. run ------------------------------------------------------------------------------------
SUMMARY="$WORK/summary.txt"
: >"$SUMMARY"
for suite in "${SUITES[@]}"; do
  dir="$SUITES_DIR/$suite"
  options='{"issuerMethod": "did:key"}'
  case "$suite" in
    vc-data-model-2.0-test-suite) tags='["vc2.0"]' ;;
    vc-di-eddsa-test-suite) tags='["eddsa-rdfc-2022"]' ;;
    vc-bitstring-status-list-test-suite)
      tags='["BitstringStatusList"]'
      # The suite expects issued credentials to carry a status entry: ask for one.
      options='{"issuerMethod": "did:key", "credentialStatus": {"type": "BitstringStatusListEntry"}}' ;;
    *) tags='[]' ;;
  esac
  write_config "$dir" "$tags" "$options"
  say "running $suite"
  # The JSON reporter instead of the suites' HTML interop report: results.json lists every test.
  (cd "$dir" && npx mocha tests/ --reporter json --reporter-option output=results.json \
    --timeout 15000 --preserve-symlinks >mocha.log 2>&1) || true
  node - "$dir/results.json" "$suite" >>"$SUMMARY" <<'JS'
const [file, suite] = process.argv.slice(2);
let r;
try { r = require(file); } catch(e) { console.log(`${suite}: no results (${e.message})`); process.exit(0); }
const s = r.stats;
console.log(`${suite}: ${s.passes} passed, ${s.failures} failed, ${s.pending} pending (of ${s.tests})`);
for(const t of r.failures) {
  const msg = (t.err && t.err.message || '').split('\n')[0].slice(0, 160);
  console.log(`  FAIL ${t.fullTitle.slice(0, 200)}\n       ${msg}`);
}
JS
done

echo
cat "$SUMMARY"
echo
grep -E '^[a-z0-9.-]+: ' "$SUMMARY"
