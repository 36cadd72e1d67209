"""A real OGC SensorThings API 1.1 server for citygate's tests.

django-ogc-sensorthings 1.2.0 (PyPI) in a minimal Django project on SQLite.
Configured from the environment so every test run gets its own database:
  CITYGATE_HUB_DB    path of the SQLite file (required)
  CITYGATE_HUB_URL   service root as clients see it, e.g. http://127.0.0.1:8123
Set-up facts: ../shared/reference/hub/README.md (UUID ids: integer ids make
every GET answer 500).
"""
import os
import uuid

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "citygate-test-hub-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "urls"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "sensorthings.versions.v1_1",
    "sensorthings.versions.v1_1.backends.django",
    "sensorthings.versions.v1_1.extensions.dataarray",
]
MIDDLEWARE = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["CITYGATE_HUB_DB"],
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SENSORTHINGS_V1_1_BACKEND_ADAPTER = "sensorthings.versions.v1_1.backends.django.adapter.DjangoBackendAdapter"
SENSORTHINGS_V1_1_SERVICE_URL = os.environ.get("CITYGATE_HUB_URL", "http://127.0.0.1:8000") + "/sensorthings"
SENSORTHINGS_V1_1_ID_TYPE = uuid.UUID
SENSORTHINGS_V1_1_ID_DELIMITER = "'"
LOGGING = {
    "version": 1,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
