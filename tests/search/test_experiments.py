"""Experiments: sticky balanced assignment, exactly-once events, honest statistics."""

import random
import threading
import uuid
from collections import Counter

import numpy as np
import pytest
from django.db import connection

from search.experiments import assignment_for, bucket, events_record, impression_log
from search.interleaving import clicks_credit, team_draft
from search.models import Event, Experiment, ExperimentVariant, Exposure, Impression
from search.statistics import (
    relative_lift,
    sample_ratio_check,
    wilson,
)

pytestmark = pytest.mark.django_db


def experiment(key="similar-test", weights=(("visual", 1), ("hybrid", 1)), **fields):
    values = {"surface": "similar", "status": "running", "control": weights[0][0]}
    values.update(fields)
    created = Experiment.objects.create(key=key, **values)
    for ranker, weight in weights:
        ExperimentVariant.objects.create(experiment=created, ranker=ranker, weight=weight)
    return created


def test_assignment_is_sticky_and_balanced():
    experiment()
    visitors = [uuid.uuid4().hex for _ in range(2000)]

    first = {v: assignment_for(surface="similar", visitor_id=v).variant for v in visitors}
    again = {v: assignment_for(surface="similar", visitor_id=v).variant for v in visitors}

    assert first == again
    share = Counter(first.values())["hybrid"] / len(visitors)
    assert 0.465 < share < 0.535
    assert Exposure.objects.count() == len(visitors)  # logged once per visitor


def test_assignment_follows_weights_and_differs_between_experiments():
    assert bucket("a", "visitor") != bucket("b", "visitor")
    experiment(weights=(("visual", 3), ("visual_attributes", 1)))
    counts = Counter(assignment_for(surface="similar", visitor_id=f"v{i}").variant
                     for i in range(2000))
    assert 0.72 < counts["visual"] / 2000 < 0.78


def test_staff_and_bots_see_the_control_and_are_not_logged():
    experiment(weights=(("visual", 0), ("hybrid", 1)))

    staff = assignment_for(surface="similar", visitor_id="s", is_staff=True)
    bot = assignment_for(surface="similar", visitor_id="b",
                         user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)")
    shopper = assignment_for(surface="similar", visitor_id="c",
                             user_agent="Mozilla/5.0 HeadlessChrome/156")

    assert (staff.variant, staff.logged, bot.variant, bot.logged) == ("visual", False,
                                                                      "visual", False)
    assert (shopper.variant, shopper.logged) == ("hybrid", True)
    assert list(Exposure.objects.values_list("visitor_id", flat=True)) == ["c"]


def test_no_running_experiment_uses_the_default_ranker():
    experiment(status="draft")
    assert assignment_for(surface="similar", visitor_id="x").rankers == ("visual",)


def shown(skus=("A", "B", "C"), variant="visual") -> Impression:
    assignment = assignment_for(surface="similar", visitor_id="v1")
    request_id = impression_log(assignment=assignment, surface="similar", visitor_id="v1",
                                skus=list(skus))
    return Impression.objects.get(pk=request_id)


def click(impression, position, event_id=None, sku=None):
    return {"event_id": event_id or uuid.uuid4(), "kind": "click",
            "request_id": impression.pk, "sku": sku or impression.skus[position],
            "position": position}


def test_events_are_idempotent_by_event_id():
    experiment()
    impression = shown()
    batch = [click(impression, 0), click(impression, 2)]

    first = events_record(visitor_id="v1", events=batch)
    retry = events_record(visitor_id="v1", events=batch)

    assert (first.accepted, first.duplicates, retry.accepted, retry.duplicates) == (2, 0, 0, 2)
    assert Event.objects.count() == 2


def test_events_that_do_not_match_an_impression_are_rejected():
    experiment()
    impression = shown()
    report = events_record(visitor_id="v1", events=[
        click(impression, 1, sku="NOT-THERE"),
        {**click(impression, 0), "request_id": uuid.uuid4()},
        click(impression, 1),
    ])
    assert report.accepted == 1
    assert [index for index, _ in report.rejected] == [0, 1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_store_each_event_exactly_once():
    experiment()
    impression = shown(skus=[f"S{i}" for i in range(20)])
    events = [click(impression, position) for position in range(20)]
    barrier = threading.Barrier(8)
    errors = []

    def send(seed: int):
        batch = random.Random(seed).sample(events, 15)
        barrier.wait()
        try:
            events_record(visitor_id="v1", events=batch)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stored = set(Event.objects.values_list("event_id", flat=True))
    sent = {event["event_id"] for seed in range(8)
            for event in random.Random(seed).sample(events, 15)}
    assert stored == sent


def test_wilson_interval_known_values():
    estimate = wilson(50, 100)
    assert estimate.value == 0.5
    assert estimate.low == pytest.approx(0.4038, abs=1e-4)
    assert estimate.high == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0, 0).value == 0


def test_relative_lift_of_proportions():
    control = np.array([1.0] * 100 + [0.0] * 900)  # 10%
    treatment = np.array([1.0] * 150 + [0.0] * 850)  # 15%
    lift = relative_lift(treatment, control, proportion=True)
    assert lift.relative == pytest.approx(0.5)
    assert lift.low < 0.5 < lift.high
    # Two-proportion z-test: z = 0.05 / sqrt(0.125 * 0.875 * 2 / 1000) = 3.381
    assert lift.p_value == pytest.approx(7.2e-4, rel=0.05)


def test_sample_ratio_mismatch_is_flagged():
    assert sample_ratio_check({"a": 1000, "b": 1200}, {"a": 1, "b": 1}).mismatch
    assert not sample_ratio_check({"a": 1000, "b": 1030}, {"a": 1, "b": 1}).mismatch
    assert not sample_ratio_check({"a": 3000, "b": 1000}, {"a": 3, "b": 1}).mismatch


def test_team_draft_takes_turns_and_keeps_each_rankers_order():
    rankings = {"a": [1, 2, 3, 4, 5, 6], "b": [6, 5, 4, 3, 2, 1]}
    merged = team_draft(rankings, 6, random.Random(3))

    assert sorted(merged.items) == [1, 2, 3, 4, 5, 6]
    assert Counter(merged.teams) == {"a": 3, "b": 3}
    for team in ("a", "b"):
        picked = [item for item, t in zip(merged.items, merged.teams, strict=True) if t == team]
        assert picked == sorted(picked, key=rankings[team].index)
    assert {merged.items[0], merged.items[1]} == {1, 6}  # each ranker's best comes first


def test_team_draft_is_fair_over_coin_flips():
    firsts = Counter(team_draft({"a": [1, 2], "b": [3, 4]}, 2, random.Random(seed)).teams[0]
                     for seed in range(2000))
    assert 0.45 < firsts["a"] / 2000 < 0.55


def test_clicks_are_credited_to_the_contributing_ranker():
    assert clicks_credit(["a", "b", "a", "b"], [0, 2, 3]) == {"a": 2, "b": 1}
