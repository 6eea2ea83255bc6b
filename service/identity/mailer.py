"""Mail to people (sign-in links): a pluggable mailer.

``FileOutbox`` (the embedded default) writes each message as an ``.eml`` file under
``var_dir/outbox`` (mode 0600) for a local operator or the demo to read; ``SmtpMailer`` sends through
an SMTP relay with aiosmtplib (STARTTLS or implicit TLS). Messages go out after the transaction that
created the link commits, never for one that rolls back.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import after_commit, utcnow


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def compose(settings: Settings, *, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.console.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="portrait.invalid")
    message.set_content(body)
    return message


def mail_sign_in_link(
    session: AsyncSession,
    settings: Settings,
    mailer: Mailer,
    *,
    to: str,
    name: str,
    subject: str,
    invitation: str,
    url: str,
) -> None:
    """A one-time sign-in link by mail, sent once ``session``'s transaction commits (never for one that
    rolls back). ``invitation`` says what the link opens ("Open this link to sign in to ...")."""
    minutes = settings.console.link_ttl_seconds // 60
    message = compose(
        settings,
        to=to,
        subject=subject,
        body=(
            f"Hello {name},\n\n{invitation}:\n\n{url}\n\n"
            f"The link works once, within {minutes} minutes. If you did not ask for it, ignore this "
            "message: nobody can sign in without the link.\n"
        ),
    )

    async def send() -> None:
        await mailer.send(message)

    after_commit(session, send)


class FileOutbox:
    """Writes messages to a directory, one ``<timestamp>-<id>.eml`` file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _write(self, message: EmailMessage) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes())
        return path

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)


class SmtpMailer:
    """Sends through the SMTP relay of ``settings.console.smtp``."""

    def __init__(self, settings: Settings) -> None:
        self.smtp = settings.console.smtp

    async def send(self, message: EmailMessage) -> None:
        import aiosmtplib

        smtp = self.smtp
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password.get_secret_value() if smtp.password else None,
            start_tls=smtp.start_tls and not smtp.use_tls,
            use_tls=smtp.use_tls,
            timeout=smtp.timeout_seconds,
        )


def outbox_dir(settings: Settings) -> Path:
    return settings.var_dir / "outbox"


def mailer_for(settings: Settings) -> Mailer:
    if settings.console.mailer == "smtp":
        return SmtpMailer(settings)
    return FileOutbox(outbox_dir(settings))
