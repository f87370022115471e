"""The placeholder tokenizer: ``?`` (and ``$n`` on the proxy path) to each driver's style,
leaving quoted strings, identifiers, comments and dollar-quoted strings alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywatt.db import Dialect, ParameterError, bind, translate

PG, MY, LITE = Dialect.POSTGRESQL, Dialect.MYSQL, Dialect.SQLITE


def test_question_marks_become_the_driver_style() -> None:
    assert translate("SELECT * FROM t WHERE a = ? AND b = ?", PG).sql == (
        "SELECT * FROM t WHERE a = %s AND b = %s"
    )
    assert translate("SELECT ?", MY).sql == "SELECT %s"
    assert translate("SELECT ?", LITE).sql == "SELECT ?"


def test_a_literal_percent_is_doubled_for_percent_style_drivers() -> None:
    assert translate("SELECT 'a%' LIKE ?, 5 % 2", PG).sql == "SELECT 'a%%' LIKE %s, 5 %% 2"
    assert translate("SELECT 5 % 2", LITE).sql == "SELECT 5 % 2"


@pytest.mark.parametrize(
    ("sql", "dialect", "count"),
    [
        ("SELECT 'it''s ?' , ?", PG, 1),
        ('SELECT "odd?name" FROM t WHERE x = ?', PG, 1),
        ("SELECT `a?` FROM t WHERE x = ?", MY, 1),
        ("SELECT 'a\\'?' , ?", MY, 1),  # MySQL strings take backslash escapes
        ("SELECT E'a\\'?' , ?", PG, 1),  # and PostgreSQL's E'' strings
        ("SELECT 'a\\', ?", PG, 1),  # a plain PostgreSQL string does not: '\' ends there
        ("SELECT ? -- why?\n, ?", PG, 2),
        ("SELECT ? # why?\n, ?", MY, 2),
        ("SELECT ? /* why? */ , ?", LITE, 2),
        ("SELECT /* a /* nested? */ still? */ ?", PG, 1),
        ("SELECT $$ what? $$, ?", PG, 1),
        ("SELECT $fn$ a $$ b? $fn$, ?", PG, 1),
        ("SELECT data ?| array['a'] FROM t WHERE id = ?", PG, 1),
    ],
)
def test_quotes_comments_and_dollar_quoting_hide_placeholders(
    sql: str, dialect: Dialect, count: int
) -> None:
    assert translate(sql, dialect).count == count


def test_numbered_placeholders_are_accepted_on_the_proxy_path_and_reordered() -> None:
    sql, params = bind("SELECT $2, $1, $2", ["a", "b"], PG, allow_numbered=True)
    assert sql == "SELECT %s, %s, %s"
    assert params == ("b", "a", "b")
    sql, params = bind("SELECT $2 || $1", ["x", "y"], LITE, allow_numbered=True)
    assert (sql, params) == ("SELECT ? || ?", ("y", "x"))


def test_numbered_placeholders_are_refused_elsewhere_with_a_clear_error() -> None:
    with pytest.raises(ParameterError, match=r"'\$' placeholders are accepted only"):
        translate("SELECT $1", PG)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 'open", "unterminated string starting at offset 7"),
        ('SELECT "open', "unterminated quoted identifier"),
        ("SELECT /* open", "unterminated block comment"),
        ("SELECT $a$ open", "unterminated dollar-quoted string"),
        ("SELECT ?, $1", "mixed"),
        ("SELECT $0", r"'\$0' is not a parameter"),
        ("SELECT $2", r"\$1 is never used"),
    ],
)
def test_malformed_statements_are_parameter_errors_that_say_where(sql: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        translate(sql, PG, allow_numbered=True)


def test_a_parameter_count_mismatch_names_both_counts() -> None:
    with pytest.raises(ParameterError, match=r"2 placeholder.*but 1 parameter"):
        bind("SELECT ?, ?", [1], LITE)


def test_identifiers_containing_dollars_are_not_placeholders() -> None:
    assert translate("SELECT a$1 FROM t$x WHERE b = ?", PG).count == 1


@given(st.text(alphabet="ab ?'\"-/*\n%", max_size=40))
def test_translation_never_crashes_and_keeps_everything_but_the_marks(sql: str) -> None:
    try:
        translation = translate(sql, PG)
    except ParameterError:
        return
    assert translation.count == len(translation.order)
    assert translation.sql.replace("%s", "?").replace("%%", "%") == sql
