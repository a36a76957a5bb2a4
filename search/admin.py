"""Staff screens for experiments and the index."""

from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from search.models import Experiment, ExperimentVariant
from search.rankers import RANKERS


class ExperimentVariantInline(admin.TabularInline):
    model = ExperimentVariant
    extra = 2

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "ranker":
            from django import forms

            return forms.ChoiceField(choices=[(name, name) for name in sorted(RANKERS)])
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("key", "surface", "mode", "status", "control", "started_at", "dashboard")
    list_filter = ("surface", "status", "mode")
    search_fields = ("key", "description")
    inlines = [ExperimentVariantInline]
    readonly_fields = ("created_at",)
    actions = ["start", "stop"]

    @admin.display(description="Results")
    def dashboard(self, experiment: Experiment) -> str:
        return format_html('<a href="{}">dashboard</a>',
                           reverse("experiment-dashboard", args=[experiment.key]))

    @admin.action(description="Start the selected experiments")
    def start(self, request, queryset):
        for experiment in queryset:
            experiment.status = Experiment.Status.RUNNING
            experiment.started_at = experiment.started_at or timezone.now()
            try:
                with transaction.atomic():
                    experiment.save()
            except IntegrityError:
                messages.error(request, f"{experiment.key}: another experiment is already "
                               f"running on {experiment.get_surface_display()}; stop it first.")

    @admin.action(description="Stop the selected experiments")
    def stop(self, request, queryset):
        queryset.update(status=Experiment.Status.STOPPED, ended_at=timezone.now())
