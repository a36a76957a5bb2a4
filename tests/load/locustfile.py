"""Shoppers for the load test (run by tests/load/run.py; pytest never collects this file).

Each simulated shopper keeps one visitor cookie and mixes what shoppers do: text search,
catalog and product pages, similar items, shop the look with a real outfit photo, and the
click events the browser reports about the lists it was shown. The skus and photos come
from files named by LOADTEST_SKUS and LOADTEST_PHOTOS (one path per line).
"""

import os
import random
import uuid
from pathlib import Path

from locust import HttpUser, between, task

SKUS = Path(os.environ["LOADTEST_SKUS"]).read_text().split()
PHOTOS = [Path(line).read_bytes()
          for line in Path(os.environ["LOADTEST_PHOTOS"]).read_text().split()]
QUERIES = ["red dress", "blue jeans", "white sneakers", "black handbag", "cotton shirt",
           "kurta", "printed tshirt", "leather belt", "sports shoes", "green top",
           "denim jacket", "watch", "floral skirt", "sunglasses", "men formal shirt"]
CATEGORIES = ["Tshirts", "Shirts", "Jeans", "Casual Shoes", "Handbags", "Watches", "Kurtas"]


class Shopper(HttpUser):
    # A shopper looks at each page for one to four seconds.
    wait_time = between(1, 4)

    def on_start(self):
        # Set without the Secure flag that production gives it, so it is sent over http.
        self.client.cookies.set("visitor", uuid.uuid4().hex)
        self.shown: list[tuple[str, list[str]]] = []  # (request id, skus) of lists seen

    def _remember(self, request_id, skus):
        if request_id and skus:
            self.shown = [*self.shown[-4:], (str(request_id), skus)]

    @task(6)
    def text_search(self):
        with self.client.get("/api/search", params={"q": random.choice(QUERIES)},
                             name="/api/search?q=", catch_response=True) as response:
            if response.status_code == 200:
                body = response.json()
                self._remember(body["request_id"], [hit["sku"] for hit in body["results"]])

    @task(4)
    def catalog_page(self):
        params = random.choice([{}, {"category": random.choice(CATEGORIES)},
                                {"q": random.choice(QUERIES)}, {"page": random.randint(1, 5)}])
        self.client.get("/", params=params, name="/ (catalog)")

    @task(4)
    def product_page(self):
        self.client.get(f"/products/{random.choice(SKUS)}/", name="/products/{sku}/")

    @task(6)
    def similar_items(self):
        response = self.client.get(f"/api/products/{random.choice(SKUS)}/similar",
                                   params={"k": 10}, name="/api/products/{sku}/similar")
        if response.status_code == 200:
            self._remember(response.headers.get("X-Request-ID"),
                           [hit["sku"] for hit in response.json()])

    @task(1)
    def shop_the_look(self):
        files = {"image": ("outfit.jpg", random.choice(PHOTOS), "image/jpeg")}
        response = self.client.post("/api/search/image", files=files, data={"k": 10},
                                    name="/api/search/image")
        if response.status_code == 200:
            for region in response.json()["regions"]:
                self._remember(region.get("request_id"),
                               [hit["sku"] for hit in region["results"]])

    @task(3)
    def click_events(self):
        if not self.shown:
            return
        request_id, skus = random.choice(self.shown)
        positions = random.sample(range(len(skus)), k=min(len(skus), random.randint(1, 3)))
        events = [{"event_id": str(uuid.uuid4()), "request_id": request_id,
                   "kind": random.choice(["click", "click", "add_to_cart"]),
                   "sku": skus[position], "position": position} for position in positions]
        with self.client.post("/api/events", json={"events": events}, name="/api/events",
                              catch_response=True) as response:
            if response.status_code == 200 and response.json()["rejected"]:
                response.failure(f"events rejected: {response.json()['rejected']}")
