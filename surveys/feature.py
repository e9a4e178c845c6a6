"""How the surveys package plugs into Tori (see app/features.py)."""

from app.features import Feature

feature = Feature(name="surveys", model_modules=("surveys.models",))
