"""The did-you-mean every unknown-key error uses."""

from __future__ import annotations

from pywatt._suggest import did_you_mean, unknown_keys


def test_a_close_name_is_suggested_and_a_far_one_is_not() -> None:
    assert did_you_mean("secretz", ["secrets", "endpoints"]) == " (did you mean 'secrets'?)"
    assert did_you_mean("zzz", ["secrets", "endpoints"]) == ""


def test_the_known_list_is_given_only_when_some_name_has_no_suggestion() -> None:
    assert unknown_keys("key", ["max_sise"], ["max_size", "ttl"]) == (
        "unknown key 'max_sise' (did you mean 'max_size'?)"
    )
    assert unknown_keys("key", ["max_sise", "zzz"], ["max_size", "ttl"]) == (
        "unknown keys 'max_sise' (did you mean 'max_size'?), 'zzz'; known: max_size, ttl"
    )
