"""Payouts paid before the `payout_paid` entry existed get theirs, so `ledger check` agrees."""

from decimal import Decimal

from django.db import migrations


def backfill(apps, schema_editor):
    Payout = apps.get_model("rewards", "Payout")
    LedgerEntry = apps.get_model("rewards", "LedgerEntry")
    missing = Payout.objects.filter(status=1).exclude(ledger_entries__kind="payout_paid")
    LedgerEntry.objects.bulk_create([
        LedgerEntry(partner_id=payout.partner_id, amount=Decimal(0), kind="payout_paid",
                    payout_id=payout.pk, created_at=payout.status_changed_at,
                    note=f"payout #{payout.pk} paid")
        for payout in missing.iterator()
    ])


class Migration(migrations.Migration):
    dependencies = [("rewards", "0003_ledger_payout_paid_entry")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
