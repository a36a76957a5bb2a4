"""Read replicas: search reads go to a replica, writes and everything else to default."""

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from frontend.db_router import ReplicaRouter, replica_databases, replica_reads
from search import similar
from search.models import Event, Impression, ProductRegion
from search.retrieval import MIN_EF_SEARCH
from search.worker_processes import database_url
from shop.models import Product
from tests.search.vectors import VERSION, indexed_product, near, random_unit

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")]

REPLICA = "replica1"


def test_replica_urls_become_aliases_mirrored_in_tests():
    databases = replica_databases(["postgres://reader@db-r1:5432/shop",
                                   "postgres://reader@db-r2:5432/shop"])

    assert list(databases) == ["replica1", "replica2"]
    assert databases["replica2"]["HOST"] == "db-r2"
    assert databases["replica1"]["TEST"] == {"MIRROR": "default"}
    assert replica_databases([]) == {}
    with pytest.raises(ImproperlyConfigured):
        replica_databases(["sqlite:///shop.db"])


def test_without_replicas_nothing_is_routed(settings):
    assert settings.DATABASE_ROUTERS == []
    with replica_reads():
        assert Product.objects.all().db == "default"


def test_router_sends_only_search_reads_to_replicas_and_migrates_default():
    router = ReplicaRouter()

    assert router.db_for_read(Product) == "default"
    assert router.db_for_write(Product) == "default"
    assert router.allow_migrate(REPLICA, "shop") is False
    assert router.allow_migrate("default", "shop") is True


@pytest.fixture
def replica(settings):
    """A second connection to the test database, configured as a replica alias."""
    config = replica_databases([database_url(connections["default"].settings_dict)])[REPLICA]
    configured = connections.configure_settings({"default": connections.settings["default"],
                                                 REPLICA: config})
    connections.settings[REPLICA] = configured[REPLICA]
    settings.DATABASES = {**settings.DATABASES, REPLICA: config}
    settings.DATABASE_ROUTERS = ["frontend.db_router.ReplicaRouter"]
    # The test case only lets aliases it knew at its start open connections lazily.
    connections[REPLICA].connect()
    yield REPLICA
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture
def queries():
    """Record the tables each alias reads or writes while the test runs."""
    seen: dict[str, list[str]] = {"default": [], REPLICA: []}

    def recorder(alias):
        def record(execute, sql, params, many, context):
            seen[alias].append(sql)
            return execute(sql, params, many, context)
        return record

    with connections["default"].execute_wrapper(recorder("default")), \
            connections[REPLICA].execute_wrapper(recorder(REPLICA)):
        yield seen


def touching(sqls: list[str], verb: str, table: str) -> bool:
    return any(sql.lstrip().upper().startswith(verb) and table in sql for sql in sqls)


def test_similar_items_read_the_replica_and_write_impressions_and_events_to_default(
        client, replica, queries, monkeypatch):
    monkeypatch.setattr(similar, "model_version", lambda: VERSION)
    rng = np.random.default_rng(5)
    query = random_unit(rng)
    indexed_product("QUERY", query)
    for number in range(3):
        indexed_product(f"NEAR-{number}", near(query, rng, 0.5))
    for sqls in queries.values():
        sqls.clear()

    response = client.get("/api/products/QUERY/similar", {"k": 2})

    assert response.status_code == 200
    assert touching(queries[REPLICA], "SELECT", "shop_product")
    assert touching(queries[REPLICA], "SELECT", "search_productregion")
    assert not touching(queries["default"], "SELECT", "search_productregion")
    # The HNSW scan settings must be those of the connection that runs the vector query:
    # every connection gets them when it opens (search.retrieval.hnsw_session_defaults).
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.iterative_scan'), "
                       "current_setting('hnsw.ef_search')")
        assert cursor.fetchone() == ("relaxed_order", str(MIN_EF_SEARCH))
    assert not any("hnsw.iterative_scan" in sql for sql in queries["default"])
    assert not any(sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for sql in queries[REPLICA])
    assert touching(queries["default"], "INSERT", "search_impression")
    assert Impression.objects.count() == 1

    request_id = response["X-Request-ID"]
    events = {"events": [{"event_id": "3c1d6f3e-1d5e-4c53-9a55-54c1e3b4d001", "kind": "click",
                          "request_id": request_id, "sku": response.json()[0]["sku"],
                          "position": 0}]}
    clicked = client.post("/api/events", events, content_type="application/json")

    assert clicked.status_code == 200, clicked.json()
    assert clicked.json()["accepted"] == 1, clicked.json()
    assert touching(queries["default"], "INSERT", "search_event")
    assert not touching(queries[REPLICA], "INSERT", "search_event")
    assert Event.objects.count() == 1


def test_outside_search_views_everything_reads_default(replica, queries):
    product = indexed_product("ADMIN-EDIT", random_unit(np.random.default_rng(1)))
    Product.objects.filter(pk=product.pk).update(title="Renamed")

    assert Product.objects.get(pk=product.pk).title == "Renamed"
    assert ProductRegion.objects.filter(product=product).exists()
    assert queries[REPLICA] == []
    with replica_reads():
        assert Product.objects.all().db == REPLICA
        assert Impression.objects.all().db == "default"
