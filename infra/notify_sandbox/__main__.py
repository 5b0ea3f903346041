"""``python -m infra.notify_sandbox [--http-port N] [--smtp-port N] [--fcm-service-account FILE]``: the
notification providers' sandbox as a process (the dev stack, the tests).

The service account file is the one the ``notify`` process signs with (LIVECOMMERCE_FCM_SERVICE_ACCOUNT_FILE);
the sandbox verifies assertions with its public key. ``--create-service-account`` writes a fresh one there
(dev only: a real key comes from the Firebase console and never sits in the repository).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from aiohttp import web
from aiosmtpd.smtp import SMTP
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.notify_sandbox import Inbox, MailSink, create_app
from infra.settings import load_settings


def new_service_account(path: Path, token_uri: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "livecommerce-sandbox",
                "private_key_id": "sandbox",
                "private_key": pem,
                "client_email": "notify@livecommerce-sandbox.iam.gserviceaccount.com",
                "token_uri": token_uri,
            }
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)


async def serve(args: argparse.Namespace) -> None:
    public_key = None
    if args.fcm_service_account:
        account = json.loads(Path(args.fcm_service_account).read_text(encoding="utf-8"))
        private = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
        public_key = private.public_key()
    inbox = Inbox(public_key, None, args.sms_api_key)
    runner = web.AppRunner(create_app(inbox), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.http_port).start()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(MailSink(inbox), hostname="sandbox"), args.host, args.smtp_port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    base = f"http://{args.host}:{args.http_port}"
    print(
        f"notify sandbox on {base}: FCM {base} (token {base}/oauth2/token), SMS {base}/api/smsapi, "
        f"web push {base}/push/<id>, received {base}/sandbox/received; SMTP {args.host}:{args.smtp_port}",
        flush=True,
    )
    await stop.wait()
    smtp.close()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    s = load_settings()
    p = argparse.ArgumentParser(prog="python -m infra.notify_sandbox", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--http-port", type=int, default=s.notify_sandbox_http_port)
    p.add_argument("--smtp-port", type=int, default=s.notify_sandbox_smtp_port)
    p.add_argument("--fcm-service-account", type=Path, default=s.fcm_service_account_file)
    p.add_argument("--create-service-account", action="store_true")
    p.add_argument("--sms-api-key", default=s.sms_api_key or "sandbox-sms-key")
    args = p.parse_args(argv)
    if args.create_service_account and args.fcm_service_account and not args.fcm_service_account.exists():
        new_service_account(args.fcm_service_account, f"http://{args.host}:{args.http_port}/oauth2/token")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
