"""How the results pages word each proposal's outcome. The count itself happens once, at
publication (see `voting.published.count_round`); no page request counts."""

from __future__ import annotations

from app.i18n import N_
from voting.tally.count import RULE_COLUMNS
from voting.tally.rules import Reason

REASONS = {
    Reason.SELECTED: N_("Selected"),
    Reason.COMPLETED: N_("Selected with the money equal shares left, by votes"),
    Reason.DID_NOT_FIT: N_("Did not fit the remaining budget of %(remaining)s"),
    Reason.NOT_ENOUGH_SUPPORT: N_("Not enough support under equal shares"),
    Reason.NO_SUPPORT: N_("No votes"),
}

__all__ = ["REASONS", "RULE_COLUMNS", "Reason"]
