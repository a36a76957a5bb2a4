"""Django settings, every one overridable from the environment (see the README's table)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from frontend.db_router import replica_databases
from frontend.embedded_postgres import embedded_postgres_start


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var")).resolve()

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Production (DEBUG off) is served over HTTPS only; a TLS-terminating proxy in front says
# so with X-Forwarded-Proto (set BEHIND_TLS_PROXY=true).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "shop",
    "search",
    "detection",
    "frontend",
    "rest_framework",
    "drf_spectacular",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "frontend.middleware.VisitorMiddleware",
    "frontend.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "frontend.urls"
WSGI_APPLICATION = "frontend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_settings() -> dict:
    """Use DATABASE_URL when given, else the embedded server under DATA_DIR/pgdata."""
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        if config["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (with pgvector).")
        return config
    socket_dir = embedded_postgres_start(DATA_DIR / "pgdata")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": str(socket_dir),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {"default": database_settings()}
# Read replicas of that database: search endpoints read the catalog and vectors from them.
DATABASES.update(replica_databases(env_list("DATABASE_REPLICA_URLS", "")))
DATABASE_ROUTERS = ["frontend.db_router.ReplicaRouter"] if len(DATABASES) > 1 else []
# Distributed indexing (`index --distributed`, frontend/celery.py): batches of product ids
# go through this broker; workers report each batch's outcome to the result backend.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)


def cache_settings() -> dict:
    """Return the cache shared by every web process: Redis when CACHE_URL is set, else a table."""
    url = os.environ.get("CACHE_URL", "")
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url:
        raise ImproperlyConfigured("CACHE_URL must be a redis:// or rediss:// URL.")
    return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}


# Django's cache, shared by every web process: the database, or Redis. (Rate limits are
# counted in their own table, frontend/throttling.py.)
CACHES = {"default": cache_settings()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # collectstatic fills it in production
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Product photos are served by Django when no web server or CDN in front does it.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
# Each web process loads the models in the background when it starts (frontend/wsgi.py).
WARM_UP_MODELS = env_bool("WARM_UP_MODELS", True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))

# Images larger than this many pixels are refused before decoding (decompression bombs).
MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", 40_000_000))
# Largest accepted upload (shop the look photos), in bytes.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 10 * 2**20))
# Longest side of the thumbnails shown in lists; smaller images are shown as they are.
THUMBNAIL_SIZE = int(os.environ.get("THUMBNAIL_SIZE", 320))
# Where similar items and shop the look find vectors: "single" (search_productregion, one
# HNSW graph) or "partitioned" (a copy partitioned by garment class, one graph per class,
# filled by `manage.py region_partitions enable`); VECTOR_STORAGE picks its precision.
VECTOR_INDEX = os.environ.get("VECTOR_INDEX", "single")
VECTOR_STORAGE = os.environ.get("VECTOR_STORAGE", "vector")
if VECTOR_INDEX not in ("single", "partitioned"):
    raise ImproperlyConfigured("VECTOR_INDEX must be single or partitioned.")
if VECTOR_STORAGE not in ("vector", "halfvec"):
    raise ImproperlyConfigured("VECTOR_STORAGE must be vector or halfvec.")
# Seconds each process reuses the running experiments it read, instead of reading them on
# every search (a change made in the process itself shows at once); 0 reads every time.
EXPERIMENT_CACHE_SECONDS = float(os.environ.get("EXPERIMENT_CACHE_SECONDS", 5))
if EXPERIMENT_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("EXPERIMENT_CACHE_SECONDS must be 0 or more.")
# Shop-the-look photos are not stored unless this is above 0; then each one is kept, re-encoded
# without metadata, for this many days (purge_query_photos deletes older ones).
QUERY_PHOTO_RETENTION_DAYS = int(os.environ.get("QUERY_PHOTO_RETENTION_DAYS", 0))
if QUERY_PHOTO_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("QUERY_PHOTO_RETENTION_DAYS must be 0 (never stored) or more.")
# Outside MEDIA_ROOT on purpose: media may be served to anyone, query photos are staff-only.
QUERY_PHOTO_ROOT = Path(os.environ.get("QUERY_PHOTO_ROOT", DATA_DIR / "query-photos"))

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "frontend.api_errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Per client address, counted in the database (frontend/throttling.py).
    "DEFAULT_THROTTLE_RATES": {
        "look": os.environ.get("RATE_LIMIT_LOOK", "30/min"),
        "search": os.environ.get("RATE_LIMIT_SEARCH", "300/min"),
        "events": os.environ.get("RATE_LIMIT_EVENTS", "600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fashion visual search API",
    "DESCRIPTION": "Shop the look, similar items and text search over the catalog.",
    "VERSION": "1",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
