"""Team-draft interleaving (Radlinski, Kurup and Joachims, 2008).

Two rankers take turns, in an order decided by coin flips, to put their best product
not yet shown into one list; each click is credited to the ranker that contributed the
product. A ranker whose picks are clicked more often is preferred by shoppers, and this
shows with far fewer visitors than an A/B test needs, because every shopper compares
both rankers at once.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interleaved:
    """The merged list and, position by position, the ranker that contributed it."""

    items: list
    teams: list[str]


def team_draft(rankings: dict[str, Sequence], k: int, rng: random.Random) -> Interleaved:
    """Merge two rankings into one list of at most k items by team draft."""
    if len(rankings) != 2:
        raise ValueError("team-draft interleaving compares exactly two rankings")
    (first, first_ranking), (second, second_ranking) = rankings.items()
    picks = {first: list(first_ranking), second: list(second_ranking)}
    counts = {first: 0, second: 0}
    items, teams, shown = [], [], set()
    while len(items) < k:
        pending = {team: [item for item in ranking if item not in shown]
                   for team, ranking in picks.items()}
        if not pending[first] and not pending[second]:
            break
        if counts[first] != counts[second]:
            team = first if counts[first] < counts[second] else second
        else:
            team = first if rng.random() < 0.5 else second
        if not pending[team]:
            team = second if team == first else first
        item = pending[team][0]
        items.append(item)
        teams.append(team)
        shown.add(item)
        counts[team] += 1
    return Interleaved(items, teams)


def clicks_credit(teams: Sequence[str], clicked_positions: Sequence[int]) -> dict[str, int]:
    """Count each team's clicked picks."""
    credit = {team: 0 for team in teams}
    for position in clicked_positions:
        credit[teams[position]] += 1
    return credit
