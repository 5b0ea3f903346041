"""PostgreSQL ``group_buys``: status, buyers so far against the target, prices, deadline."""

from __future__ import annotations

from application.envelope import Envelope
from projections.ports import SqlTx
from projections.routed_table import RoutedTable
from projections.timeutil import naive_utc


async def _apply(tx: SqlTx, e: Envelope) -> None:
    d, at, v = e.payload, naive_utc(e.occurred_at), e.aggregate_version
    if e.type == "GroupBuy.Launched":
        await tx.execute(
            "INSERT INTO group_buys (id, stream_id, product_id, status, regular_price, group_price, min_buyers,"
            " max_buyers, deadline, updated_at, aggregate_version) VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s,"
            " %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                e.aggregate_id,
                d.get("stream_id"),
                d["product_id"],
                d["regular_price"],
                d["group_price"],
                d["min_buyers"],
                d.get("max_buyers"),
                naive_utc(d["deadline"]),
                at,
                v,
            ),
        )
        return
    sets = {
        "GroupBuy.Joined": "buyers = buyers + 1",
        "GroupBuy.Left": "buyers = buyers - 1",
        "GroupBuy.Unlocked": "status = 'unlocked'",
        "GroupBuy.Failed": "status = 'failed'",
    }.get(e.type, "")
    await tx.execute(
        "UPDATE group_buys SET aggregate_version = %s, updated_at = %s"
        + (", " + sets if sets else "")
        + " WHERE id = %s AND aggregate_version < %s",
        (v, at, e.aggregate_id, v),
    )


class GroupBuysTable(RoutedTable):
    name = "group_buys"
    routes = {"GroupBuy.": _apply}
    truncate = ("group_buys",)
