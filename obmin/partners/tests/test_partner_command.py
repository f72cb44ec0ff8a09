"""`obmin partner create <email> --password <p>` prints the referral code as its last line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from obmin.partners.models import Partner

pytestmark = pytest.mark.django_db


def test_prints_the_referral_code_last(capsys):
    call_command("partner", "create", "New.Partner@Example.com", "--password",
                 "a-long-passphrase-77")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    partner = Partner.objects.get(user__email="new.partner@example.com")
    assert last == partner.ref_code == partner.export_code
    assert partner.user.check_password("a-long-passphrase-77")


@pytest.mark.parametrize("args", [
    ["not-an-email", "--password", "a-long-passphrase-77"],
    ["alice@example.com", "--password", "a-long-passphrase-77"],  # exists already
    ["someone@example.com", "--password", "123"],  # too weak
])
def test_bad_input_raises_a_command_error(alice, args):
    with pytest.raises(CommandError):
        call_command("partner", "create", *args)


def test_bad_input_exits_non_zero_with_one_line(tmp_path):
    obmin = Path(sys.executable).with_name("obmin")
    result = subprocess.run(
        [str(obmin), "partner", "create", "not-an-email", "--password", "x"],
        capture_output=True, text=True, env={"OBMIN_DATA_DIR": str(tmp_path),
                                             "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "not-an-email" in result.stderr


@pytest.mark.parametrize("password", ["", "   ", "\t"])
def test_a_blank_password_creates_nothing(password):
    with pytest.raises(CommandError, match="The password must not be empty."):
        call_command("partner", "create", "dave@example.com", "--password", password)
    assert not get_user_model().objects.exists() and not Partner.objects.exists()


def test_a_blank_password_exits_non_zero_with_one_line(tmp_path):
    obmin = Path(sys.executable).with_name("obmin")
    result = subprocess.run(
        [str(obmin), "partner", "create", "dave@example.com", "--password", ""],
        capture_output=True, text=True, env={"OBMIN_DATA_DIR": str(tmp_path),
                                             "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == "CommandError: The password must not be empty."
