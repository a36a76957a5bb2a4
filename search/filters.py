"""Filters every search accepts: class, category, colour, price range, stock."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q


@dataclass(frozen=True)
class ProductFilters:
    """Conditions on products; None means "any"."""

    garment_class: str | None = None
    category: str | None = None
    colour: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None

    def q(self, prefix: str = "") -> Q:
        """Return the filters as a Q on Product, or on a model reaching it through `prefix`."""
        conditions = Q()
        exact = {"garment_class": self.garment_class, "category__iexact": self.category,
                 "colour__iexact": self.colour, "price__gte": self.price_min,
                 "price__lte": self.price_max}
        for lookup, value in exact.items():
            if value is not None:
                conditions &= Q(**{prefix + lookup: value})
        if self.in_stock is True:
            # Untracked stock (NULL) counts as available, like most shops show it.
            conditions &= Q(**{prefix + "stock__gt": 0}) | Q(**{prefix + "stock__isnull": True})
        elif self.in_stock is False:
            conditions &= Q(**{prefix + "stock": 0})
        return conditions

    def with_class(self, garment_class: str | None) -> "ProductFilters":
        """Return a copy restricted to one garment class (None keeps the current one)."""
        if garment_class is None:
            return self
        return ProductFilters(garment_class, self.category, self.colour, self.price_min,
                              self.price_max, self.in_stock)
