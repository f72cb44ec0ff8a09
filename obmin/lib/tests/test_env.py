"""Settings read from the environment: a value that cannot be one says which variable it is."""

from __future__ import annotations

import pytest

from obmin.lib.env import envint


def test_envint_reads_whole_numbers_and_names_a_bad_variable(monkeypatch):
    monkeypatch.delenv("OBMIN_TEST_NUMBER", raising=False)
    assert envint("OBMIN_TEST_NUMBER", 25) == 25
    monkeypatch.setenv("OBMIN_TEST_NUMBER", " 587 ")
    assert envint("OBMIN_TEST_NUMBER", 25) == 587
    monkeypatch.setenv("OBMIN_TEST_NUMBER", "smtp")
    with pytest.raises(ValueError, match=r"^OBMIN_TEST_NUMBER must be a whole number, not 'smtp'$"):
        envint("OBMIN_TEST_NUMBER", 25)
