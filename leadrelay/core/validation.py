"""Model validation turned into the project's InvalidInput error."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models

from leadrelay.core.exceptions import InvalidInput


def full_clean_or_raise(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    """Run the model's validation; raise InvalidInput with one message list per field."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        fields = {("__all__" if name == NON_FIELD_ERRORS else name): msgs for name, msgs in error.message_dict.items()}
        raise InvalidInput(fields=fields) from error
