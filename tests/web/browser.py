"""What the browser tests share: the service served by uvicorn over real HTTP on a scratch database,
Debian's Chromium driven by Playwright, axe-core (from the npm registry, installed on first use), the
error watch on a page and the screenshots kept under var/screenshots/.

Each test module keeps its own thin fixtures around these (its site is populated its own way, and its
browser fixture must come after its site: Playwright's sync API runs an event loop of its own, and a
site's set-up and tear-down use asyncio.run()).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.demo import load_demo
from service.migrations import upgrade_sync
from tests.conftest import create_scratch_postgres, drop_scratch_postgres

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
NODE_DIR = Path(__file__).parent / "node"
AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
STAMP = NODE_DIR / "node_modules" / ".portrait-lock-sha256"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
#: The widths check_page() looks at: a desktop and a small phone.
WIDTHS = (DESKTOP["width"], PHONE["width"])


def npm_ci(node_dir: Path, needs: str) -> None:
    """``npm ci`` in ``node_dir`` when its packages are missing or older than its package-lock.json
    (a stamp in node_modules holds the lock's digest); ``needs`` says what for, when npm is missing."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is required {needs}")
    stamp = node_dir / "node_modules" / ".portrait-lock-sha256"
    digest = hashlib.sha256((node_dir / "package-lock.json").read_bytes()).hexdigest()
    # One installer at a time (parallel pytest processes, several test modules): the others wait, then
    # find the stamp written.
    with (node_dir / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.read_text() != digest:
            subprocess.run(  # noqa: S603 - fixed command, found on PATH
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                cwd=node_dir,
                check=True,
                timeout=600,
            )
            stamp.write_text(digest)


def load_axe() -> str:
    """axe-core's script, with tests/web/node's pinned packages installed when missing or stale."""
    if not AXE.exists():
        STAMP.unlink(missing_ok=True)
    npm_ci(NODE_DIR, "to install axe-core for the accessibility checks")
    return AXE.read_text()


def serious_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    # Evaluated through the DevTools protocol, not as an inline <script>: the page's CSP stays in force.
    page.evaluate(axe_source + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def sideways_scroll(page: Page) -> int:
    """How many CSS pixels the page scrolls sideways (0 or less when it fits its viewport)."""
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


#: Controls that must be at least 44 px tall on a phone (WCAG 2.5.5); links inside running text are
#: exempt, check boxes are 24 px with their label as the larger target.
TAP_TARGETS = (
    "button, .button, select, summary, .header__link[href], .header__service, "
    "input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
)


def small_tap_targets(page: Page) -> list[str]:
    """The visible controls less than 44 px tall, as "tag#id text (height)"."""
    found: list[str] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].flatMap((el) => {
            const box = el.getBoundingClientRect();
            if (!box.width || !box.height || box.height >= 43.5) return [];
            const text = (el.innerText || el.value || el.name || '').trim().slice(0, 40);
            return [`${el.tagName.toLowerCase()}#${el.id} ${text} (${box.height.toFixed(1)})`];
        })""",
        TAP_TARGETS,
    )
    return found


def check_page(
    page: Page, axe_source: str, name: str, *, widths: tuple[int, ...] = WIDTHS, height: int = 900
) -> None:
    """At each width: the page does not scroll sideways (a wide table or chart scrolls or shrinks inside
    its own box), axe-core finds no serious or critical violation, and a full-page screenshot is kept as
    var/screenshots/<name>-<width>.png; at a phone's width its controls are at least 44 px tall. The
    viewport is left at the first width."""
    problems = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": height})
        overflow = sideways_scroll(page)
        if overflow > 0:
            problems.append((width, f"scrolls {overflow}px sideways"))
        if width <= PHONE["width"]:
            problems += [(width, "under 44px", small) for small in small_tap_targets(page)]
        found = serious_violations(page, axe_source)
        problems += [(width, v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": widths[0], "height": height})
    assert problems == [], (name, problems)


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot kept as var/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def watch_errors(page: Page, only_from: str | None = None) -> list[str]:
    """The list the page's console errors and 4xx/5xx answers are added to (a CSP violation or a failing
    script is a console error). With ``only_from``, only those of URLs under it count, and not the
    browser's own favicon probe (an identity provider's pages ask for web fonts this machine cannot
    reach)."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if only_from is None:
            errors.append(message.text)
            return
        url = message.location.get("url", "")
        if url.startswith(only_from) and not url.endswith("/favicon.ico"):
            errors.append(f"{message.text} {url}")

    page.on("console", on_console)
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and (only_from is None or r.url.startswith(only_from))
            else None
        ),
    )
    return errors


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, launched by Playwright."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required (apt-get install -y chromium; .ci/run installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until uvicorn accepts them: no start-up race
    return sock


@dataclass(frozen=True)
class LiveSite:
    """A migrated scratch database and the settings of a service on a free port, not serving yet (fill
    the database first, with ``env``)."""

    base: str
    env: Settings
    sock: socket.socket

    @property
    def database_url(self) -> str:
        return self.env.database_url

    @contextmanager
    def serving(self) -> Iterator[None]:
        """The app served by uvicorn on a thread, over real HTTP at ``base``."""
        server = uvicorn.Server(uvicorn.Config(create_app(self.env), log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.should_exit = True
            thread.join(timeout=60)


async def load_demo_at(url: str, env: Settings) -> dict[str, Any]:
    """The demo district loaded into the database at ``url`` (its API client goes to ``env.var_dir``)."""
    db = Database(url, pool_size=4)
    try:
        return await load_demo(db, env)
    finally:
        await db.dispose()


@contextmanager
def live_site(backend: str, settings: Settings, var: Path, **update: Any) -> Iterator[LiveSite]:
    """A SQLite file under ``var`` or a scratch PostgreSQL database (dropped afterwards), migrated, and
    ``settings`` pointing at it, at ``var`` and at a free port's URL, with ``update`` on top."""
    url = (
        f"sqlite+aiosqlite:///{(var / 'site.db').as_posix()}"
        if backend == "sqlite"
        else asyncio.run(create_scratch_postgres())
    )
    sock = free_socket()
    try:
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = settings.model_copy(update={"database_url": url, "var_dir": var, "public_url": base, **update})
        upgrade_sync(url)
        yield LiveSite(base, env, sock)
    finally:
        sock.close()
        if backend != "sqlite":
            asyncio.run(drop_scratch_postgres(url))
