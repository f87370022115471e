"""The shared suite: every cache operation on every backend (memory, redis, memcached, file,
proxy). Where backends differ, the expectation comes from the table's data
(``pywatt.cache._semantics.ROWS``), which docs/cache-backends.md shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import trio

from pywatt.cache import (
    Clear,
    CounterOverflow,
    Decrement,
    Delete,
    DeleteMany,
    Exists,
    Get,
    GetMany,
    GetSet,
    Increment,
    InvalidKey,
    NotAnInteger,
    Set,
    SetMany,
    SetNx,
    Stats,
    ValueTooLarge,
)
from pywatt.cache._semantics import ROWS, semantics_markdown

from .conftest import Harness

DOC = Path(__file__).resolve().parents[2] / "docs" / "cache-backends.md"


def expect(row: str, harness: Harness) -> str:
    """The code the table gives ``row`` on this backend."""
    return ROWS[row].code(harness.kind)


# -- the basics ----------------------------------------------------------------------------


async def test_set_then_get_exists_and_delete(cache: Harness) -> None:
    assert await cache.ask(Get("k")) is None
    assert await cache.ask(Exists("k")) is False
    await cache.ask(Set("k", b"v1"))
    assert await cache.ask(Get("k")) == b"v1"
    assert await cache.ask(Exists("k")) is True
    await cache.ask(Set("k", b"\x00\xffbinary"))
    assert await cache.ask(Get("k")) == b"\x00\xffbinary"
    assert await cache.ask(Delete("k")) is True
    assert await cache.ask(Delete("k")) is False
    assert await cache.ask(Get("k")) is None


async def test_set_nx_stores_only_when_absent(cache: Harness) -> None:
    assert await cache.ask(SetNx("nx", b"first")) is True
    assert await cache.ask(SetNx("nx", b"second")) is False
    assert await cache.ask(Get("nx")) == b"first"


async def test_get_set_answers_the_previous_value(cache: Harness) -> None:
    assert await cache.ask(GetSet("gs", b"a")) is None
    assert await cache.ask(GetSet("gs", b"b")) == b"a"
    assert await cache.ask(Get("gs")) == b"b"


async def test_many_operations(cache: Harness) -> None:
    await cache.ask(SetMany({"m1": b"1", "m2": b"2", "m3": b"3"}))
    assert await cache.ask(GetMany(("m1", "m3", "missing"))) == {"m1": b"1", "m3": b"3"}
    assert await cache.ask(GetMany(())) == {}
    assert await cache.ask(DeleteMany(("m1", "m2", "missing"))) == 2
    assert await cache.ask(GetMany(("m1", "m2", "m3"))) == {"m3": b"3"}


async def test_clear_removes_everything_of_this_cache(cache: Harness) -> None:
    await cache.ask(SetMany({"c1": b"1", "c2": b"2"}))
    await cache.ask(Clear())
    assert await cache.ask(GetMany(("c1", "c2"))) == {}


async def test_stats_count_hits_misses_and_latency(cache: Harness) -> None:
    await cache.ask(Set("s", b"1"))
    await cache.ask(Get("s"))
    await cache.ask(Get("nothing-here"))
    stats = await cache.ask(Stats())
    assert stats.hits >= 1
    assert stats.misses >= 1
    assert stats.operations >= 3
    assert stats.latency_max_us > 0
    assert stats.latency_p50_us <= stats.latency_max_us
    assert expect("stats", cache) in ("client", "server")


# -- counters ------------------------------------------------------------------------------


async def test_increment_and_decrement(cache: Harness) -> None:
    assert expect("increment_missing", cache) == "from_zero"
    assert await cache.ask(Increment("n", 5)) == 5
    assert await cache.ask(Increment("n")) == 6
    assert await cache.ask(Decrement("n", 2)) == 4
    assert (await cache.ask(Get("n"))).strip() == b"4"
    assert expect("counter_text", cache) == "decimal"


async def test_decrement_below_zero(cache: Harness) -> None:
    await cache.ask(Set("d", b"3"))
    result = await cache.ask(Decrement("d", 5))
    assert result == {"negative": -2, "floors_at_zero": 0}[expect("decrement_below_zero", cache)]


async def test_increment_overflow(cache: Harness) -> None:
    if expect("increment_overflow", cache) == "wraps":
        await cache.ask(Set("o", str(2**64 - 1).encode()))
        assert await cache.ask(Increment("o")) == 0
    else:
        await cache.ask(Set("o", str(2**63 - 1).encode()))
        with pytest.raises(CounterOverflow):
            await cache.ask(Increment("o"))
        assert await cache.ask(Get("o")) == str(2**63 - 1).encode()


async def test_increment_of_a_non_integer(cache: Harness) -> None:
    assert expect("increment_non_integer", cache) == "not_an_integer"
    await cache.ask(Set("text", b"hello"))
    with pytest.raises(NotAnInteger):
        await cache.ask(Increment("text"))
    assert await cache.ask(Get("text")) == b"hello"


async def test_concurrent_increments_from_two_clients_are_atomic(cache: Harness) -> None:
    names = await _two_clients(cache)
    async with trio.open_nursery() as nursery:
        for i in range(50):
            nursery.start_soon(cache.ask, Increment("shared"), names[i % len(names)])
    assert await cache.ask(Increment("shared", 0)) == 50
    assert expect("atomic_ops", cache) in ("actor", "server", "lock")


async def test_concurrent_get_sets_see_every_value_once(cache: Harness) -> None:
    names = await _two_clients(cache)
    seen: list[bytes | None] = []

    async def swap(i: int) -> None:
        seen.append(await cache.ask(GetSet("swap", b"%d" % i), names[i % len(names)]))

    async with trio.open_nursery() as nursery:
        for i in range(30):
            nursery.start_soon(swap, i)
    final = await cache.ask(Get("swap"))
    # linearizable: the previous values plus the final one are every value exactly once
    assert sorted([*seen, final], key=repr) == sorted(
        [None, *[b"%d" % i for i in range(30)]], key=repr
    )


async def _two_clients(cache: Harness) -> list[str]:
    """Two clients of the same keys: a second actor on the same storage and namespace (for
    memory the one actor, which is the storage)."""
    if cache.kind == "memory":
        return [cache.name]
    return [cache.name, await cache.spawn(namespace=f"t{cache.tag}1:")]


# -- keys, TTLs and sizes ------------------------------------------------------------------


KEY_ROWS = {"key_whitespace": "a key", "key_long": "k" * 300}


@pytest.mark.parametrize("row", KEY_ROWS)
async def test_key_rules(cache: Harness, row: str) -> None:
    key = KEY_ROWS[row]
    if expect(row, cache) == "invalid_key":
        with pytest.raises(InvalidKey):
            await cache.ask(Set(key, b"v"))
        return
    await cache.ask(Set(key, b"v"))
    assert await cache.ask(Get(key)) == b"v"


async def test_ttl_expiry_and_resolution(cache: Harness) -> None:
    await cache.ask(Set("ttl", b"v", ttl=0.3))
    await cache.ask(Set("forever", b"v"))
    assert await cache.ask(Get("ttl")) == b"v"
    await trio.sleep(0.6)
    if expect("ttl_resolution", cache) == "fraction":
        assert await cache.ask(Get("ttl")) is None
    else:  # whole seconds: 0.3 became 1 s
        assert await cache.ask(Get("ttl")) == b"v"
        await trio.sleep(1.6)
        assert await cache.ask(Exists("ttl")) is False
    assert await cache.ask(Get("forever")) == b"v"


async def test_ttl_over_30_days_is_kept(cache: Harness) -> None:
    assert expect("ttl_over_30_days", cache) == "kept"
    await cache.ask(Set("long", b"v", ttl=31 * 24 * 3600))
    assert await cache.ask(Get("long")) == b"v"
    await cache.ask(SetMany({"long2": b"w"}, ttl=40 * 24 * 3600))
    assert await cache.ask(Get("long2")) == b"w"


async def test_large_value(cache: Harness) -> None:
    value = b"x" * (1536 * 1024)
    if expect("large_value", cache) == "too_large":
        with pytest.raises(ValueTooLarge):
            await cache.ask(Set("big", value))
        assert await cache.ask(Get("after-big")) is None  # the connection is still in step
        return
    await cache.ask(Set("big", value))
    assert await cache.ask(Get("big")) == value


async def test_clear_scope_beside_another_namespace(cache: Harness) -> None:
    other = await cache.spawn()
    await cache.ask(Set("mine", b"1"))
    await cache.ask(Set("theirs", b"2"), other)
    await cache.ask(Clear())
    assert await cache.ask(Get("mine")) is None
    survived = await cache.ask(Get("theirs"), other) == b"2"
    assert survived == (expect("clear_scope", cache) == "namespace_only")


async def test_set_many_semantics_are_documented(cache: Harness) -> None:
    await cache.ask(SetMany({"a1": b"1", "a2": b"2"}, ttl=60))
    assert await cache.ask(GetMany(("a1", "a2"))) == {"a1": b"1", "a2": b"2"}
    assert expect("set_many", cache) in ("all_or_nothing", "per_key")


# -- the table -----------------------------------------------------------------------------


def test_docs_embed_the_generated_table() -> None:
    text = DOC.read_text()
    match = re.search(r"<!-- BEGIN semantics -->\n(.*?)<!-- END semantics -->", text, re.S)
    assert match, "docs/cache-backends.md lost its BEGIN/END semantics markers"
    assert match.group(1) == semantics_markdown(), (
        "docs/cache-backends.md is out of date: paste `python -m pywatt.cache._semantics`"
    )


def test_every_row_of_the_table_is_checked_by_this_suite() -> None:
    source = Path(__file__).read_text()
    checked = set(re.findall(r"expect\(\"(\w+)\"", source)) | set(KEY_ROWS)
    assert set(ROWS) <= checked, sorted(set(ROWS) - checked)
