"""Ranking experiments: which variant each visitor sees, and what they saw and clicked."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Surface(models.TextChoices):
    """Where in the shop a ranking is shown."""

    LOOK = "look", "Shop the look"
    SIMILAR = "similar", "Similar items"
    TEXT = "text", "Text search"


class Experiment(models.Model):
    """A test of ranking variants on one surface."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    class Mode(models.TextChoices):
        AB = "ab", "A/B test: each visitor sees one variant"
        INTERLEAVE = "interleave", "Team-draft interleaving of two variants in one list"

    key = models.SlugField(max_length=64, unique=True)
    surface = models.CharField(max_length=16, choices=Surface.choices)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.AB)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    control = models.CharField(max_length=64, help_text="the variant others are compared to")
    description = models.TextField(blank=True)
    exclude_staff = models.BooleanField(default=True)
    exclude_bots = models.BooleanField(default=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["surface"], condition=Q(status="running"),
                                    name="one_running_experiment_per_surface"),
        ]

    def __str__(self) -> str:
        return self.key


class ExperimentVariant(models.Model):
    """A registered ranker taking part in an experiment, with its share of traffic."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE,
                                   related_name="variants")
    ranker = models.CharField(max_length=64)
    weight = models.PositiveIntegerField(default=1, help_text="relative share of visitors")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "ranker"],
                                    name="one_variant_per_ranker"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment.key}:{self.ranker}"


class Exposure(models.Model):
    """The first time a visitor was shown an experiment's variant (once per visitor)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE,
                                   related_name="exposures")
    visitor_id = models.CharField(max_length=64)
    variant = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "visitor_id"],
                                    name="one_exposure_per_visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} saw {self.variant}"


class Impression(models.Model):
    """One ranked list shown to a visitor, logged by the server that ranked it."""

    request_id = models.UUIDField(primary_key=True)
    surface = models.CharField(max_length=16, choices=Surface.choices)
    experiment = models.ForeignKey(Experiment, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="impressions")
    variant = models.CharField(max_length=64, blank=True)
    visitor_id = models.CharField(max_length=64)
    skus = ArrayField(models.CharField(max_length=64))
    # Interleaving: the ranker that contributed each position of `skus`.
    teams = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.surface} {self.request_id}"


class Event(models.Model):
    """A click or add-to-cart on a shown product, sent by the browser."""

    class Kind(models.TextChoices):
        CLICK = "click", "Click"
        ADD_TO_CART = "add_to_cart", "Add to cart"

    event_id = models.UUIDField(primary_key=True, help_text="set by the client: retries are "
                                "recognised and counted once")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    impression = models.ForeignKey(Impression, on_delete=models.CASCADE, related_name="events")
    sku = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(help_text="0-based rank in the shown list")
    visitor_id = models.CharField(max_length=64)
    # The variant credited: the impression's, or under interleaving the contributing team's.
    variant = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.sku}@{self.position}"
