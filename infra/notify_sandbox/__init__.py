"""A local stand-in for the notification providers, speaking their real protocols (issue 20 part 7): FCM HTTP v1
with its OAuth2 token endpoint, a Bangladeshi SMS gateway's HTTP API, a web-push service, and an SMTP server
(``aiosmtpd``). The providers cannot be reached from dev and CI, like the payment sandbox's.

``python -m infra.notify_sandbox`` runs it; everything it received is at ``GET /sandbox/received`` (JSON) and
is forgotten on restart. It checks what the real services check: the token endpoint verifies the JWT assertion
with the service account's public key and issues short-lived bearer tokens that messages:send requires; the
SMS gateway checks its API key and the number; the push service wants an ``aes128gcm`` body and a VAPID
``Authorization``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import time
from email import message_from_bytes, policy
from typing import Any

import jwt
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

MSISDN = re.compile(r"^8801[3-9][0-9]{8}$")


class Inbox:
    def __init__(self, fcm_public_key: Any | None, fcm_audience: str | None, sms_api_key: str) -> None:
        self.fcm_public_key, self.fcm_audience, self.sms_api_key = fcm_public_key, fcm_audience, sms_api_key
        self.received: list[dict[str, Any]] = []
        self.tokens: dict[str, float] = {}
        self.ids = itertools.count(1)

    def add(self, kind: str, **record: Any) -> int:
        n = next(self.ids)
        self.received.append({"id": n, "kind": kind, "at": time.time(), **record})
        return n


def _google_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "status": code, "message": message}}, status=status)


async def token(request: web.Request) -> web.Response:
    inbox: Inbox = request.app["inbox"]
    form = await request.post()
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    if inbox.fcm_public_key is None:
        return web.json_response({"error": "invalid_client", "error_description": "no service account"}, status=401)
    try:
        claims = jwt.decode(
            str(form.get("assertion")),
            inbox.fcm_public_key,
            algorithms=["RS256"],
            audience=inbox.fcm_audience or str(request.url),
            options={"require": ["exp", "iat"]},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        return web.json_response({"error": "invalid_grant", "error_description": str(exc)}, status=400)
    if "firebase.messaging" not in claims.get("scope", ""):
        return web.json_response({"error": "invalid_scope"}, status=400)
    access = "ya29.sandbox-" + secrets.token_urlsafe(24)
    inbox.tokens[access] = time.time() + 3600
    inbox.add("fcm_token", client_email=claims.get("iss"), access_token=access)
    return web.json_response({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})


async def fcm_send(request: web.Request) -> web.Response:
    inbox: Inbox = request.app["inbox"]
    auth = request.headers.get("Authorization", "")
    bearer = auth.removeprefix("Bearer ")
    if not auth.startswith("Bearer ") or inbox.tokens.get(bearer, 0) < time.time():
        return _google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    body = await request.json()
    message = body.get("message") or {}
    if not message.get("token"):
        return _google_error(400, "INVALID_ARGUMENT", "message.token is required")
    if message["token"].startswith("unregistered"):
        return _google_error(404, "NOT_FOUND", "Requested entity was not found. (UNREGISTERED)")
    project = request.match_info["project"]
    n = inbox.add("fcm", project=project, authorization=auth, message=message)
    return web.json_response({"name": f"projects/{project}/messages/{n}"})


async def sms(request: web.Request) -> web.Response:
    inbox: Inbox = request.app["inbox"]
    form = await request.post()
    if form.get("api_key") != inbox.sms_api_key:
        return web.json_response({"response_code": 1002, "error_message": "Sender Id/Masking Not Found"})
    if not MSISDN.match(str(form.get("number", ""))):
        return web.json_response({"response_code": 1001, "error_message": "Invalid Number"})
    n = inbox.add("sms", **{k: str(v) for k, v in form.items() if k != "api_key"})
    return web.json_response(
        {"response_code": 202, "message_id": n, "success_message": "SMS Submitted Successfully", "error_message": ""}
    )


async def push(request: web.Request) -> web.Response:
    inbox: Inbox = request.app["inbox"]
    if not request.headers.get("Authorization", "").startswith("vapid t="):
        return web.Response(status=401, text="VAPID Authorization required")
    if request.headers.get("Content-Encoding") != "aes128gcm":
        return web.Response(status=400, text="Content-Encoding must be aes128gcm")
    body = await request.read()
    n = inbox.add(
        "web_push",
        subscription=request.match_info["sub"],
        headers=dict(request.headers),
        body_b64=base64.b64encode(body).decode(),
    )
    return web.Response(status=201, headers={"Location": f"{request.url.origin()}/push/messages/{n}"})


async def received(request: web.Request) -> web.Response:
    inbox: Inbox = request.app["inbox"]
    kind = request.query.get("kind")
    return web.json_response([r for r in inbox.received if kind is None or r["kind"] == kind])


def create_app(inbox: Inbox) -> web.Application:
    app = web.Application()
    app["inbox"] = inbox
    app.router.add_post("/oauth2/token", token)
    app.router.add_post("/v1/projects/{project}/messages:send", fcm_send)
    app.router.add_post("/api/smsapi", sms)
    app.router.add_post("/push/{sub}", push)
    app.router.add_get("/sandbox/received", received)
    return app


class MailSink:
    """aiosmtpd handler: every accepted message is recorded, decoded."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = message_from_bytes(raw, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        n = self.inbox.add(
            "email",
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            subject=str(msg["Subject"]),
            body=body.get_content() if body else "",
            headers={k: str(v) for k, v in msg.items()},
            raw=raw.decode("utf-8", "replace"),
        )
        return f"250 2.0.0 Ok: queued as SANDBOX{n}"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
