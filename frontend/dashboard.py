"""Staff dashboard of experiment results: tables, charts, the SRM warning, CSV export."""

import csv

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from frontend.charts import Series, lift_chart, line_chart
from search.models import Experiment
from search.statistics import MEANS, PROPORTIONS, ExperimentResults, experiment_results

METRIC_LABELS = {
    "ctr": "CTR",
    "clicks_per_impression": "Clicks / impression",
    "add_to_cart_rate": "Add-to-cart rate",
    "mrr": "MRR of clicks",
}


def _experiment(key: str) -> Experiment:
    return get_object_or_404(Experiment.objects.prefetch_related("variants"), key=key)


@staff_member_required
def experiment_list(request):
    experiments = Experiment.objects.prefetch_related("variants")
    return render(request, "frontend/dashboard/list.html", {"experiments": experiments})


@staff_member_required
def experiment_dashboard(request, key: str):
    experiment = _experiment(key)
    results = experiment_results(experiment)
    daily = line_chart(
        [Series(variant.name, [(row["date"], row["clicks_per_impression"])
                               for row in results.daily if row["variant"] == variant.name])
         for variant in results.variants],
        title="Clicks per impression, by day", y_format="{:.2f}",
    )
    lifts = lift_chart(
        [(f"{variant.name} {METRIC_LABELS[metric]}", lift.relative, lift.low, lift.high)
         for variant in results.variants for metric, lift in variant.lift.items()],
        title=f"Lift against {results.control} (95% intervals)",
    )
    return render(request, "frontend/dashboard/experiment.html", {
        "experiment": experiment, "results": results, "rows": _table(results),
        "daily_chart": daily, "lift_chart": lifts,
        "metric_labels": [METRIC_LABELS[metric] for metric in PROPORTIONS + MEANS],
    })


@staff_member_required
def experiment_csv(request, key: str):
    results = experiment_results(_experiment(key))
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{key}-results.csv"'
    writer = csv.writer(response)
    writer.writerow(["variant", "visitors", "impressions", "clicks", "add_to_carts", "metric",
                     "value", "ci_low", "ci_high", "lift", "lift_low", "lift_high", "p_value"])
    for variant in results.variants:
        for metric, estimate in variant.metrics.items():
            lift = variant.lift.get(metric)
            writer.writerow([variant.name, variant.visitors, variant.impressions, variant.clicks,
                             variant.add_to_carts, metric, estimate.value, estimate.low,
                             estimate.high, *(
                                 (lift.relative, lift.low, lift.high, lift.p_value)
                                 if lift else ("", "", "", ""))])
    return response


def _table(results: ExperimentResults) -> list[dict]:
    rows = []
    for variant in results.variants:
        cells = []
        for metric in PROPORTIONS + MEANS:
            estimate, lift = variant.metrics[metric], variant.lift.get(metric)
            cells.append({"metric": metric, "label": METRIC_LABELS[metric],
                          "estimate": estimate, "lift": lift,
                          "significant": bool(lift and lift.p_value < 0.05)})
        rows.append({"variant": variant, "cells": cells,
                     "is_control": variant.name == results.control})
    return rows
