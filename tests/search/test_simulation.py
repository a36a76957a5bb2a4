"""The simulation detects a real lift, and an A/A test is significant only ~5% of the time."""

import numpy as np
import pytest
from django.core.management import call_command

from search import similar
from search.models import Event, Impression
from search.statistics import experiment_results
from tests.search.test_experiments import experiment
from tests.search.vectors import VERSION, indexed_product, random_unit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog(monkeypatch):
    monkeypatch.setattr(similar, "model_version", lambda: VERSION)
    rng = np.random.default_rng(5)
    for i in range(30):
        indexed_product(f"P-{i:02d}", random_unit(rng), colour=("Red", "Blue")[i % 2])


def ctr_lift(key: str):
    from search.models import Experiment

    results = experiment_results(Experiment.objects.get(key=key))
    (treatment,) = [v for v in results.variants if v.name != results.control]
    return treatment.lift["ctr"], results


def test_simulated_lift_is_detected(capsys):
    experiment(key="lift", weights=(("visual", 1), ("visual_attributes", 1)))

    call_command("simulate_traffic", "--experiment", "lift", "--visitors", "300",
                 "--lift", "0.6", "--seed", "1")

    assert "300 visitors, 600 impressions" in capsys.readouterr().out
    lift, results = ctr_lift("lift")
    assert lift.p_value < 0.01
    assert lift.low > 0
    assert results.sample_ratio is not None
    assert not results.sample_ratio.mismatch
    assert Impression.objects.count() == 600
    assert Event.objects.filter(kind="click").count() > 0


def test_aa_tests_are_significant_at_about_the_nominal_rate():
    from search.models import Experiment, Exposure

    seeds = 30
    significant = 0
    for seed in range(seeds):
        Experiment.objects.all().delete()
        Exposure.objects.all().delete()
        Impression.objects.all().delete()
        experiment(key=f"aa-{seed}", weights=(("visual", 1), ("visual_attributes", 1)))
        call_command("simulate_traffic", "--experiment", f"aa-{seed}", "--visitors", "40",
                     "--seed", str(100 + seed), verbosity=0)
        lift, _ = ctr_lift(f"aa-{seed}")
        significant += lift.p_value < 0.05
    # Binomial(30, 0.05): at most 5 significant results in 99.7% of honest runs; a test
    # that ignored the variance (or peeked) would be significant far more often.
    assert significant <= 5


def test_interleaving_credits_the_better_ranker():
    from search.models import Experiment

    experiment(key="duel", weights=(("visual", 1), ("visual_attributes", 1)),
               mode=Experiment.Mode.INTERLEAVE)

    call_command("simulate_traffic", "--experiment", "duel", "--visitors", "150",
                 "--lift", "1.0", "--seed", "4", verbosity=0)

    results = experiment_results(Experiment.objects.get(key="duel"))
    interleaving = results.interleaving
    assert interleaving.wins["visual_attributes"] > interleaving.wins["visual"]
    assert interleaving.p_value < 0.05
    teams = set(Impression.objects.values_list("teams", flat=True).first())
    assert teams == {"visual", "visual_attributes"}
