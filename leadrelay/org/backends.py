"""Authentication backend: the admin role carries every model permission in the Django admin site."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from leadrelay.org.models import Role


class RoleBackend(ModelBackend):
    """Usernames and passwords as usual; holders of the `admin` role have all permissions.

    Django's own permission tables stay available for finer grants, but LeadRelay's roles are
    the source of truth: a member without the admin role gets only what was granted explicitly.
    """

    def _is_admin(self, user_obj) -> bool:
        return bool(user_obj.is_active and getattr(user_obj, "pk", None) and user_obj.has_role(Role.ADMIN))

    def has_perm(self, user_obj, perm, obj=None):
        if self._is_admin(user_obj):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if self._is_admin(user_obj):
            return True
        return super().has_module_perms(user_obj, app_label)
