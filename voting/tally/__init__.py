"""The count of a participatory budgeting round: pure Python, standard library only.

Nothing here imports the web application or a database, so the same code counts a
round inside Tori, in `tori tally FILE.pb` and in the standalone verifier. All
arithmetic is exact (integers and `fractions.Fraction`); ties are broken by the
project id compared as a string, as pabutools does by default.
"""

from voting.tally.pabulib import Election, PabulibError, parse_pabulib, write_pabulib
from voting.tally.rules import (
    RULES,
    SATISFACTIONS,
    Outcome,
    equal_shares_completed,
    greedy,
    mes_add1,
    method_of_equal_shares,
    tally,
    votes_per_project,
)

__all__ = [
    "RULES",
    "SATISFACTIONS",
    "Election",
    "Outcome",
    "PabulibError",
    "equal_shares_completed",
    "greedy",
    "mes_add1",
    "method_of_equal_shares",
    "parse_pabulib",
    "tally",
    "votes_per_project",
    "write_pabulib",
]
