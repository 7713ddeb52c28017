"""The third level of a three-level sample: named branches under each region.

Each region has `branches` branches named after its cities (New York, London, Tokyo,
São Paulo, ...); past the list a city comes round again numbered (`London 2`). Every
segment has a branch in each of them, so a node is `segment/region/branch` (DOMAIN.md
§2). Branches differ in size (a few big ones, a long tail) and each has a steady quality
of its own on top of its cell's story, so a region's comparison page has leaders and
laggards to show.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np

from ..hierarchy import slug
from .company import REGIONS, SEGMENTS, Customers

_CITIES: dict[str, tuple[str, ...]] = {
    "amer": (
        "New York", "Toronto", "Chicago", "Boston", "Atlanta", "Dallas", "Denver", "Seattle",
        "San Francisco", "Los Angeles", "Miami", "Montréal", "Vancouver", "Houston", "Phoenix",
        "Minneapolis", "Philadelphia", "Detroit", "Calgary", "Austin", "Nashville", "Portland",
        "San Diego", "Ottawa",
    ),
    "emea": (
        "London", "Paris", "Berlin", "Madrid", "Milan", "Amsterdam", "Dublin", "Stockholm",
        "Zürich", "Vienna", "Warsaw", "Lisbon", "Brussels", "Copenhagen", "Oslo", "Helsinki",
        "Prague", "Munich", "Barcelona", "Dubai", "Johannesburg", "Tel Aviv", "Istanbul",
        "Manchester",
    ),
    "apac": (
        "Tokyo", "Singapore", "Sydney", "Melbourne", "Seoul", "Hong Kong", "Mumbai", "Bangalore",
        "Shanghai", "Jakarta", "Manila", "Bangkok", "Auckland", "Osaka", "Taipei",
        "Kuala Lumpur", "Delhi", "Hanoi", "Brisbane", "Perth", "Chennai", "Ho Chi Minh City",
        "Busan", "Wellington",
    ),
    "latam": (
        "São Paulo", "Mexico City", "Buenos Aires", "Bogotá", "Santiago", "Lima",
        "Rio de Janeiro", "Monterrey", "Guadalajara", "Medellín", "Montevideo", "Quito",
        "Panama City", "San José", "Caracas", "Belo Horizonte", "Porto Alegre", "Curitiba",
        "Córdoba", "Asunción", "Santo Domingo", "Guatemala City", "La Paz", "Cali",
    ),
}  # fmt: skip

_SURVEY_SD = 0.25  # spread of the branches' own survey quality, in score standard deviations
_PROCESS_SD = 0.40


@cache
def names(branches: int) -> tuple[str, ...]:
    """Display names of the branches, region-major: region r's branch b is `r * branches + b`."""
    out: list[str] = []
    for region in REGIONS:
        cities = _CITIES[region]
        for b in range(branches):
            round_ = b // len(cities) + 1
            city = cities[b % len(cities)]
            out.append(city if round_ == 1 else f"{city} {round_}")
    return tuple(out)


@cache
def values(branches: int) -> tuple[str, ...]:
    """The `branch` column's values (`new-york`, `sao-paulo`, `london-2`), as `names`."""
    return tuple(slug(name) for name in names(branches))


def assign(rng: np.random.Generator, cust: Customers, branches: int) -> Customers:
    """`cust` with a branch for each customer and its branch's own quality.

    In each segment×region cell the first customers of a random order take one branch
    each (so every branch has customers when the cell has enough), the rest are drawn
    with weights 1/sqrt(rank), the big branches in a different order in every cell.
    """
    cells = len(SEGMENTS) * len(REGIONS)
    branch = np.zeros(cust.n, dtype=np.int64)
    cell = cust.cell
    for c in range(cells):
        members = np.flatnonzero(cell == c)
        weight = 1 / np.sqrt(np.arange(1, branches + 1))
        weight = rng.permutation(weight / weight.sum())
        drawn = rng.choice(branches, size=members.size, p=weight)
        first = rng.permutation(members.size)[:branches]
        drawn[first] = rng.permutation(branches)[: first.size]
        branch[members] = drawn
    team = cell * branches + branch
    survey = rng.normal(0, _SURVEY_SD, cells * branches)
    process = rng.normal(0, _PROCESS_SD, cells * branches)
    return dataclasses.replace(
        cust, branch=branch, survey_shift=survey[team], process_shift=process[team]
    )
