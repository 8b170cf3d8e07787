from django.utils.functional import SimpleLazyObject

from leadrelay.core.navigation import nav_items_for


def navigation(request):
    """The menu entries the user's roles allow, and (lazily) the unread notification count for the bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "unread_notifications": 0}

    def unread() -> int:
        from leadrelay.core.selectors import unread_notification_count

        return unread_notification_count(user)

    return {"nav_items": nav_items_for(user), "unread_notifications": SimpleLazyObject(unread)}
