"""Participatory budgeting: rounds, proposals, voting, the count and its audit."""
