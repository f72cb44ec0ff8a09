"""Model helpers shared by the rooms."""

from __future__ import annotations

from typing import Any, Self

from django.db import models


class SingletonModel(models.Model):
    """Settings with exactly one row (pk 1), edited by the operator in the admin."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> Self:
        """The row, created with the defaults on first use."""
        row, _created = cls._default_manager.get_or_create(pk=1)
        return row
