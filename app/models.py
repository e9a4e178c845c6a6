"""Every table of every feature, imported so that Alembic and the tests see the whole schema."""

from app.accounts.models import StaffSession, User
from app.areas.models import Area, AreaPopulation
from app.audit import AuditRecord
from app.database import Base
from app.events.models import Event, EventOrganiser, EventSeries
from app.features import load_features
from app.mail.models import OutboxMessage
from app.page_cache import PageVersion
from app.ratelimit import RateLimitCounter

# The feature packages' tables belong to the same schema and the same Alembic history.
load_features()
metadata = Base.metadata

__all__ = [
    "Area",
    "AreaPopulation",
    "AuditRecord",
    "Event",
    "EventOrganiser",
    "EventSeries",
    "OutboxMessage",
    "PageVersion",
    "RateLimitCounter",
    "StaffSession",
    "User",
    "metadata",
]
