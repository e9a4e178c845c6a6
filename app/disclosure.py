"""Small-group suppression: the one rule every page and export that shows counts of people
follows, so that no one's answer or participation can be singled out.

- A group of fewer than `MIN_GROUP_SIZE` people is withheld.
- Where the total of a breakdown is published elsewhere, withholding one group alone is not
  enough: the total minus the shown groups gives it back. `withheld()` then withholds the next
  smallest group too (complementary suppression), so no withheld group can be recovered by
  subtraction.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

# Groups smaller than this are not shown, so that no one's answers can be singled out.
MIN_GROUP_SIZE = 5


def too_few_to_show(people: int) -> bool:
    """Whether a group of this many people is withheld, on every page and in every export."""
    return people < MIN_GROUP_SIZE


def withheld(groups: Mapping[K, tuple[int, ...]]) -> set[K]:
    """The groups of one breakdown to withhold. Each group gives the counts that would be shown
    (for example: voters, and those eligible who did not vote); a group is withheld when any of
    them is small – a count of 0 too, since "nobody in this group" singles out its members as
    well. When only one group is withheld and others are
    shown, the smallest shown group is withheld with it."""
    hidden = {key for key, counts in groups.items() if any(too_few_to_show(c) for c in counts)}
    if len(hidden) == 1 and len(groups) > 1:
        shown = [key for key in groups if key not in hidden]
        hidden.add(min(shown, key=lambda key: min(groups[key])))
    return hidden


def withheld_cells(cells: Mapping[K, int], lines: Sequence[Sequence[K]]) -> set[K]:
    """The cells of a table to withhold, where each line is a set of cells whose sum is shown
    or can be worked out (a row with its total, a column with the city's figure of that group,
    the areas of a class with the class). A small cell is withheld; then, while a line has just
    one withheld cell (which its sum would give back), its smallest shown cell is withheld too.
    Cells only ever become withheld, so this ends."""
    hidden = {key for key, count in cells.items() if too_few_to_show(count)}
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(key in hidden for key in line) == 1:
                shown = [key for key in line if key not in hidden]
                if shown:
                    hidden.add(min(shown, key=lambda key: cells[key]))
                    changed = True
    return hidden
