"""Tori core: settings, database, accounts, languages, layout, areas, events and the calendar."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
