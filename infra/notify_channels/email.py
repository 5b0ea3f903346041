"""E-mail over SMTP (``aiosmtplib``): a plain-text UTF-8 message in the person's language."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib


class SmtpSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 15.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout

    async def send(self, to: str, subject: str, body: str, reference: str) -> str:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg["Message-ID"] = make_msgid(idstring=reference.replace(":", "."), domain="livecommerce")
        msg["X-Delivery-Id"] = reference
        msg.set_content(body, charset="utf-8")
        _, reply = await aiosmtplib.send(
            msg,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )
        return f"{msg['Message-ID']} {reply}".strip()
