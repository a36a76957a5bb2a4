import os

from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_delete, post_save

        from search.experiments import experiments_changed
        from search.models import Experiment, ExperimentVariant
        from search.retrieval import hnsw_session_defaults

        blas_single_threaded()
        connection_created.connect(
            hnsw_session_defaults, dispatch_uid="search.hnsw_session_defaults"
        )
        # Searches reuse the running experiments for a few seconds; a change made in this
        # process shows at once (QuerySet.update sends no signal: callers clear themselves).
        for signal in (post_save, post_delete):
            for model in (Experiment, ExperimentVariant):
                signal.connect(
                    experiments_changed,
                    sender=model,
                    dispatch_uid=f"search.experiments_cache_clear.{model.__name__}",
                )


def blas_single_threaded() -> None:
    """Run numpy's matrix products on one thread, unless OPENBLAS_NUM_THREADS says otherwise.

    A request multiplies a few dozen vectors at a time (duplicate collapse, diversification,
    re-ranking). OpenBLAS wakes a thread per core for each product; with the cores busy
    serving other requests, one 36x512 product measured 40 ms median that way against
    0.1 ms on one thread. Web processes get their parallelism from workers, not from BLAS.
    """
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    import numpy  # noqa: F401  (threadpoolctl only limits libraries already loaded)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
