from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents.models import Membership

from .actions import invite_user
from .models import User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["service"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = [*BaseUserAdmin.fieldsets, (_("Preferences"), {"fields": ["language"]})]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]
    list_filter = ["groups", "is_active", "is_staff"]
    inlines = [MembershipInline]
    actions = ["send_invitation"]

    @admin.action(description=_("Invite by e-mail to choose a password"))
    def send_invitation(self, request, queryset):
        invited = 0
        for user in queryset.filter(is_active=True).exclude(email=""):
            invite_user(user, by=request.user)
            invited += 1
        self.message_user(request, ngettext("%d invitation sent.", "%d invitations sent.", invited) % invited)

    def get_readonly_fields(self, request, obj=None):
        # An administrator manages people and their roles, not superuser powers.
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "user_permissions"]
        return fields
