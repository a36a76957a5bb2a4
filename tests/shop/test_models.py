"""Product model rules that the database enforces."""

import pytest
from django.db import IntegrityError

from shop.models import Product

pytestmark = pytest.mark.django_db


def product(**fields) -> Product:
    values = {"sku": "A-1", "title": "Shirt", "image": "products/a.jpg", "image_sha256": "a" * 64}
    values.update(fields)
    return Product.objects.create(**values)


def test_sku_is_unique():
    product()
    with pytest.raises(IntegrityError):
        product(title="Another shirt")


def test_thumbnail_url_falls_back_to_the_photo():
    assert product().thumbnail_url == "/media/products/a.jpg"
    with_thumbnail = product(sku="B-1", thumbnail="thumbnails/b.jpg")
    assert with_thumbnail.thumbnail_url == "/media/thumbnails/b.jpg"


def test_vector_extension_is_installed(django_db_setup):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
        cursor.execute("SELECT '[1,2,3]'::vector <=> '[1,2,4]'::vector")
        (distance,) = cursor.fetchone()
    assert version.startswith("0.8")
    assert 0 < distance < 0.01
