from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, PortableJSON


class Area(Base):
    __tablename__ = "area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    # One entry per language code: fi, sv, en.
    name: Mapped[dict[str, str]] = mapped_column(PortableJSON)
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
