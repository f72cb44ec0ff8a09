"""Model helpers shared by the rooms."""

from __future__ import annotations

from typing import Any, Self

from django.db import models
from django.utils.translation import gettext_lazy as _


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


# Where a visit came from, as the partner tagged it: `sub1`…`sub5` for its own traffic
# sources, and the UTM tags monitors and ad tools add. Kept with each click and copied onto
# the exchanges the click brings, so reports and postbacks can name the source.
SOURCE_FIELDS = ("sub1", "sub2", "sub3", "sub4", "sub5",
                 "utm_source", "utm_medium", "utm_campaign")
SOURCE_MAX_LENGTH = 64


class TrafficSource(models.Model):
    """The partner's sub-IDs, the UTM tags and the visitor's country (ISO 3166 alpha-2).

    Defaults in the database too: the click writer's plain INSERT names only the columns it
    fills.
    """

    sub1 = models.CharField("sub1", max_length=SOURCE_MAX_LENGTH, blank=True, default="",
                            db_default="")
    sub2 = models.CharField("sub2", max_length=SOURCE_MAX_LENGTH, blank=True, default="",
                            db_default="")
    sub3 = models.CharField("sub3", max_length=SOURCE_MAX_LENGTH, blank=True, default="",
                            db_default="")
    sub4 = models.CharField("sub4", max_length=SOURCE_MAX_LENGTH, blank=True, default="",
                            db_default="")
    sub5 = models.CharField("sub5", max_length=SOURCE_MAX_LENGTH, blank=True, default="",
                            db_default="")
    utm_source = models.CharField("utm_source", max_length=SOURCE_MAX_LENGTH, blank=True,
                                  default="", db_default="")
    utm_medium = models.CharField("utm_medium", max_length=SOURCE_MAX_LENGTH, blank=True,
                                  default="", db_default="")
    utm_campaign = models.CharField("utm_campaign", max_length=SOURCE_MAX_LENGTH, blank=True,
                                    default="", db_default="")
    # "" when the address is unknown (private, reserved, not in the data).
    country = models.CharField(_("country"), max_length=2, blank=True, default="",
                               db_default="")

    class Meta:
        abstract = True
