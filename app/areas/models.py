from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, PortableJSON
from app.i18n import N_


class Area(Base):
    __tablename__ = "area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    # One entry per language code: fi, sv, en.
    name: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    # One of SETTLEMENT_CLASSES (below), or None while not known.
    settlement_class: Mapped[str | None] = mapped_column(String(16), nullable=True, default=None)
    populations: Mapped[list[AreaPopulation]] = relationship(
        back_populates="area",
        cascade="all, delete-orphan",
        order_by="AreaPopulation.year",
        lazy="selectin",
    )

    def population_in(self, year: int) -> AreaPopulation | None:
        """The figure of that year, or the latest earlier one (statistics lag a year or two)."""
        earlier = [p for p in self.populations if p.year <= year]
        return earlier[-1] if earlier else None


class AreaPopulation(Base):
    __tablename__ = "area_population"
    __table_args__ = (UniqueConstraint("area_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    area: Mapped[Area] = relationship(back_populates="populations")


# The urban/rural class of an area: Statistics Finland's and SYKE's urban–rural classification
# (kaupunki-maaseutu-luokitus, seven classes) simplified to three, so that small cities with few
# areas still have a few of each:
#   urban       K1 inner urban area, K2 outer urban area
#   semi_urban  K3 peri-urban area, M4 local centre in a rural area
#   rural       M5 rural area close to urban areas, M6 rural heartland, M7 sparsely populated
SETTLEMENT_CLASSES = ("urban", "semi_urban", "rural")
SETTLEMENT_CODES = {
    "K1": "urban",
    "K2": "urban",
    "K3": "semi_urban",
    "M4": "semi_urban",
    "M5": "rural",
    "M6": "rural",
    "M7": "rural",
}
SETTLEMENT_LABELS = {"urban": N_("Urban"), "semi_urban": N_("Semi-urban"), "rural": N_("Rural")}
# The age bands of the population: the answer options of the standard questionnaire's
# age-group question, so that residents and respondents are counted in the same bands.
AGE_BANDS = ("age_under_18", "age_18_29", "age_30_44", "age_45_64", "age_65_74", "age_75_plus")
# Mother tongue as Statistics Finland reports it: Finnish, Swedish, Sami and other languages.
MOTHER_TONGUES = ("fi", "sv", "sami", "other")
AGE_BAND_LABELS = {
    "age_under_18": N_("Under 18"),
    "age_18_29": "18–29",
    "age_30_44": "30–44",
    "age_45_64": "45–64",
    "age_65_74": "65–74",
    "age_75_plus": N_("75 or over"),
}
TONGUE_LABELS = {
    "fi": N_("Finnish"),
    "sv": N_("Swedish"),
    "sami": N_("Sami"),
    "other": N_("Other languages"),
}


class AreaStatistics(Base):
    """An area's residents in one year by age band and by mother tongue, as imported from a
    statistics file, with the source the staff pages name (e.g. "Tilastokeskus, Väestörakenne
    2025"). The year's total is also the area's population of that year (AreaPopulation)."""

    __tablename__ = "area_statistics"
    __table_args__ = (UniqueConstraint("area_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    # {band: residents} for every band of AGE_BANDS, {tongue: residents} for MOTHER_TONGUES.
    by_age: Mapped[dict[str, int]] = mapped_column(PortableJSON)
    by_tongue: Mapped[dict[str, int]] = mapped_column(PortableJSON)

    @property
    def total(self) -> int:
        return sum(self.by_age.values())
