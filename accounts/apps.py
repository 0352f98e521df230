from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from .roles import sync_roles

        # After each app migrates (its permissions exist only then), so no grant is missed.
        post_migrate.connect(sync_roles, dispatch_uid="accounts.sync_roles")
