"""Typed text: what is hidden in it, what is harmless at its edges, letters of two scripts."""

from __future__ import annotations

import pytest

from obmin.lib.text import foreign_letter, hidden_character, plain_spaces


@pytest.mark.parametrize("text", ["\u00a0U1234567\u00a0", " U1234567 ", "\u202fU1234567\u3000"])
def test_ordinary_and_no_break_spaces_at_the_edges_are_trimmed(text):
    assert plain_spaces(text) == "U1234567"


def test_no_break_spaces_inside_become_ordinary_ones():
    assert plain_spaces("4111\u00a01111\u202f1111 1111") == "4111 1111 1111 1111"


@pytest.mark.parametrize(("text", "found"), [
    ("bc1q\u200bar0s", "\u200b"), ("\u202eabc", "\u202e"), ("a\u2066b", "\u2066"),
    ("a\ufeff", "\ufeff"), ("a\x00b", "\x00"), ("abc", None), ("4111 1111", None),
])
def test_the_first_hidden_character_is_named(text, found):
    assert hidden_character(text) == found


@pytest.mark.parametrize(("text", "found"), [
    ("bc1q\u0430r0s", "\u0430"),            # Cyrillic а among Latin letters
    ("p\u0430ypal@example.org", "\u0430"),
    ("alice@gm\u0430il.com", "\u0430"),
    ("U123\u03bf567", "\u03bf"),            # Greek omicron
    ("\u212a1234567x", "\u212a"),           # KELVIN SIGN beside a Latin x
    ("abc\uff41", "\uff41"),                # full-width a
])
def test_a_letter_of_another_script_among_latin_ones_is_found(text, found):
    assert foreign_letter(text) == found


@pytest.mark.parametrize("text", [
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "Іван Петренко", "4111 1111 1111 1111",
    "Ζωή", "José Müller", "東京 1-2-3", "",
])
def test_text_of_one_script_is_not_mixed(text):
    assert foreign_letter(text) is None
