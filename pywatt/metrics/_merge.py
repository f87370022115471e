"""Several modules' ``/metrics`` pages as one (the gateway's ``/metrics``): read with
prometheus_client's parser, each sample labelled with its module, each family once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

__all__ = ["merge_pages"]


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def merge_pages(
    pages: Mapping[str, str], *, label: str = "module", first: Iterable[Metric] = ()
) -> tuple[bytes, list[str]]:
    """The pages of ``pages`` (module id → page text) as one page, every sample labelled
    ``label="<id>"`` (a sample that already has that label keeps it), after the families in
    ``first``. Returns the page and a note for each page that could not be read (that
    module's samples are left out; the others are not)."""
    merged: dict[str, Metric] = {}
    order: list[str] = []
    owner: dict[str, str] = {}  # sample name -> the family it belongs to
    for family in first:
        merged[family.name] = family
        order.append(family.name)
        owner.update((sample.name, family.name) for sample in family.samples)
    notes: list[str] = []
    for module_id, text in pages.items():
        try:
            families = list(text_string_to_metric_families(text))
        except ValueError as exc:
            notes.append(f"module {module_id}: its page could not be read: {exc}")
            continue
        for family in families:
            target = merged.get(family.name)
            clash = next(
                (owner[x.name] for x in family.samples
                 if owner.get(x.name, family.name) != family.name),
                None,
            )  # fmt: skip
            if clash is not None:  # a counter "jobs" and a gauge "jobs_total", say
                notes.append(
                    f"module {module_id}: {family.name} ({family.type}) clashes with "
                    f"{clash} ({merged[clash].type}); its samples are left out"
                )
                continue
            if target is None:
                target = merged[family.name] = Metric(
                    family.name, family.documentation, family.type, family.unit
                )
                order.append(family.name)
            elif target.type != family.type:
                notes.append(
                    f"module {module_id}: {family.name} is a {family.type} here and a "
                    f"{target.type} elsewhere; its samples are left out"
                )
                continue
            for sample in family.samples:
                owner[sample.name] = family.name
                labels = (
                    sample.labels if label in sample.labels else {label: module_id, **sample.labels}
                )
                target.samples.append(Sample(sample.name, labels, sample.value,
                                             sample.timestamp, sample.exemplar))  # fmt: skip
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(merged[name] for name in order))
    return generate_latest(registry), notes
