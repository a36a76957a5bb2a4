"""Synthetic shoppers for demonstrating and testing experiments.

Each visitor opens a few pages of the experiment's surface through the real views (so
assignment, ranking and impression logging run as in production), looks down each list
with a position-biased examination model, clicks what attracts them, sometimes adds it
to the cart, and reports those events to the events API like the browser does.
"""

import random
import uuid
from dataclasses import dataclass

from django.test import Client

from frontend.middleware import VISITOR_COOKIE
from search.models import Experiment, Impression
from search.models.experiments import Surface
from shop.models import Product


@dataclass(frozen=True)
class ClickModel:
    """P(click at position i) = examination(i) * attractiveness * (1 + lift of its variant)."""

    attractiveness: float = 0.25
    position_decay: float = 0.7  # examination(i) = 1 / (i + 1) ** decay
    cart_rate: float = 0.2  # share of clicks followed by an add-to-cart
    pages_per_visitor: int = 2

    def click_probability(self, position: int, lift: float) -> float:
        return min(1.0, self.attractiveness * (1 + lift) / (position + 1) ** self.position_decay)


@dataclass
class SimulationReport:
    visitors: int = 0
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0


def traffic_simulate(*, experiment: Experiment, visitors: int, lift: float = 0.0,
                     seed: int = 0, model: ClickModel = ClickModel()) -> SimulationReport:
    """Send `visitors` synthetic shoppers through the experiment's surface.

    Every variant but the control gets a true relative effect of `lift` on attractiveness.
    """
    if experiment.surface == Surface.LOOK:
        raise ValueError("simulate shop the look with real photos; this drives similar "
                         "items and text search")
    rng = random.Random(seed)
    skus = list(Product.objects.filter(regions__position=0).values_list("sku", flat=True))
    titles = list(Product.objects.values_list("title", flat=True)[:500])
    if not skus:
        raise ValueError("no indexed products: run `manage.py index` first")
    report = SimulationReport()
    for number in range(visitors):
        # Each shopper has an address of their own, as real shoppers do for rate limits.
        address = f"127.{number // 62500 % 250}.{number // 250 % 250}.{number % 250 + 1}"
        client = Client(HTTP_USER_AGENT="Mozilla/5.0 (simulated shopper)", REMOTE_ADDR=address)
        client.cookies[VISITOR_COOKIE] = uuid.UUID(int=rng.getrandbits(128)).hex
        report.visitors += 1
        for _ in range(model.pages_per_visitor):
            request_id = _page_open(client, experiment.surface, rng, skus, titles)
            if request_id is None:
                continue
            report.impressions += 1
            impression = Impression.objects.get(pk=request_id)
            events = []
            for position, sku in enumerate(impression.skus):
                credited = impression.teams[position] if impression.teams else impression.variant
                effect = 0.0 if credited == experiment.control else lift
                if rng.random() < model.click_probability(position, effect):
                    events.append(_event("click", request_id, sku, position))
                    if rng.random() < model.cart_rate:
                        events.append(_event("add_to_cart", request_id, sku, position))
            if events:
                response = client.post("/api/events", {"events": events},
                                       content_type="application/json")
                assert response.status_code == 200, response.content
                report.clicks += sum(event["kind"] == "click" for event in events)
                report.add_to_carts += sum(event["kind"] == "add_to_cart" for event in events)
    return report


def _page_open(client: Client, surface: str, rng: random.Random, skus: list[str],
               titles: list[str]) -> str | None:
    if surface == Surface.SIMILAR:
        response = client.get(f"/api/products/{rng.choice(skus)}/similar", {"k": 10})
        return response.headers.get("X-Request-ID") if response.status_code == 200 else None
    words = rng.choice(titles).split()
    response = client.get("/api/search", {"q": " ".join(rng.sample(words, min(2, len(words))))})
    return response.json().get("request_id") if response.status_code == 200 else None


def _event(kind: str, request_id: str, sku: str, position: int) -> dict:
    return {"event_id": str(uuid.uuid4()), "kind": kind, "request_id": str(request_id),
            "sku": sku, "position": position}
