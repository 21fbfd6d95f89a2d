"""The demo app: the Bình Dương network, loaded by `manage.py load_demo` (and by `make run` into an empty database)."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "labshare demo"
