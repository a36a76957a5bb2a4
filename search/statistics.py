"""Experiment results: per-variant metrics with 95% intervals, lift, p-values and SRM.

Metrics are computed per impression (the unit that was randomised is the visitor, but
impressions of one visitor are close to independent for these list-level metrics; the
visitor-level SRM check guards the randomisation itself):
- CTR: share of impressions with at least one click (a proportion, Wilson interval);
- clicks per impression and MRR (mean reciprocal rank of the first click, 0 without one):
  means with normal intervals;
- add-to-cart rate: share of impressions with an add-to-cart.
Lift is relative to the control, with a delta-method interval and a two-sided p-value
(two-proportion z-test for proportions, Welch's t-test for means).
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count
from django.db.models.functions import TruncDate
from scipy import stats

from search.interleaving import clicks_credit
from search.models import Event, Experiment, Exposure, Impression

Z95 = 1.959963984540054
SRM_ALPHA = 0.001  # the threshold GrowthBook and Statsig warn at


@dataclass(frozen=True)
class Estimate:
    """A metric's value with its 95% confidence interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Lift:
    """Relative change against the control, its 95% interval and two-sided p-value."""

    relative: float
    low: float
    high: float
    p_value: float


@dataclass
class VariantResult:
    name: str
    visitors: int
    impressions: int
    clicks: int
    add_to_carts: int
    metrics: dict[str, Estimate] = field(default_factory=dict)
    lift: dict[str, Lift] = field(default_factory=dict)


@dataclass
class SampleRatio:
    """Chi-square test of visitor counts against the configured traffic weights."""

    expected: dict[str, float]
    observed: dict[str, int]
    p_value: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < SRM_ALPHA


@dataclass
class InterleavingResult:
    """Wins per ranker over interleaved impressions with at least one click."""

    wins: dict[str, int]
    ties: int
    preference: float  # share of decided impressions won by the first ranker, minus 0.5
    p_value: float


@dataclass
class ExperimentResults:
    experiment: str
    control: str
    variants: list[VariantResult]
    sample_ratio: SampleRatio | None
    daily: list[dict]
    interleaving: InterleavingResult | None = None


PROPORTIONS = ("ctr", "add_to_cart_rate")
MEANS = ("clicks_per_impression", "mrr")


def wilson(successes: int, trials: int) -> Estimate:
    """Return a proportion with its Wilson score interval."""
    if trials == 0:
        return Estimate(0.0, 0.0, 0.0)
    p = successes / trials
    denominator = 1 + Z95**2 / trials
    centre = (p + Z95**2 / (2 * trials)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / trials + Z95**2 / (4 * trials**2)) / denominator
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: np.ndarray) -> Estimate:
    """Return a mean with its normal-approximation interval."""
    if len(values) == 0:
        return Estimate(0.0, 0.0, 0.0)
    mean = float(values.mean())
    half = Z95 * float(values.std(ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return Estimate(mean, mean - half, mean + half)


def relative_lift(treatment: np.ndarray, control: np.ndarray, *, proportion: bool) -> Lift:
    """Return treatment/control - 1 with a delta-method interval and a two-sided p-value."""
    n_t, n_c = len(treatment), len(control)
    mean_t, mean_c = float(treatment.mean()), float(control.mean())
    if n_t < 2 or n_c < 2 or mean_c == 0:
        return Lift(0.0, 0.0, 0.0, 1.0)
    var_t, var_c = treatment.var(ddof=1) / n_t, control.var(ddof=1) / n_c
    ratio = mean_t / mean_c
    se = math.sqrt(var_t / mean_c**2 + mean_t**2 * var_c / mean_c**4)
    if proportion:
        pooled = (treatment.sum() + control.sum()) / (n_t + n_c)
        se_diff = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
        p_value = 2 * stats.norm.sf(abs(mean_t - mean_c) / se_diff) if se_diff > 0 else 1.0
    else:
        p_value = float(stats.ttest_ind(treatment, control, equal_var=False).pvalue)
        p_value = 1.0 if math.isnan(p_value) else p_value
    return Lift(ratio - 1, ratio - 1 - Z95 * se, ratio - 1 + Z95 * se, float(p_value))


def sample_ratio_check(observed: dict[str, int], weights: dict[str, int]) -> SampleRatio | None:
    """Test whether visitors split between variants as the weights say they should."""
    total = sum(observed.values())
    if total == 0 or len(weights) < 2:
        return None
    weight_sum = sum(weights.values())
    expected = {name: total * weight / weight_sum for name, weight in weights.items()}
    counts = [observed.get(name, 0) for name in weights]
    p_value = float(stats.chisquare(counts, [expected[name] for name in weights]).pvalue)
    return SampleRatio(expected=expected, observed={n: observed.get(n, 0) for n in weights},
                       p_value=p_value)


def _impression_outcomes(experiment: Experiment) -> dict[str, dict[str, np.ndarray]]:
    """Return, per variant, one value per impression for each metric."""
    clicks: dict[object, list[int]] = defaultdict(list)
    carts: set = set()
    for impression_id, kind, position in Event.objects.filter(
            impression__experiment=experiment).values_list("impression_id", "kind", "position"):
        if kind == Event.Kind.CLICK:
            clicks[impression_id].append(position)
        else:
            carts.add(impression_id)
    outcomes: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for request_id, variant in Impression.objects.filter(experiment=experiment).values_list(
            "request_id", "variant"):
        positions = clicks.get(request_id, [])
        values = outcomes[variant]
        values["ctr"].append(1.0 if positions else 0.0)
        values["clicks_per_impression"].append(float(len(positions)))
        values["mrr"].append(1.0 / (min(positions) + 1) if positions else 0.0)
        values["add_to_cart_rate"].append(1.0 if request_id in carts else 0.0)
    return {variant: {metric: np.asarray(v) for metric, v in values.items()}
            for variant, values in outcomes.items()}


def experiment_results(experiment: Experiment) -> ExperimentResults:
    """Compute everything the dashboard and the results API show for one experiment."""
    weights = {variant.ranker: variant.weight for variant in experiment.variants.all()}
    visitors = dict(Exposure.objects.filter(experiment=experiment).values_list("variant")
                    .annotate(n=Count("pk")))
    outcomes = _impression_outcomes(experiment)
    names = list(weights) if experiment.mode == Experiment.Mode.AB else list(outcomes)
    control = outcomes.get(experiment.control)
    results = []
    for name in names:
        values = outcomes.get(name, {metric: np.zeros(0) for metric in PROPORTIONS + MEANS})
        impressions = len(values["ctr"])
        result = VariantResult(
            name=name, visitors=visitors.get(name, 0), impressions=impressions,
            clicks=int(values["clicks_per_impression"].sum()),
            add_to_carts=int(values["add_to_cart_rate"].sum()),
        )
        for metric in PROPORTIONS:
            result.metrics[metric] = wilson(int(values[metric].sum()), impressions)
        for metric in MEANS:
            result.metrics[metric] = mean_interval(values[metric])
        if control is not None and name != experiment.control and impressions:
            for metric in PROPORTIONS + MEANS:
                result.lift[metric] = relative_lift(values[metric], control[metric],
                                                    proportion=metric in PROPORTIONS)
        results.append(result)
    return ExperimentResults(
        experiment=experiment.key, control=experiment.control, variants=results,
        sample_ratio=(sample_ratio_check(visitors, weights)
                      if experiment.mode == Experiment.Mode.AB else None),
        daily=daily_series(experiment),
        interleaving=(interleaving_results(experiment)
                      if experiment.mode == Experiment.Mode.INTERLEAVE else None),
    )


def daily_series(experiment: Experiment) -> list[dict]:
    """Return impressions, clicks and CTR per day and variant (credited variant for clicks)."""
    days: dict[tuple, dict] = defaultdict(lambda: {"impressions": 0, "clicks": 0})
    for day, variant, n in (Impression.objects.filter(experiment=experiment)
                            .annotate(day=TruncDate("created_at"))
                            .values_list("day", "variant").annotate(n=Count("pk"))):
        days[(day, variant)]["impressions"] = n
    for day, variant, n in (Event.objects.filter(impression__experiment=experiment,
                                                 kind=Event.Kind.CLICK)
                            .annotate(day=TruncDate("impression__created_at"))
                            .values_list("day", "impression__variant").annotate(n=Count("pk"))):
        days[(day, variant)]["clicks"] = n
    return [
        {"date": day.isoformat(), "variant": variant, **counts,
         "clicks_per_impression": counts["clicks"] / counts["impressions"]
         if counts["impressions"] else 0.0}
        for (day, variant), counts in sorted(days.items())
    ]


def interleaving_results(experiment: Experiment) -> InterleavingResult:
    """Credit each clicked interleaved impression to the ranker whose picks got more clicks."""
    rankers = [variant.ranker for variant in experiment.variants.all()][:2]
    clicked: dict[object, list[int]] = defaultdict(list)
    for impression_id, position in Event.objects.filter(
            impression__experiment=experiment, kind=Event.Kind.CLICK).values_list(
            "impression_id", "position"):
        clicked[impression_id].append(position)
    wins = dict.fromkeys(rankers, 0)
    ties = 0
    for request_id, teams in Impression.objects.filter(
            request_id__in=list(clicked)).values_list("request_id", "teams"):
        credit = clicks_credit(teams, clicked[request_id])
        scores = [credit.get(ranker, 0) for ranker in rankers]
        if scores[0] == scores[1]:
            ties += 1
        else:
            wins[rankers[0] if scores[0] > scores[1] else rankers[1]] += 1
    decided = sum(wins.values())
    if decided == 0:
        return InterleavingResult(wins=wins, ties=ties, preference=0.0, p_value=1.0)
    first = wins[rankers[0]]
    p_value = float(stats.binomtest(first, decided, 0.5).pvalue)
    return InterleavingResult(wins=wins, ties=ties, preference=first / decided - 0.5,
                              p_value=p_value)
