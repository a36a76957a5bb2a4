"""Staff screens for experiments and the index."""

from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from search.experiments import experiments_cache_clear
from search.models import Experiment, ExperimentVariant, QueryPhoto
from search.query_photos import query_photo_storage
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
        return format_html(
            '<a href="{}">dashboard</a>', reverse("experiment-dashboard", args=[experiment.key])
        )

    @admin.action(description="Start the selected experiments")
    def start(self, request, queryset):
        for experiment in queryset:
            experiment.status = Experiment.Status.RUNNING
            experiment.started_at = experiment.started_at or timezone.now()
            try:
                with transaction.atomic():
                    experiment.save()
            except IntegrityError:
                messages.error(
                    request,
                    f"{experiment.key}: another experiment is already "
                    f"running on {experiment.get_surface_display()}; stop it first.",
                )

    @admin.action(description="Stop the selected experiments")
    def stop(self, request, queryset):
        queryset.update(status=Experiment.Status.STOPPED, ended_at=timezone.now())
        experiments_cache_clear()  # update() sends no post_save


@admin.register(QueryPhoto)
class QueryPhotoAdmin(admin.ModelAdmin):
    """Read-only audit of kept query photos; the photo itself is shown to staff only."""

    list_display = ("created_at", "request_id", "width", "height", "size_bytes", "photo")
    date_hierarchy = "created_at"
    search_fields = ("request_id",)
    readonly_fields = (
        "created_at",
        "request_id",
        "impression_ids",
        "path",
        "width",
        "height",
        "size_bytes",
        "photo",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: QueryPhoto) -> None:
        query_photo_storage().delete(obj.path)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for photo in queryset:
            query_photo_storage().delete(photo.path)
        super().delete_queryset(request, queryset)

    @admin.display(description="Photo")
    def photo(self, obj: QueryPhoto) -> str:
        return format_html(
            '<a href="{}">view</a>', reverse("admin:search_queryphoto_photo", args=[obj.pk])
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/photo/",
                self.admin_site.admin_view(self.photo_view),
                name="search_queryphoto_photo",
            ),
            *super().get_urls(),
        ]

    def photo_view(self, request, pk: int) -> FileResponse:
        photo = QueryPhoto.objects.filter(pk=pk).first()
        if photo is None or not self.has_view_permission(request, photo):
            raise Http404("no such query photo")
        try:
            handle = query_photo_storage().open(photo.path)
        except FileNotFoundError:
            raise Http404("the photo file is gone") from None
        return FileResponse(handle, content_type="image/jpeg")
