"""Catalog writes that views, the admin and commands share."""

from django.db import transaction
from django.utils import timezone

from shop.garment_classes import garment_class_default
from shop.models import CategoryMapping, Product


def category_classes_ensure(*, groups_by_category: dict[str, str]) -> dict[str, str]:
    """Return the garment class of each category, creating default mappings for new ones."""
    categories = set(groups_by_category)
    known = dict(
        CategoryMapping.objects.filter(category__in=categories).values_list(
            "category", "garment_class"
        )
    )
    missing = [
        CategoryMapping(category=category,
                        garment_class=garment_class_default(category, groups_by_category[category]))
        for category in sorted(categories - set(known))
    ]
    if missing:
        # A concurrent import may create the same rows; the stored one wins either way.
        CategoryMapping.objects.bulk_create(missing, ignore_conflicts=True)
        known.update(
            CategoryMapping.objects.filter(
                category__in=[mapping.category for mapping in missing]
            ).values_list("category", "garment_class")
        )
    return known


@transaction.atomic
def category_mapping_save(*, mapping: CategoryMapping) -> int:
    """Save a category's garment class and re-label its products; return how many changed."""
    mapping.full_clean()
    mapping.save()
    return (
        Product.objects.filter(category=mapping.category)
        .exclude(garment_class=mapping.garment_class)
        .update(garment_class=mapping.garment_class, updated_at=timezone.now())
    )
