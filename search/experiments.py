"""Experiment services: assign visitors to variants, log what they saw and did."""

import hashlib
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from search.models import Event, Experiment, Exposure, Impression
from search.rankers import DEFAULT_RANKER

# Crawlers and scripts announce themselves; they are not shoppers.
BOT_USER_AGENT = re.compile(
    r"bot\b|crawl|spider|slurp|bingpreview|facebookexternalhit|python-requests|curl/|wget/",
    re.IGNORECASE,
)
INTERLEAVED = "interleaved"


@dataclass(frozen=True)
class Assignment:
    """What one visitor gets on one surface."""

    rankers: tuple[str, ...]  # one for an A/B variant, two when interleaving
    variant: str
    experiment: Experiment | None = None
    logged: bool = True  # False for staff and bots that the experiment excludes


def bucket(experiment_key: str, visitor_id: str) -> float:
    """Return the visitor's stable position in [0, 1) for this experiment."""
    digest = hashlib.sha256(f"{experiment_key}:{visitor_id}".encode()).hexdigest()
    return int(digest[:15], 16) / 16**15


def variant_assign(*, experiment: Experiment, visitor_id: str) -> str:
    """Return the variant a visitor sees: deterministic, sticky, in proportion to weights."""
    variants = list(experiment.variants.all())
    total = sum(variant.weight for variant in variants)
    point = bucket(experiment.key, visitor_id) * total
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return variant.ranker
    return variants[-1].ranker


# Running experiments by surface, as (read at, experiment or None), reused for
# EXPERIMENT_CACHE_SECONDS: every search asks, and the answer rarely changes.
_running: dict[str, tuple[float, Experiment | None]] = {}
_running_lock = threading.Lock()
# Bumped by every clear, so a read that started before a change is not cached after it.
_running_generation = 0


def experiment_running(surface: str) -> Experiment | None:
    """Return the running experiment on a surface, if any, with its variants prefetched.

    Each process reuses what it read for EXPERIMENT_CACHE_SECONDS; saving or deleting an
    experiment or a variant clears that at once in the process that saved it
    (`experiments_cache_clear`); other processes, and a request that read while the
    change was not yet committed, catch up within those seconds.
    """
    now = time.monotonic()
    cached = _running.get(surface)
    if cached is not None and now - cached[0] < settings.EXPERIMENT_CACHE_SECONDS:
        return cached[1]
    generation = _running_generation
    experiment = (
        Experiment.objects.filter(surface=surface, status=Experiment.Status.RUNNING)
        .prefetch_related("variants")
        .first()
    )
    with _running_lock:
        if generation == _running_generation:
            _running[surface] = (now, experiment)
    return experiment


def experiments_cache_clear() -> None:
    """Forget the running experiments read so far, so the next search reads them again."""
    global _running_generation
    with _running_lock:
        _running_generation += 1
        _running.clear()


def experiments_changed(sender: type, **kwargs: object) -> None:
    """Clear the running experiments read so far (a receiver of the save and delete signals
    of experiments and their variants, see search/apps.py)."""
    experiments_cache_clear()


def assignment_for(
    *, surface: str, visitor_id: str, is_staff: bool = False, user_agent: str = ""
) -> Assignment:
    """Choose the ranking a visitor sees on a surface, logging their first exposure."""
    experiment = experiment_running(surface)
    if experiment is None or not experiment.variants.all():
        return Assignment(rankers=(DEFAULT_RANKER,), variant=DEFAULT_RANKER)
    excluded = (experiment.exclude_staff and is_staff) or (
        experiment.exclude_bots and bool(BOT_USER_AGENT.search(user_agent))
    )
    if excluded:
        return Assignment(rankers=(experiment.control,), variant=experiment.control, logged=False)
    if experiment.mode == Experiment.Mode.INTERLEAVE:
        rankers = tuple(variant.ranker for variant in experiment.variants.all())[:2]
        variant = INTERLEAVED
    else:
        variant = variant_assign(experiment=experiment, visitor_id=visitor_id)
        rankers = (variant,)
    # One row per visitor and experiment, whoever wins a race between two requests.
    Exposure.objects.bulk_create(
        [Exposure(experiment=experiment, visitor_id=visitor_id, variant=variant)],
        ignore_conflicts=True,
    )
    return Assignment(rankers=rankers, variant=variant, experiment=experiment)


def interleaving_rng(request_id: uuid.UUID) -> random.Random:
    """Return the coin of one interleaved list, reproducible from its request id."""
    return random.Random(request_id.int)


def impression_log(
    *,
    assignment: Assignment,
    surface: str,
    visitor_id: str,
    skus: list[str],
    teams: list[str] | None = None,
    request_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Record a shown list; return its request id, or None when the visitor is not logged."""
    if not assignment.logged:
        return None
    request_id = request_id or uuid.uuid4()
    Impression.objects.create(
        request_id=request_id,
        surface=surface,
        experiment=assignment.experiment,
        variant=assignment.variant,
        visitor_id=visitor_id,
        skus=skus,
        teams=teams or [],
    )
    return request_id


@dataclass
class EventsReport:
    """What happened to a batch of events."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def events_record(*, visitor_id: str, events: list[dict]) -> EventsReport:
    """Store clicks and add-to-carts; an event id seen before is counted once.

    Each event names the impression (request id) it happened on and the product's
    position there; events that don't match a logged impression are rejected.
    """
    report = EventsReport()
    impressions = Impression.objects.in_bulk({event["request_id"] for event in events})
    rows = []
    for number, event in enumerate(events):
        impression = impressions.get(event["request_id"])
        position = event["position"]
        if impression is None:
            report.rejected.append((number, "unknown request_id"))
        elif position >= len(impression.skus) or impression.skus[position] != event["sku"]:
            report.rejected.append((number, "sku is not at that position of the impression"))
        else:
            credited = impression.teams[position] if impression.teams else impression.variant
            rows.append(
                (
                    event["event_id"],
                    event["kind"],
                    impression.pk,
                    event["sku"],
                    position,
                    visitor_id,
                    credited,
                )
            )
    report.accepted = _events_insert(rows)
    report.duplicates = len(rows) - report.accepted
    return report


def _events_insert(rows: list[tuple]) -> int:
    """Insert events in one statement, skipping ids already stored; return how many were new.

    One statement is atomic, and ON CONFLICT makes concurrent retries of the same event
    land exactly once; RETURNING says which rows were new, which bulk_create can't. Rows
    go in event id order, so that concurrent batches sharing events lock them in the same
    order instead of deadlocking.
    """
    if not rows:
        return 0
    columns = list(zip(*sorted(rows, key=lambda row: str(row[0])), strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Event._meta.db_table}
                (event_id, kind, impression_id, sku, position, visitor_id, variant, created_at)
            SELECT batch.*, now() FROM unnest(
                %s::uuid[], %s::text[], %s::uuid[], %s::text[], %s::int[], %s::text[],
                %s::text[]) AS batch (event_id)
            ORDER BY batch.event_id
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
            """,
            [list(column) for column in columns],
        )
        return len(cursor.fetchall())
