"""The running experiments each process reuses for a few seconds instead of every search."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from search.experiments import experiment_running, experiments_cache_clear
from search.models import Experiment, ExperimentVariant
from tests.search.test_experiments import experiment

pytestmark = pytest.mark.django_db


@pytest.fixture
def ttl(settings):
    settings.EXPERIMENT_CACHE_SECONDS = 60
    return settings


def test_read_once_then_reused(ttl, django_assert_num_queries):
    running = experiment()
    with django_assert_num_queries(2):  # the experiment and its variants
        assert experiment_running("similar") == running
    with django_assert_num_queries(0):
        assert experiment_running("similar") == running
        assert [variant.ranker for variant in experiment_running("similar").variants.all()] == [
            "visual",
            "hybrid",
        ]


def test_no_experiment_is_cached_too(ttl, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert experiment_running("similar") is None
    with django_assert_num_queries(0):
        assert experiment_running("similar") is None


def test_saving_an_experiment_or_a_variant_shows_at_once(ttl):
    assert experiment_running("similar") is None
    running = experiment()
    assert experiment_running("similar") == running

    ExperimentVariant.objects.create(experiment=running, ranker="visual_attributes")
    assert len(experiment_running("similar").variants.all()) == 3

    running.status = Experiment.Status.STOPPED
    running.save()
    assert experiment_running("similar") is None


def test_deleting_an_experiment_shows_at_once(ttl):
    running = experiment()
    assert experiment_running("similar") == running
    Experiment.objects.filter(pk=running.pk).delete()
    assert experiment_running("similar") is None


def test_the_admin_stop_action_shows_at_once(ttl, admin_user):
    running = experiment()
    assert experiment_running("similar") == running
    request = RequestFactory().post("/admin/search/experiment/")
    request.user = admin_user

    site._registry[Experiment].stop(request, Experiment.objects.filter(pk=running.pk))

    assert experiment_running("similar") is None


def test_zero_seconds_reads_every_time(settings, django_assert_num_queries):
    settings.EXPERIMENT_CACHE_SECONDS = 0
    experiment_running("similar")
    with django_assert_num_queries(1):
        experiment_running("similar")


def test_a_change_without_a_signal_shows_after_the_clear(ttl):
    running = experiment()
    assert experiment_running("similar") == running
    Experiment.objects.filter(pk=running.pk).update(status=Experiment.Status.STOPPED)
    assert experiment_running("similar") == running  # stale until cleared or expired

    experiments_cache_clear()

    assert experiment_running("similar") is None
