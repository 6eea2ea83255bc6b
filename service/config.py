"""Settings: one class, environment prefix ``PORTRAIT_``, nested groups with ``__``.

Embedded mode (the default) keeps everything under ``var_dir``: the SQLite database and a
``secrets.json`` generated on first start. Production mode refuses to start without explicit
secrets and a non-SQLite database is expected.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LimitSettings(BaseModel):
    """Size limits applied to every request."""

    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, description="largest request body")
    max_bulk_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="largest body of bulk endpoints"
    )
    max_page_size: int = Field(default=200, ge=1, le=10_000)
    default_page_size: int = Field(default=50, ge=1, le=10_000)
    max_graphql_depth: int = Field(default=12, ge=2, le=64)
    #: Every JSON body (REST, GraphQL and its variables, imports): nesting and number of values.
    max_json_depth: int = Field(default=64, ge=8, le=512)
    max_json_values: int = Field(default=1_000_000, ge=1000, le=100_000_000)
    #: GraphQL budgets, checked before the document is parsed or any resolver runs
    #: (service/api/graphql/limits.py). Anonymous requests can only introspect: smaller limits.
    max_graphql_query_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_graphql_query_bytes_anonymous: int = Field(default=8 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_graphql_tokens: int = Field(default=5_000, ge=100, le=1_000_000)
    max_graphql_tokens_anonymous: int = Field(default=1_000, ge=100, le=1_000_000)
    max_graphql_aliases: int = Field(default=30, ge=0, le=10_000)
    max_graphql_root_fields: int = Field(default=20, ge=1, le=10_000)
    max_graphql_fragments: int = Field(default=50, ge=0, le=10_000)
    max_graphql_fields: int = Field(default=1_000, ge=10, le=1_000_000)
    max_graphql_repeated_fields: int = Field(default=20, ge=1, le=10_000)
    max_graphql_cost: int = Field(default=100_000, ge=100, le=100_000_000)
    #: Anonymous and introspection-only operations (CPU only, no database) run in worker threads, at
    #: most this many at once per process, so that they never hold the event loop.
    graphql_threaded_operations: int = Field(default=1, ge=1, le=64)
    #: Anonymous GraphQL: cost units (limits.max_graphql_cost) one client IP may spend per minute, and
    #: at once. The standard introspection query costs about 50,000.
    graphql_anonymous_cost_per_minute: int = Field(default=300_000, ge=1000, le=1_000_000_000)
    graphql_anonymous_cost_burst: int = Field(default=300_000, ge=1000, le=1_000_000_000)
    #: Anonymous GraphQL is also charged for the CPU time it was measured to take (the check of the
    #: document in this process, its execution in the worker thread or the introspection process),
    #: this many cost units per millisecond, whenever that is more than its estimated cost; every
    #: anonymous request counts at least 2 ms (the HTTP work around it). 0: the estimate only.
    graphql_anonymous_cost_per_cpu_ms: int = Field(default=100, ge=0, le=1_000_000)
    #: An anonymous GraphQL request refused for its budget (429) is answered after this delay (at
    #: most its Retry-After): a client retrying in a loop then costs a few requests a second per
    #: connection instead of as many as the server can refuse. 0: at once.
    graphql_anonymous_refusal_delay_ms: int = Field(default=1000, ge=0, le=60_000)
    #: When the introspection process (service/api/graphql/introspection.py) starts: with the
    #: application ("at_startup", so that no request waits for it or pays for building the schema's
    #: SDL) or when the first introspection needs it ("on_first_use", for tests and tools).
    graphql_introspection_process: Literal["at_startup", "on_first_use"] = "at_startup"
    #: Where the rate limiters (verification, /oauth/token, anonymous GraphQL) keep their buckets:
    #: "database" shares them between every process and machine through the PostgreSQL table
    #: rate_limit_buckets; "memory" keeps them in each process; "auto": database on PostgreSQL,
    #: memory on SQLite (one process).
    rate_limit_store: Literal["auto", "memory", "database"] = "auto"


class AuthSettings(BaseModel):
    """OAuth 2.0 client-credentials tokens."""

    token_ttl_seconds: int = Field(default=900, ge=30, le=24 * 3600)
    token_issuer: str = "portrait"  # noqa: S105 - not a secret
    token_audience: str = "portrait-api"  # noqa: S105 - not a secret
    # Tolerated clock skew when checking exp/nbf/iat of a token.
    leeway_seconds: int = Field(default=10, ge=0, le=300)
    #: /oauth/token: requests per minute (and burst) per client id and, separately, per client IP.
    token_rate_per_minute: int = Field(default=60, ge=1, le=100_000)
    token_rate_burst: int = Field(default=30, ge=1, le=100_000)


class OutboundSettings(BaseModel):
    """Requests the service makes to URLs chosen by tenants (webhooks, did:web, status lists).

    Private, loopback, link-local, multicast and reserved addresses are refused unless
    ``allow_private`` is set (tests, on-premise receivers) or the host is in ``allowed_hosts``.
    """

    allow_private: bool = False
    #: Host names or IP literals (exact, case-insensitive) exempt from the address check.
    allowed_hosts: list[str] = []
    #: Only ``allowed_hosts`` may be contacted at all (closed networks, fuzzing, CI).
    allowlist_only: bool = False
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_response_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)


class BadgeSettings(BaseModel):
    """Open Badges issuance."""

    #: Entries per Bitstring Status List (at least 131,072 so one credential cannot be singled out).
    status_list_size: int = Field(default=131_072, ge=131_072, le=1 << 24)
    #: Cache-Control max-age of served status lists (verifiers see a revocation within this delay).
    status_list_max_age: int = Field(default=300, ge=0, le=86_400)
    #: Processes that sign VC-API credentials off the event loop (None: one per CPU; 0: a thread in
    #: the server process instead). See docs/performance.md.
    signing_processes: int | None = Field(default=None, ge=0, le=64)


class VerifySettings(BaseModel):
    """Public verification (``POST /api/v1/verify``, ``/verify``, VC-API verify endpoints).

    Remote documents (did:web DID documents, verification method URLs, status lists of other issuers)
    are fetched through the outbound guard (``outbound.*``: private addresses refused unless allowed)
    with the limits below, and cached for ``cache_ttl_seconds``.
    """

    #: Sustained verifications per minute per client IP, and the burst allowed on top.
    rate_limit_per_minute: int = Field(default=60, ge=1, le=100_000)
    rate_limit_burst: int = Field(default=20, ge=1, le=100_000)
    #: Client IPs remembered by the limiter (least recently seen forgotten first).
    rate_limit_clients: int = Field(default=10_000, ge=16, le=1_000_000)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=16 * 1024 * 1024)
    fetch_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_document_bytes: int = Field(default=512 * 1024, ge=1024, le=8 * 1024 * 1024)
    max_fetches: int = Field(default=8, ge=1, le=32)
    #: One deadline for all the fetches of one verification together (a slow host fails that one only).
    deadline_seconds: float = Field(default=15.0, gt=0, le=300)
    #: Verifications fetching remote documents at once per process (separate from the rate limit);
    #: one that cannot start before its deadline fails with "busy".
    max_remote_verifications: int = Field(default=32, ge=1, le=10_000)
    #: Connections to one host at once, in the shared pool of ``pool_connections``; a verification's
    #: own fetches run one at a time.
    max_connections_per_host: int = Field(default=4, ge=1, le=1000)
    pool_connections: int = Field(default=64, ge=1, le=10_000)
    cache_ttl_seconds: float = Field(default=60.0, ge=0, le=3600)
    cache_entries: int = Field(default=256, ge=1, le=100_000)
    #: Verification steps remembered by exact document bytes and key (schema, signatures, JSON-LD safe
    #: mode; never status, dates or key resolution): service.credentials.memo. 0 turns the memo off.
    memo_entries: int = Field(default=4096, ge=0, le=1_000_000)
    #: did:web hosts whose DID documents are fetched over plain http (local test servers only).
    did_web_http_hosts: list[str] = []


class OneRosterSettings(BaseModel):
    """The OneRoster adapter: paging, retries, concurrency and the deactivation guard."""

    page_size: int = Field(default=1000, ge=1, le=10_000, description="limit= asked of providers")
    max_concurrency: int = Field(default=4, ge=1, le=32, description="requests in flight per sync")
    max_retries: int = Field(default=5, ge=0, le=20)
    backoff_base_seconds: float = Field(default=0.5, ge=0, le=60)
    max_retry_after_seconds: float = Field(default=60.0, ge=0, le=3600)
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_page_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, description="largest provider response")
    #: A sync that would deactivate more than this share of a tenant's active learners needs an override.
    max_deactivation_share: float = Field(default=0.1, ge=0, le=1)
    #: The per-collection guard ignores syncs that would deactivate no more records than this.
    deactivation_guard_floor: int = Field(default=10, ge=0)
    max_csv_bytes: int = Field(default=100 * 1024 * 1024, ge=1024, description="largest CSV bundle upload")
    max_csv_uncompressed_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)


class SmtpSettings(BaseModel):
    """The SMTP relay of the ``smtp`` mailer (sign-in links and other mail to people)."""

    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    #: STARTTLS on a plain connection (port 587); ``use_tls`` is implicit TLS (port 465).
    start_tls: bool = True
    use_tls: bool = False
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)


class ConsoleSettings(BaseModel):
    """The staff console: sessions, one-time sign-in links, mail, OpenID Connect."""

    #: A session ends after this long without a request (idle expiry) ...
    session_idle_seconds: int = Field(default=2 * 3600, ge=60, le=7 * 24 * 3600)
    #: ... and at the latest this long after sign-in (absolute expiry).
    session_absolute_seconds: int = Field(default=12 * 3600, ge=300, le=30 * 24 * 3600)
    #: How long a one-time sign-in link works.
    link_ttl_seconds: int = Field(default=15 * 60, ge=60, le=7 * 24 * 3600)
    #: Pending OpenID Connect sign-ins (between the redirect and the callback).
    oidc_request_ttl_seconds: int = Field(default=10 * 60, ge=60, le=3600)
    #: ``file``: messages written to ``var_dir/outbox`` (embedded default); ``smtp``: sent through ``smtp``.
    mailer: Literal["file", "smtp"] = "file"
    mail_from: str = "Portrait <no-reply@portrait.invalid>"
    smtp: SmtpSettings = SmtpSettings()


class WalletSettings(BaseModel):
    """Wallets and learner record hosts (the 1EdTech OB 3.0 / CLR 2.0 APIs and their OAuth 2.0 server)."""

    #: An authorization request waits this long for the learner to sign in and decide.
    request_ttl_seconds: int = Field(default=15 * 60, ge=60, le=3600)
    #: An authorization code works once, within this many seconds of the learner's approval.
    code_ttl_seconds: int = Field(default=60, ge=10, le=600)
    access_token_seconds: int = Field(default=3600, ge=60, le=24 * 3600)
    refresh_token_seconds: int = Field(default=90 * 24 * 3600, ge=3600, le=400 * 24 * 3600)
    #: Learner sessions of the wallet pages (sign-in by link) end after this long.
    session_seconds: int = Field(default=3600, ge=300, le=24 * 3600)
    #: Registered clients per district (dynamic registration is open; this bounds what it can fill).
    max_clients_per_tenant: int = Field(default=10_000, ge=1)
    #: GET /credentials pages: default and largest ``limit``.
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=200, ge=1, le=1000)
    privacy_policy_url: str = ""
    terms_of_service_url: str = ""


class Settings(BaseSettings):
    """All configuration of the service."""

    model_config = SettingsConfigDict(
        env_prefix="PORTRAIT_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    mode: Literal["embedded", "production"] = "embedded"
    var_dir: Path = Path("./var")
    database_url: str = ""
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False
    #: The database URL points at PgBouncer in transaction mode (or another transaction-level pooler):
    #: no prepared statements outlive a statement (asyncpg and SQLAlchemy statement caches off, psycopg's
    #: automatic preparing off), since the next transaction may run on another server connection.
    database_pgbouncer: bool = False
    #: A direct PostgreSQL URL (not through PgBouncer) for each process's LISTEN connection, which tells it
    #: when cached clients, tenants and keys change (service.hotcache). Behind PgBouncer in transaction
    #: mode a LISTEN on database_url hears nothing: without this URL those caches are off (every request
    #: reads the rows, as before the caches).
    database_listen_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Secrets: generated into var_dir/secrets.json in embedded mode, required in production.
    token_secret: SecretStr | None = None
    key_encryption_key: SecretStr | None = None
    auto_migrate: bool | None = None
    #: Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed when
    #: resolving a client's address (rate limits); empty: the TCP peer is the client.
    trusted_proxies: list[str] = []
    log_level: str = "INFO"
    #: Structured JSON log lines; unset: JSON in production mode, plain text in embedded mode.
    log_json: bool | None = None
    limits: LimitSettings = LimitSettings()
    auth: AuthSettings = AuthSettings()
    outbound: OutboundSettings = OutboundSettings()
    badges: BadgeSettings = BadgeSettings()
    verify: VerifySettings = VerifySettings()
    oneroster: OneRosterSettings = OneRosterSettings()
    console: ConsoleSettings = ConsoleSettings()
    wallet: WalletSettings = WalletSettings()
    #: auto: procrastinate on PostgreSQL, in-process on SQLite.
    jobs_backend: Literal["auto", "inprocess", "procrastinate"] = "auto"
    #: A running job's heartbeat period; a job (and a procrastinate worker) silent for
    #: ``jobs_stale_after_seconds`` is taken over; workers look for such jobs every ``jobs_sweep_seconds``.
    jobs_heartbeat_seconds: float = Field(default=2.0, gt=0, le=300)
    jobs_stale_after_seconds: float = Field(default=10.0, gt=0, le=3600)
    jobs_sweep_seconds: float = Field(default=5.0, gt=0, le=3600)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        v = v.rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("public_url must be an http(s) URL")
        return v

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.var_dir / 'portrait.db').as_posix()}"
        if self.mode == "production":
            missing = [name for name in ("token_secret", "key_encryption_key") if getattr(self, name) is None]
            if missing:
                raise ValueError(
                    "production mode requires " + ", ".join(f"PORTRAIT_{m.upper()}" for m in missing)
                )
        for name in ("token_secret", "key_encryption_key"):
            value: SecretStr | None = getattr(self, name)
            if value is not None and len(value.get_secret_value()) < 32:
                raise ValueError(f"PORTRAIT_{name.upper()} must be at least 32 characters")
        return self

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.mode == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when the service is reached over https."""
        return self.public_url.startswith("https://")

    @property
    def should_auto_migrate(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.mode == "embedded"

    def ensure_secrets(self) -> None:
        """Fill missing secrets from ``var_dir/secrets.json``, creating it (mode 0600) if needed.

        Only embedded mode gets here with missing secrets: production validation refuses them.
        """
        if self.token_secret is not None and self.key_encryption_key is not None:
            return
        path = self.var_dir / "secrets.json"
        stored: dict[str, str] = {}
        if path.exists():
            stored = json.loads(path.read_text())
        changed = False
        for name in ("token_secret", "key_encryption_key"):
            if name not in stored:
                stored[name] = secrets.token_urlsafe(48)
                changed = True
        if changed:
            self.var_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh)
            os.replace(tmp, path)
        if self.token_secret is None:
            self.token_secret = SecretStr(stored["token_secret"])
        if self.key_encryption_key is None:
            self.key_encryption_key = SecretStr(stored["key_encryption_key"])

    def token_secret_value(self) -> str:
        if self.token_secret is None:
            self.ensure_secrets()
        assert self.token_secret is not None
        return self.token_secret.get_secret_value()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = Settings()
    if settings.mode == "embedded":
        settings.ensure_secrets()
    return settings
