from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = _("On-call")

    def ready(self):
        from . import checks  # noqa: F401  (registers the beat schedule check)
