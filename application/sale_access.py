"""Who may act on an existing flash sale: checked on the sale (and its stream) as the writer sees them.

A sale's vendor and stream, and a reservation's buyer, never change once recorded, so checking them in a unit
of work of their own, just before the command, gives the same answer as checking inside it.
"""

from __future__ import annotations

from uuid import UUID

from application.access import Actor, get_optional, refuse, require_role
from application.batch_writer import BatchWriter, UnitOfWork
from application.flash_sales import FlashSaleNotFound
from domain.flash_sale import FlashSale
from domain.live_stream import LiveStream


def _sale_not_found(sale_id: UUID) -> Exception:
    return FlashSaleNotFound("flash sale not found", flash_sale_id=str(sale_id))


async def authorize_sale(
    writer: BatchWriter, sale_id: UUID, actor: Actor, action: str, *, reservation_id: str | None = None
) -> None:
    """The sale's vendor, the host of its stream, an admin, and (for ``flash_sale.release``) the buyer who
    holds the reservation may act; anyone else gets ``NotPermitted``."""
    require_role(actor, action)
    if actor.is_admin:
        return

    def decide(uow: UnitOfWork) -> None:
        sale: FlashSale = uow.get(sale_id)
        if not isinstance(sale, FlashSale):
            raise _sale_not_found(sale_id)
        held = sale.reservations.get(reservation_id) if reservation_id else None
        if held is not None and action == "flash_sale.release" and str(held["buyer_id"]) == actor.user_id:
            return
        if "vendor" in actor.roles and actor.vendor_id is not None and str(sale.vendor_id) == actor.vendor_id:
            return
        if "host" in actor.roles and sale.stream_id is not None:
            stream = get_optional(uow, UUID(str(sale.stream_id)))
            if isinstance(stream, LiveStream) and stream.host_id == actor.user_id:
                return
        raise refuse(action, "this sale is not yours")

    await writer.submit(decide, not_found=_sale_not_found)
