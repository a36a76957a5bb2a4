"""Index product text for full-text search and as sentence embeddings."""

import hashlib

from django.db import connection, transaction
from tqdm import tqdm

from detection.text_embedder import embed_texts
from search.models import ProductText
from shop.models import Product

# Sentence encoders read a few hundred tokens at most; longer descriptions add nothing.
MAX_EMBEDDED_CHARACTERS = 1000

# Title words weigh most, then the shop's category, group and colour, then the description.
_DOCUMENT_SQL = """
UPDATE search_producttext AS t SET document =
    setweight(to_tsvector('english', p.title), 'A')
    || setweight(to_tsvector('english', concat_ws(' ', p.category, p."group", p.colour)), 'B')
    || setweight(to_tsvector('english', p.description), 'C')
FROM shop_product AS p
WHERE p.id = t.product_id AND t.product_id = ANY(%s)
"""


def product_text(product: Product) -> str:
    """Return the text that describes a product to the sentence encoder."""
    parts = [product.title, ", ".join(filter(None, [product.category, product.colour])),
             product.description]
    return ". ".join(part for part in parts if part)[:MAX_EMBEDDED_CHARACTERS]


def products_text_index(*, batch_size: int = 256, progress: bool = False) -> int:
    """Index the text of every product whose text changed; return how many were indexed."""
    indexed_hashes = dict(ProductText.objects.values_list("product_id", "text_sha256"))
    pending = []
    for product in Product.objects.only("pk", "title", "category", "colour", "description"):
        text = product_text(product)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if indexed_hashes.get(product.pk) != digest:
            pending.append((product.pk, text, digest))
    with tqdm(total=len(pending), unit="product", desc="text index", disable=not progress,
              dynamic_ncols=True) as bar:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            vectors = embed_texts([text for _, text, _ in batch])
            rows = [ProductText(product_id=pk, text_sha256=digest, embedding=vector)
                    for (pk, _, digest), vector in zip(batch, vectors, strict=True)]
            with transaction.atomic():
                ProductText.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["product"],
                    update_fields=["text_sha256", "embedding"],
                )
                with connection.cursor() as cursor:
                    cursor.execute(_DOCUMENT_SQL, [[pk for pk, _, _ in batch]])
            bar.update(len(batch))
    return len(pending)
