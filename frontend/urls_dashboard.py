"""Staff dashboard routes."""

from django.urls import path

from frontend import dashboard

urlpatterns = [
    path("", dashboard.experiment_list, name="experiment-list"),
    path("<slug:key>/", dashboard.experiment_dashboard, name="experiment-dashboard"),
    path("<slug:key>/results.csv", dashboard.experiment_csv, name="experiment-csv"),
]
