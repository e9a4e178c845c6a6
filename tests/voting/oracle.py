"""The reference: what pabutools (the reference implementation of the rules) selects."""

from __future__ import annotations

from pabutools.election import (
    Additive_Cardinal_Sat,
    ApprovalBallot,
    ApprovalProfile,
    Cardinality_Sat,
    Cost_Sat,
)
from pabutools.election.pabulib import parse_pabulib_from_string
from pabutools.rules import (
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)


def reference(text: str, rule: str, sat: str) -> list[str]:
    """What pabutools 1.2 selects, on the approval view of the ballots for cost and cardinality."""
    instance, profile = parse_pabulib_from_string(text)
    if sat != "points" and not isinstance(profile, ApprovalProfile):
        approval = ApprovalProfile(instance=instance)
        for ballot in profile:
            approval.append(ApprovalBallot(list(ballot)))
        profile = approval
    sat_class = {"cost": Cost_Sat, "cardinality": Cardinality_Sat, "points": Additive_Cardinal_Sat}[
        sat
    ]
    if rule == "greedy":
        outcome = greedy_utilitarian_welfare(instance, profile, sat_class=sat_class)
    elif rule == "mes":
        outcome = method_of_equal_shares(instance, profile, sat_class=sat_class)
    else:
        outcome = exhaustion_by_budget_increase(
            instance,
            profile,
            method_of_equal_shares,
            {"sat_class": sat_class},
            budget_step=profile.num_ballots(),
            exhaustive_stop=False,
        )
    return sorted(project.name for project in outcome)
