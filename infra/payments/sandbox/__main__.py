"""``python -m infra.payments.sandbox [--port N]``: the payment sandbox as a process, for the dev stack."""

from __future__ import annotations

import argparse

from infra.payments.sandbox import create_sandbox_app
from infra.payments.sandbox.state import SandboxConfig
from infra.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m infra.payments.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.payment_sandbox_port)
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="bKash id_token lifetime, seconds")
    parser.add_argument("--slow-seconds", type=float, default=35.0, help="delay of calls marked slow")
    parser.add_argument("--late-seconds", type=float, default=5.0, help="delay of late callbacks")
    args = parser.parse_args(argv)
    config = SandboxConfig.from_settings(
        settings,
        token_ttl=args.token_ttl,
        slow_seconds=args.slow_seconds,
        late_callback_seconds=args.late_seconds,
    )
    app = create_sandbox_app(config)
    base = f"http://{args.host}:{args.port}"
    print(
        f"payments sandbox on {base}: bKash {base}/bkash, Nagad {base}/nagad, Rocket {base}/rocket, "
        f"SSLCommerz {base}/sslcommerz; "
        f"buyer page {base}/sandbox/pay/<paymentID>",
        flush=True,
    )
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
