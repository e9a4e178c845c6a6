"""Ranking ballots counted by Borda points: standard library only.

A ranking ballot gives each budget's chosen proposals the ranks 1, 2, 3, … (1 the most
preferred; no rank twice, no gap). With N the most ranks a ballot may give in a budget (the
round's `max_choices`), rank r is worth N - r + 1 Borda points: the first N, the second N - 1,
and so on. A proposal's Borda score is the sum of its points over the ballots; the counting
rules then take those points as points ballots' points (`voting.tally.count`).

The ballot log stores the ranks as the voter gave them; the points are derived here, so the
verifier recounts them from the log and the round's N alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def borda_points(rank: int, ranks: int) -> int:
    """The points of rank `rank` (1 = first) when a ballot may give `ranks` ranks."""
    if not 1 <= rank <= ranks:
        raise ValueError(f"rank {rank} is not between 1 and {ranks}")
    return ranks - rank + 1


def as_borda_points(selections: Mapping[str, int], ranks: int) -> dict[str, int]:
    """A ranking ballot's selections (project id -> rank) as project id -> Borda points."""
    return {project: borda_points(rank, ranks) for project, rank in selections.items()}


def ranking_of(selections: Mapping[str, int], projects: Iterable[str] | None = None) -> list[str]:
    """The project ids of a ranking ballot in rank order (most preferred first); with
    `projects`, only those (one budget's part of the ballot)."""
    wanted = None if projects is None else set(projects)
    chosen = [p for p in selections if wanted is None or p in wanted]
    return sorted(chosen, key=lambda project: selections[project])


def borda_scores(
    ballots: Iterable[Mapping[str, int]], ranks: int, projects: Iterable[str]
) -> dict[str, int]:
    """Each project's Borda score: its points summed over the ranking ballots."""
    scores = dict.fromkeys(projects, 0)
    for selections in ballots:
        for project, rank in selections.items():
            if project in scores:
                scores[project] += borda_points(rank, ranks)
    return scores
