"""A fake OneRoster 1.2 (and 1.1) provider for tests: a real HTTP server on 127.0.0.1, in a thread.

In-memory data per collection (insertion order), OAuth 2.0 client credentials with expiring tokens,
limit/offset paging with X-Total-Count and Link headers (each can be switched off), the
``filter=dateLastModified>'...'`` filter, tombstones (``status: tobedeleted``) and hard deletes, and
failures injected on demand (429 with Retry-After, 500, imsx error bodies). Every request is logged.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

import orjson

ROSTERING = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")
GRADEBOOK = ("categories", "lineItems", "results")
COLLECTIONS = ROSTERING + GRADEBOOK
_FILTER = re.compile(r"^\s*dateLastModified\s*>\s*'([^']+)'\s*$")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Injected:
    """Answer the next ``times`` requests whose path contains ``match`` with ``status``."""

    match: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class Generated:
    """A collection produced on demand (benchmarks): ``count`` records, ``make(i)`` the i-th."""

    count: int
    make: Callable[[int], dict[str, Any]]


def imsx(code_major: str, description: str, minor: str = "invalid_data") -> dict[str, Any]:
    return {
        "imsx_codeMajor": code_major,
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}
            ]
        },
    }


class FakeOneRoster:
    def __init__(
        self,
        *,
        client_id: str = "fake-client",
        client_secret: str = "fake-secret",  # noqa: S107 - a test server's
        token_ttl: int = 3600,
        version: str = "1.2",
        max_limit: int = 10_000,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.version = version
        self.max_limit = max_limit
        self.send_total = True
        self.send_link = True
        #: offset -> how many records the page starting there holds at most (an uneven provider)
        self.short_pages: dict[int, int] = {}
        #: Link URLs without the request's ``filter`` (a delta silently turning into a full pull)
        self.link_drops_filter = False
        self.data: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
        #: collection -> (position, record): extra rows served at that position (a provider sending
        #: the same sourcedId twice, on two pages)
        self.extra: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.generated: dict[str, Generated] = {}
        self.tokens: dict[str, float] = {}
        self.injected: list[Injected] = []
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.token_requests = 0
        #: seconds to wait before answering a page of a collection (lets a test act mid-sync)
        self.delay: dict[str, float] = {}
        #: a OneRoster 1.1 provider signing with OAuth 1.0a (HMAC-SHA256) instead of bearer tokens
        self.oauth1 = False
        self.nonces: set[str] = set()
        self.lock = threading.Lock()
        self._clock = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> FakeOneRoster:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_GET(self) -> None:
                fake._handle(self, "GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return self.url + "/oauth/token"

    # -- data ---------------------------------------------------------------------------------------

    def tick(self) -> str:
        """A strictly increasing dateLastModified."""
        self._clock += 1
        stamp = EPOCH + timedelta(seconds=self._clock)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"

    def put(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            stored = {"status": "active", **record, "dateLastModified": self.tick()}
            self.data[collection][stored["sourcedId"]] = stored
            return stored

    def update(self, collection: str, sourced_id: str, **changes: Any) -> None:
        with self.lock:
            record = self.data[collection][sourced_id]
            record.update(changes)
            record["dateLastModified"] = self.tick()

    def tombstone(self, collection: str, sourced_id: str) -> None:
        self.update(collection, sourced_id, status="tobedeleted")

    def hard_delete(self, collection: str, sourced_id: str) -> None:
        with self.lock:
            del self.data[collection][sourced_id]

    def active(self, collection: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.data[collection].items() if v.get("status", "active") == "active"}

    def inject(self, match: str, status: int, *, times: int = 1, **kwargs: Any) -> None:
        with self.lock:
            self.injected.append(Injected(match, status, times, **kwargs))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def requests_to(self, collection: str) -> list[dict[str, str]]:
        return [q for m, p, q in self.log if m == "GET" and p.rsplit("/", 1)[-1] == collection]

    # -- HTTP ---------------------------------------------------------------------------------------

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        raw = orjson.dumps(body) if body is not None else b""
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(raw)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        form = parse_qs(h.rfile.read(length).decode("utf-8")) if length else {}
        with self.lock:
            self.log.append((method, parts.path, query))
            for inj in self.injected:
                if inj.match in parts.path and inj.times > 0:
                    inj.times -= 1
                    failure: Injected | None = inj
                    break
            else:
                failure = None
        if failure is not None:
            self._send(
                h,
                failure.status,
                failure.body or imsx("failure", f"injected {failure.status}"),
                failure.headers,
            )
            return
        if method == "POST" and parts.path == "/oauth/token":
            self._token(h, form)
            return
        if method != "GET":
            self._send(h, 405, imsx("failure", "method not allowed"))
            return
        auth = h.headers.get("Authorization", "")
        if self.oauth1:
            valid = self._oauth1_valid(auth, method, h.path)
        else:
            token = auth.removeprefix("Bearer ").strip()
            with self.lock:
                valid = token in self.tokens and self.tokens[token] > time.monotonic()
        if not valid:
            self._send(
                h,
                401,
                imsx("failure", "the access token is missing, invalid or expired", "unauthorisedrequest"),
            )
            return
        collection = parts.path.rstrip("/").rsplit("/", 1)[-1]
        prefixes = (
            ["/ims/oneroster/rostering/v1p2/", "/ims/oneroster/gradebook/v1p2/"]
            if self.version == "1.2"
            else ["/ims/oneroster/v1p1/"]
        )
        if collection not in COLLECTIONS or not any(parts.path == p + collection for p in prefixes):
            self._send(h, 404, imsx("failure", f"unknown endpoint {parts.path}", "unknownobject"))
            return
        self._list(h, parts.path, collection, query)

    def _oauth1_valid(self, header: str, method: str, path: str) -> bool:
        from service.adapters.oneroster.client import oauth1_signature

        if not header.startswith("OAuth "):
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', header))
        oauth = {k: unquote(v) for k, v in fields.items()}
        signature = oauth.pop("oauth_signature", "")
        if (
            oauth.get("oauth_consumer_key") != self.client_id
            or oauth.get("oauth_signature_method") != "HMAC-SHA256"
        ):
            return False
        if abs(time.time() - int(oauth.get("oauth_timestamp", "0"))) > 300:
            return False
        with self.lock:
            if oauth.get("oauth_nonce", "") in self.nonces:
                return False  # a replay
            self.nonces.add(oauth.get("oauth_nonce", ""))
        query = parse_qsl(urlsplit(path).query, keep_blank_values=True)
        expected = oauth1_signature(method, self.url + path, [*query, *oauth.items()], self.client_secret)
        return hmac.compare_digest(expected, signature)

    def _token(self, h: BaseHTTPRequestHandler, form: dict[str, list[str]]) -> None:
        auth = h.headers.get("Authorization", "")
        try:
            cid, _, secret = base64.b64decode(auth.removeprefix("Basic ").strip()).decode().partition(":")
        except ValueError:
            cid, secret = "", ""
        if form.get("grant_type", [""])[-1] != "client_credentials":
            self._send(h, 400, {"error": "unsupported_grant_type"})
            return
        if cid != self.client_id or secret != self.client_secret:
            self._send(
                h, 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
            )
            return
        token = secrets.token_hex(16)
        with self.lock:
            self.token_requests += 1
            self.tokens[token] = time.monotonic() + self.token_ttl
        self._send(h, 200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl})

    def _list(self, h: BaseHTTPRequestHandler, path: str, collection: str, query: dict[str, str]) -> None:
        try:
            limit = min(self.max_limit, max(1, int(query.get("limit", "100"))))
            offset = max(0, int(query.get("offset", "0")))
            limit = min(limit, self.short_pages.get(offset, limit))
        except ValueError:
            self._send(
                h, 400, imsx("failure", "limit and offset must be integers", "invalid_selection_field")
            )
            return
        since: str | None = None
        if "filter" in query:
            match = _FILTER.match(query["filter"])
            if match is None:
                self._send(
                    h, 400, imsx("failure", f"unsupported filter {query['filter']}", "invalid_filter_field")
                )
                return
            since = match.group(1)
        if collection in self.delay:
            time.sleep(self.delay[collection])  # the server's thread, not the test's event loop
        generated = self.generated.get(collection)
        if generated is not None and since is None:
            total = generated.count
            records = [generated.make(i) for i in range(offset, min(total, offset + limit))]
        else:
            with self.lock:
                rows = list(self.data[collection].values())
                for position, extra in self.extra.get(collection, []):
                    rows.insert(position, extra)
            if since is not None:
                rows = [r for r in rows if r["dateLastModified"] > since]
            total = len(rows)
            records = rows[offset : offset + limit]
        headers: dict[str, str] = {}
        if self.send_total:
            headers["X-Total-Count"] = str(total)
        if self.send_link and offset + len(records) < total:
            following = {
                **query,
                "limit": query.get("limit", str(limit)),
                "offset": str(offset + len(records)),
            }
            if self.link_drops_filter:
                following.pop("filter", None)
            headers["Link"] = f'<{path}?{urlencode(following)}>; rel="next"'
        self._send(h, 200, {collection: records}, headers)


def small_district(fake: FakeOneRoster, *, students: int = 6, classes: int = 2) -> None:
    """A district, a school, a year with a term, a course, classes, students and a teacher, enrollments,
    a category, line items (with CASE ids) and results."""
    v12 = fake.version == "1.2"
    fake.put("orgs", {"sourcedId": "district-1", "name": "Unified District", "type": "district"})
    fake.put(
        "orgs",
        {
            "sourcedId": "school-1",
            "name": "High School",
            "type": "school",
            "parent": {"sourcedId": "district-1", "type": "org"},
        },
    )
    fake.put(
        "academicSessions",
        {
            "sourcedId": "year-2027",
            "title": "2026-27",
            "type": "schoolYear",
            "startDate": "2026-08-01",
            "endDate": "2027-06-30",
            "schoolYear": "2027",
        },
    )
    fake.put(
        "academicSessions",
        {
            "sourcedId": "term-1",
            "title": "Fall",
            "type": "term",
            "startDate": "2026-08-01",
            "endDate": "2026-12-20",
            "schoolYear": "2027",
            "parent": {"sourcedId": "year-2027", "type": "academicSession"},
        },
    )
    fake.put(
        "courses",
        {"sourcedId": "course-1", "title": "Biology", "courseCode": "BIO", "org": {"sourcedId": "school-1"}},
    )

    def user(sid: str, role: str, given: str) -> dict[str, Any]:
        base: dict[str, Any] = {
            "sourcedId": sid,
            "givenName": given,
            "familyName": "Tester",
            "enabledUser": "true",
            "username": sid,
        }
        if v12:
            base["roles"] = [
                {"roleType": "primary", "role": role, "org": {"sourcedId": "school-1", "type": "org"}}
            ]
        else:
            base["role"] = role
            base["orgs"] = [{"sourcedId": "school-1", "type": "org"}]
        return base

    fake.put("users", user("teacher-1", "teacher", "Tina"))
    for i in range(students):
        fake.put("users", {**user(f"student-{i}", "student", f"Stu{i}"), "grades": ["10"]})
    fake.put("categories", {"sourcedId": "cat-1", "title": "Projects", "weight": "0.5"})
    for c in range(classes):
        fake.put(
            "classes",
            {
                "sourcedId": f"class-{c}",
                "title": f"Biology {c}",
                "classType": "scheduled",
                "course": {"sourcedId": "course-1"},
                "school": {"sourcedId": "school-1"},
                "terms": [{"sourcedId": "term-1"}],
            },
        )
        fake.put(
            "enrollments",
            {
                "sourcedId": f"enr-t-{c}",
                "user": {"sourcedId": "teacher-1"},
                "class": {"sourcedId": f"class-{c}"},
                "role": "teacher",
                "primary": "true",
            },
        )
        for i in range(students):
            fake.put(
                "enrollments",
                {
                    "sourcedId": f"enr-{c}-{i}",
                    "user": {"sourcedId": f"student-{i}"},
                    "class": {"sourcedId": f"class-{c}"},
                    "role": "student",
                    "primary": False,
                },
            )
        fake.put(
            "lineItems",
            {
                "sourcedId": f"li-{c}",
                "title": f"Lab report {c}",
                "class": {"sourcedId": f"class-{c}"},
                "category": {"sourcedId": "cat-1"},
                "gradingPeriod": {"sourcedId": "term-1"},
                "resultValueMin": 0,
                "resultValueMax": "100",
                "learningObjectiveSet": [{"source": "case", "learningObjectiveIds": [f"case-item-{c}"]}],
            },
        )
        for i in range(students):
            fake.put(
                "results",
                {
                    "sourcedId": f"res-{c}-{i}",
                    "lineItem": {"sourcedId": f"li-{c}"},
                    "student": {"sourcedId": f"student-{i}"},
                    "score": 50 + 7 * i,
                    "scoreStatus": "fully graded",
                    "scoreDate": "2026-10-01",
                },
            )
