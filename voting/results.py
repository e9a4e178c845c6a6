"""How the results pages word each proposal's outcome. The count itself happens once, at
publication (see `voting.published.count_round`); no page request counts."""

from __future__ import annotations

from app.i18n import N_
from voting.tally.count import RULE_COLUMNS

REASONS = {
    "selected": N_("Selected"),
    "completed": N_("Selected with the money equal shares left, by votes"),
    "did_not_fit": N_("Did not fit the remaining budget of %(remaining)s"),
    "not_enough_support": N_("Not enough support under equal shares"),
    "no_support": N_("No votes"),
}

__all__ = ["REASONS", "RULE_COLUMNS"]
