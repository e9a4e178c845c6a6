"""Reading and checking the staff form of an area: its name per language and its population
by year."""

from __future__ import annotations

import re

from app.areas import services
from app.areas.models import SETTLEMENT_CLASSES, Area
from app.forms import Form
from app.i18n import LANGUAGES, gettext

# Blank population rows offered beside the saved ones.
EXTRA_POPULATION_ROWS = 2
MAX_POPULATION_ROWS = 40


def area_form(area: Area | None) -> Form:
    values: dict[str, object] = {}
    rows = list(area.populations) if area else []
    for language in LANGUAGES:
        values[f"name_{language}"] = area.name.get(language, "") if area else ""
    for index, row in enumerate(rows):
        values[f"year_{index}"] = row.year
        values[f"population_{index}"] = row.population
    values["rows"] = len(rows) + EXTRA_POPULATION_ROWS
    values["settlement_class"] = area.settlement_class if area else None
    return Form.prefilled(values)


def shown_rows(form: Form) -> int:
    """How many population rows the form shows: the sent count, kept within 0 to the maximum (a
    sent "rows=10^39" once made the template draw rows until the worker ran out of memory)."""
    sent = form.raw("rows").strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,40}", sent):
        return EXTRA_POPULATION_ROWS
    return min(max(int(sent), 0), MAX_POPULATION_ROWS)


def read_area(form: Form) -> services.AreaInput:
    name = form.translated_text("name", required=True, max_length=120)
    rows = form.integer("rows", minimum=0, maximum=MAX_POPULATION_ROWS) or 0
    populations: dict[int, int] = {}
    for index in range(rows):
        year = form.integer(f"year_{index}", minimum=1900, maximum=2100)
        population = form.integer(f"population_{index}", minimum=0, maximum=10_000_000)
        if year is None and population is None:
            continue
        if year is None:
            form.add_error(f"year_{index}", gettext("Give the year of this population figure."))
        elif population is None:
            form.add_error(f"population_{index}", gettext("Give the population for this year."))
        elif year in populations:
            form.add_error(f"year_{index}", gettext("This year is given twice."))
        else:
            populations[year] = population
    settlement = form.choice("settlement_class", SETTLEMENT_CLASSES, required=False)
    return services.AreaInput(name=name, populations=populations, settlement_class=settlement)
