"""Drive synthetic shoppers through an experiment's surface."""

from django.core.management.base import BaseCommand, CommandError

from search.models import Experiment
from search.simulation import traffic_simulate


class Command(BaseCommand):
    help = ("Simulate shoppers on the experiment's surface through the real views, with a "
            "position-biased click model and a true relative effect --lift for every "
            "non-control variant.")

    def add_arguments(self, parser):
        parser.add_argument("--experiment", required=True, help="experiment key")
        parser.add_argument("--visitors", type=int, default=500)
        parser.add_argument("--lift", type=float, default=0.0,
                            help="true relative effect of non-control variants (0.1 = +10%%)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, experiment, visitors, lift, seed, **options):
        found = Experiment.objects.prefetch_related("variants").filter(key=experiment).first()
        if found is None:
            raise CommandError(f"no experiment {experiment!r}")
        if found.status != Experiment.Status.RUNNING:
            raise CommandError(f"experiment {experiment!r} is {found.status}, not running")
        if visitors < 1 or lift <= -1:
            raise CommandError("--visitors must be positive and --lift above -1")
        try:
            report = traffic_simulate(experiment=found, visitors=visitors, lift=lift, seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{report.visitors} visitors, {report.impressions} impressions, "
                          f"{report.clicks} clicks, {report.add_to_carts} add-to-carts")
