"""Read replicas: search endpoints read the catalog and its index from a replica.

`DATABASE_REPLICA_URLS` adds one database alias per replica (`replica1`, `replica2`, ...).
Reads of the models search ranks over (products, their vectors and texts) made inside
`replica_reads()` go to one replica chosen at random per block, so one request sees one
consistent snapshot; every write, every other read and all migrations use `default`.
Code outside `replica_reads()` (admin, imports, indexing) always reads `default`, so it
never sees its own writes late because of replication lag. No replicas: no router.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import dj_database_url
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REPLICA_PREFIX = "replica"
# What the search endpoints read: the catalog, the vector and text indexes, and the photos'
# local descriptors that similar items re-ranks with.
REPLICA_MODELS = {("shop", "product"), ("search", "productregion"), ("search", "producttext"),
                  ("search", "photodescriptors")}

_replica: ContextVar[str | None] = ContextVar("replica", default=None)


def replica_databases(urls: list[str]) -> dict[str, dict]:
    """Return Django database settings for each replica URL, named replica1, replica2, ..."""
    databases = {}
    for number, url in enumerate(urls, start=1):
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        if config["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured("DATABASE_REPLICA_URLS must point at PostgreSQL.")
        # Tests read the replica through the test database itself.
        config["TEST"] = {"MIRROR": "default"}
        databases[f"{REPLICA_PREFIX}{number}"] = config
    return databases


def replica_aliases() -> list[str]:
    """Return the configured replica aliases."""
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


@contextmanager
def replica_reads() -> Iterator[None]:
    """Read search models from one replica within this block; also a view decorator."""
    aliases = replica_aliases()
    token = _replica.set(random.choice(aliases) if aliases else None)
    try:
        yield
    finally:
        _replica.reset(token)


class ReplicaRouter:
    """Send search reads inside `replica_reads()` to a replica, everything else to default."""

    def db_for_read(self, model, **hints) -> str:
        alias = _replica.get()
        if alias and (model._meta.app_label, model._meta.model_name) in REPLICA_MODELS:
            return alias
        return "default"

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Every alias holds the same data, so objects from any of them may be related.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == "default"
