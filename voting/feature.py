"""How the voting package plugs into Tori (see app/features.py)."""

from app.features import Feature
from voting.commands import COMMANDS

feature = Feature(name="voting", commands=COMMANDS)
