"""The mailers: the file outbox (embedded default) and SMTP through aiosmtplib, against a minimal SMTP
server run by the test (a fake of the relay, the one external system here)."""

from __future__ import annotations

import asyncio
import email
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from service.config import ConsoleSettings, Settings, SmtpSettings
from service.identity.mailer import FileOutbox, SmtpMailer, compose, mailer_for


@dataclass
class FakeRelay:
    """Speaks just enough SMTP (RFC 5321) to accept messages, and records the envelope and data."""

    received: list[dict[str, object]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        envelope: dict[str, object] = {"rcpt": []}

        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await reply("220 relay.test ESMTP")
        while line := await reader.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                await reply("250-relay.test")
                await reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                envelope["auth"] = command
                await reply("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                envelope["from"] = command
                await reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(command)  # type: ignore[attr-defined]
                await reply("250 OK")
            elif verb == "DATA":
                await reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := await reader.readline()) != b".\r\n":
                    data += chunk
                envelope["data"] = data
                self.received.append(envelope)
                envelope = {"rcpt": []}
                await reply("250 OK queued")
            elif verb == "QUIT":
                await reply("221 Bye")
                break
            else:
                await reply("250 OK")
        writer.close()


def settings_for(tmp_path: Path, **smtp: object) -> Settings:
    return Settings(
        var_dir=tmp_path,
        database_url="sqlite+aiosqlite:///:memory:",
        public_url="https://portrait.test",
        console=ConsoleSettings(
            mailer="smtp", mail_from="Portrait <console@portrait.test>", smtp=SmtpSettings(**smtp)
        ),  # type: ignore[arg-type]
    )


async def test_smtp_mailer_delivers_through_the_relay(tmp_path: Path) -> None:
    relay = FakeRelay()
    server = await asyncio.start_server(relay.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        settings = settings_for(
            tmp_path,
            host="127.0.0.1",
            port=port,
            start_tls=False,
            username="portrait",
            password=SecretStr("pw"),
        )
        mailer = mailer_for(settings)
        assert isinstance(mailer, SmtpMailer)
        message = compose(
            settings, to="counselor@district.test", subject="Sign in", body="Open https://x/1\n"
        )
        await mailer.send(message)
    (envelope,) = relay.received
    assert envelope["from"] == "MAIL FROM:<console@portrait.test>"
    assert envelope["rcpt"] == ["RCPT TO:<counselor@district.test>"]
    assert str(envelope["auth"]).startswith("AUTH PLAIN")
    parsed = email.message_from_bytes(envelope["data"])  # type: ignore[arg-type]
    assert parsed["Subject"] == "Sign in" and parsed["To"] == "counselor@district.test"
    assert "Open https://x/1" in parsed.get_payload()


async def test_file_outbox_writes_private_eml_files(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url="sqlite+aiosqlite:///:memory:")
    mailer = mailer_for(settings)
    assert isinstance(mailer, FileOutbox)
    await mailer.send(compose(settings, to="a@b.test", subject="One", body="first\n"))
    await mailer.send(compose(settings, to="a@b.test", subject="Two", body="second\n"))
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [email.message_from_bytes(f.read_bytes())["Subject"] for f in files] == ["One", "Two"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
