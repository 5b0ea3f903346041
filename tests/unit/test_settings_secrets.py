"""Secrets in settings (issue 19 part 3): files for values, the password joined to the URLs, weak secrets refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import DEV_JWT_SECRET, Settings, with_password
from infra.tokens import InsecureSettings, check_token_settings

STRONG = "x" * 32


def test_a_setting_can_come_from_a_file_and_the_plain_variable_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "jwt_secret"
    secret.write_text("from-the-file-0123456789-0123456789\n")
    monkeypatch.setenv("LIVECOMMERCE_JWT_SECRET_FILE", str(secret))
    monkeypatch.delenv("LIVECOMMERCE_JWT_SECRET", raising=False)
    assert Settings().jwt_secret == "from-the-file-0123456789-0123456789"  # stripped of its newline
    monkeypatch.setenv("LIVECOMMERCE_JWT_SECRET", "from-the-variable-0123456789-01234")
    assert Settings().jwt_secret == "from-the-variable-0123456789-01234"


def test_the_postgres_password_joins_urls_that_carry_none() -> None:
    s = Settings(
        postgres_url="postgresql://postgres@db:5432/lc",
        read_postgres_url="postgresql://reader@r/lc",
        postgres_password="p@ss/w:rd",
    )
    assert s.postgres_url == "postgresql://postgres:p%40ss%2Fw%3Ard@db:5432/lc"
    assert s.read_url == "postgresql://reader:p%40ss%2Fw%3Ard@r/lc"
    assert with_password("postgresql://u:own@h/db", "other") == "postgresql://u:own@h/db"  # its own wins


@pytest.mark.parametrize(
    ("update", "refused"),
    [
        ({"jwt_secret": DEV_JWT_SECRET}, "development one"),
        ({"jwt_secret": "short"}, "shorter than 32 bytes"),
        ({"jwt_secret": STRONG}, None),
        ({"jwt_secret": DEV_JWT_SECRET, "allow_dev_jwt_secret": True}, None),
        ({"jwt_algorithm": "RS256", "jwt_jwks_url": "https://id.example/jwks"}, "LIVECOMMERCE_JWT_AUDIENCE"),
        (
            {
                "jwt_algorithm": "HS256",
                "jwt_jwks_url": "https://id.example/jwks",
                "jwt_issuer": "i",
                "jwt_audience": "a",
            },
            "asymmetric",
        ),
        (
            {
                "jwt_algorithm": "RS256",
                "jwt_jwks_url": "https://id.example/jwks",
                "jwt_issuer": "i",
                "jwt_audience": "a",
            },
            None,
        ),
    ],
)
def test_token_settings_a_public_api_refuses(update: dict[str, object], refused: str | None) -> None:
    settings = Settings(allow_dev_jwt_secret=False).model_copy(update=update)
    if refused is None:
        check_token_settings(settings)
    else:
        with pytest.raises(InsecureSettings, match=refused):
            check_token_settings(settings)
