"""actors.Subscriptions: a message type -> actor name table, found through base classes."""

from __future__ import annotations

import actors


class Base:
    pass


class Child(Base):
    pass


class Other:
    pass


def test_a_type_goes_to_its_subscriber_or_its_nearest_bases() -> None:
    table = actors.Subscriptions({Base: "base"})
    assert table.target(Child()) == "base"
    assert table.target(Other()) is None
    table.add([Child], "child")
    assert table.target(Child()) == "child"
    assert table.target_of(Base) == "base"
    assert table.names() == {"base", "child"}


def test_a_later_subscriber_replaces_the_earlier_one() -> None:
    table = actors.Subscriptions()
    table.add([Other, Base], "first")
    table.add([Other], "second")
    assert table.target_of(Other) == "second"
    assert table.target_of(Base) == "first"
    assert "Other: 'second'" in repr(table)


def test_a_new_subscriber_of_a_base_is_found_for_types_looked_up_before() -> None:
    table = actors.Subscriptions({Base: "old"})
    assert table.target_of(Child) == "old"
    assert table.target_of(Other) is None
    table.add([Base], "new")
    table.add([Other], "other")
    assert table.target_of(Child) == "new"
    assert table.target_of(Other) == "other"
