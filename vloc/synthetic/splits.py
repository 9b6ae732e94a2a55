"""How the synthetic sets (:mod:`vloc.synthetic.translation`,
:mod:`vloc.synthetic.summarization`) check their size and split their films into train, valid
and test."""

from __future__ import annotations

from collections.abc import Sequence

from vloc.errors import InputError


def check_film_count(films: int) -> None:
    """A synthetic set has at least one film; InputError otherwise."""
    if films < 1:
        raise InputError(f"the number of films must be at least 1, got {films}")


def check_split_shares(shares: Sequence[float]) -> None:
    """(train, valid, test) split shares: three, each >= 0, summing to 1; InputError otherwise."""
    if len(shares) != 3 or min(shares) < 0 or abs(sum(shares) - 1) > 1e-6:
        raise InputError(
            f"split shares (train, valid, test) must be >= 0 and sum to 1, got {shares}"
        )


def split_of(j: int, per_group: int, shares: Sequence[float]) -> str:
    """The split of the ``j``-th film of a group of ``per_group`` (a topic, a topic pair):
    the first ``shares[0]`` of each group train, the next ``shares[1]`` valid, the rest test."""
    train, valid, _ = shares
    if j < round(per_group * train):
        return "train"
    if j < round(per_group * (train + valid)):
        return "valid"
    return "test"
