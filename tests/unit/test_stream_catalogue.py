"""Stream products against the catalogue (issue 19 part 5, ADR 0017), with an in-memory catalogue."""

from __future__ import annotations

import pytest

from application.streams import check_catalogue
from domain.errors import ProductNotInCatalogue, ProductOfAnotherVendor


class Catalogue:
    def __init__(self, owners: dict[str, str], required: bool = False) -> None:
        self._owners, self._required = owners, required

    async def owners(self, product_ids: list[str]) -> dict[str, str]:
        return {p: v for p, v in self._owners.items() if p in product_ids}

    async def requires_catalogue(self, vendor_id: str) -> bool:
        return self._required or vendor_id in self._owners.values()


async def test_own_products_pass_and_another_vendors_never_do() -> None:
    cat = Catalogue({"p1": "A", "p2": "B"})
    await check_catalogue(cat, "A", ["p1"])
    await check_catalogue(None, "A", ["p2"])  # no catalogue wired (unit tests of other services): nothing to ask
    with pytest.raises(ProductOfAnotherVendor) as info:
        await check_catalogue(cat, "A", ["p1", "p2"])
    assert info.value.details == {"product_ids": ["p2"]} and info.value.http_status == 409


async def test_unknown_products_only_once_the_vendor_has_a_catalogue_or_it_is_required() -> None:
    await check_catalogue(Catalogue({"p1": "A"}), "C", ["made-up"])  # C has no catalogue yet: allowed
    with pytest.raises(ProductNotInCatalogue) as info:
        await check_catalogue(Catalogue({"p1": "A"}), "A", ["p1", "made-up"])
    assert info.value.http_status == 422 and info.value.details == {"product_ids": ["made-up"]}
    with pytest.raises(ProductNotInCatalogue):
        await check_catalogue(Catalogue({}, required=True), "C", ["made-up"])
