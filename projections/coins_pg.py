"""PostgreSQL ``coin_wallets`` (balance), ``coin_wallet_entries`` (history), ``host_gift_earnings`` (what each
host earned from each gift, for the dashboard), ``gift_catalogue`` / ``gifts`` (the catalogue on offer).

Each wallet event is applied once, behind the wallet row's ``aggregate_version`` (the version is moved first; a
redelivered event moves nothing and writes nothing), and the catalogue's events behind the catalogue's version.
"""

from __future__ import annotations

from application.envelope import Envelope
from projections.ports import SqlTx
from projections.routed_table import RoutedTable
from projections.timeutil import naive_utc


async def _wallet(tx: SqlTx, e: Envelope) -> None:
    d, at, v, wid = e.payload, naive_utc(e.occurred_at), e.aggregate_version, e.aggregate_id
    if e.type == "CoinWallet.Opened":
        await tx.execute(
            "INSERT INTO coin_wallets (id, user_id, updated_at, aggregate_version) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING",
            (wid, d["user_id"], at, v),
        )
        return
    moved = await tx.execute(
        "UPDATE coin_wallets SET aggregate_version = %s, updated_at = %s WHERE id = %s AND aggregate_version < %s",
        (v, at, wid, v),
    )
    if not moved:
        return  # seen already
    if e.type == "CoinWallet.TopUpRequested":
        await tx.execute(
            "INSERT INTO coin_wallet_entries (wallet_id, entry_id, kind, status, coins, amount, payment_method,"
            " created_at, updated_at, aggregate_version) VALUES (%s, %s, 'top_up', 'requested', %s, %s, %s, %s, %s,"
            " %s) ON CONFLICT DO NOTHING",
            (wid, d["top_up_id"], d["coins"], d["amount"], d["payment_method"], at, at, v),
        )
    elif e.type == "CoinWallet.TopUpSessionOpened":
        await _entry(tx, wid, d["top_up_id"], "status = 'processing'", (), at, v)
    elif e.type == "CoinWallet.ToppedUp":
        await _entry(
            tx, wid, d["top_up_id"], "status = 'credited', balance = %s, reason = NULL", (d["balance"],), at, v
        )
        await tx.execute(
            "UPDATE coin_wallets SET balance = %s, coins_bought = coins_bought + %s WHERE id = %s",
            (d["balance"], d["coins"], wid),
        )
    elif e.type == "CoinWallet.TopUpFailed":
        await _entry(tx, wid, d["top_up_id"], "status = 'failed', reason = %s", (d["reason"],), at, v)
    elif e.type == "CoinWallet.GiftSent":
        await tx.execute(
            "INSERT INTO coin_wallet_entries (wallet_id, entry_id, kind, status, coins, balance, stream_id, gift_id,"
            " quantity, message, created_at, updated_at, aggregate_version) VALUES (%s, %s, 'gift', 'sent', %s, %s,"
            " %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                wid,
                d["send_id"],
                -int(d["coins"]),
                d["balance"],
                d["stream_id"],
                d["gift_id"],
                d["quantity"],
                d.get("message"),
                at,
                at,
                v,
            ),
        )
        await tx.execute(
            "UPDATE coin_wallets SET balance = %s, coins_spent = coins_spent + %s WHERE id = %s",
            (d["balance"], d["coins"], wid),
        )
        await tx.execute(
            "INSERT INTO host_gift_earnings (send_id, host_id, stream_id, sender_id, gift_id, quantity, coins,"
            " host_amount, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                d["send_id"],
                d["host_id"],
                d["stream_id"],
                d["sender_id"],
                d["gift_id"],
                d["quantity"],
                d["coins"],
                d["host_amount"],
                at,
            ),
        )


async def _entry(
    tx: SqlTx, wid: str, entry_id: str, sets: str, params: tuple[object, ...], at: object, v: int | None
) -> None:
    await tx.execute(
        f"UPDATE coin_wallet_entries SET {sets}, updated_at = %s, aggregate_version = %s"  # noqa: S608
        " WHERE wallet_id = %s AND entry_id = %s",
        (*params, at, v, wid, entry_id),
    )


async def _catalogue(tx: SqlTx, e: Envelope) -> None:
    d, at, v = e.payload, naive_utc(e.occurred_at), e.aggregate_version
    if e.type == "GiftCatalogue.Started":
        await tx.execute(
            "INSERT INTO gift_catalogue (id, aggregate_version) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (e.aggregate_id, v),
        )
        return
    moved = await tx.execute(
        "UPDATE gift_catalogue SET aggregate_version = %s WHERE id = %s AND aggregate_version < %s",
        (v, e.aggregate_id, v),
    )
    if not moved:
        return
    if e.type == "GiftCatalogue.GiftListed":
        await tx.execute(
            "INSERT INTO gifts (gift_id, name, name_bn, coins, animation_key, active, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, TRUE, %s) ON CONFLICT (gift_id) DO UPDATE SET name = EXCLUDED.name,"
            " name_bn = EXCLUDED.name_bn, coins = EXCLUDED.coins, animation_key = EXCLUDED.animation_key,"
            " active = TRUE, updated_at = EXCLUDED.updated_at",
            (d["gift_id"], d["name"], d["name_bn"], d["coins"], d["animation_key"], at),
        )
    elif e.type == "GiftCatalogue.GiftRetired":
        await tx.execute("UPDATE gifts SET active = FALSE, updated_at = %s WHERE gift_id = %s", (at, d["gift_id"]))


class CoinsTables(RoutedTable):
    name = "coins"
    routes = {"CoinWallet.": _wallet, "GiftCatalogue.": _catalogue}
    truncate = ("coin_wallets", "coin_wallet_entries", "host_gift_earnings", "gift_catalogue", "gifts")


# ---- queries ----------------------------------------------------------------------------------------------
async def get_wallet(db: SqlTx, wallet_id: str) -> dict[str, object] | None:
    rows = await db.fetch(
        "SELECT id, user_id, balance, coins_bought, coins_spent, updated_at, aggregate_version"
        " FROM coin_wallets WHERE id = %s",
        (wallet_id,),
    )
    return rows[0] if rows else None


async def wallet_history(db: SqlTx, wallet_id: str, limit: int) -> list[dict[str, object]]:
    return await db.fetch(
        "SELECT entry_id, kind, status, coins, balance, amount, payment_method, stream_id, gift_id, quantity,"
        " message, reason, created_at, updated_at FROM coin_wallet_entries WHERE wallet_id = %s"
        " ORDER BY created_at DESC, aggregate_version DESC LIMIT %s",
        (wallet_id, limit),
    )


async def get_catalogue(db: SqlTx, catalogue_id: str) -> dict[str, object] | None:
    rows = await db.fetch("SELECT id, aggregate_version FROM gift_catalogue WHERE id = %s", (catalogue_id,))
    return rows[0] if rows else None


async def active_gifts(db: SqlTx) -> list[dict[str, object]]:
    return await db.fetch(
        "SELECT gift_id, name, name_bn, coins, animation_key FROM gifts WHERE active ORDER BY coins, gift_id"
    )


async def host_gift_totals(
    db: SqlTx, host_user_id: str, bounds: dict[str, tuple[object, object]]
) -> dict[str, dict[str, object]]:
    """Coins and taka a host earned from gifts: all time, and between each named pair of bounds."""
    out: dict[str, dict[str, object]] = {}
    for name, (start, end) in {"total": (None, None), **bounds}.items():
        rows = await db.fetch(
            "SELECT count(*) AS gifts, COALESCE(sum(coins), 0) AS coins, COALESCE(sum(host_amount), 0) AS amount"
            " FROM host_gift_earnings WHERE host_id = %s AND (%s::timestamp IS NULL OR occurred_at >= %s)"
            " AND (%s::timestamp IS NULL OR occurred_at < %s)",
            (host_user_id, start, start, end, end),
        )
        out[name] = rows[0]
    return out
