"""What each worker keeps for the whole application (Litestar's `app.state`), read through typed
slots instead of string keys: `DATABASE.of(request)` is a `Database`, and every key is named once.

The core's slots are filled by `create_app`; a feature declares its own per-process objects as
slots with a factory that is given the application (e.g.
`Slot("poll_notifier", lambda app: PollNotifier(DATABASE.of(app)))`), made on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from litestar.datastructures import State

if TYPE_CHECKING:
    from app.database import Database
    from app.ratelimit import BatchedCounter, RateLimiter
    from app.settings import Settings
    from app.templating import Renderer

T = TypeVar("T")


def _app_of(holder: Any) -> Any:
    """A Litestar application, or the application serving a request or websocket."""
    return getattr(holder, "app", holder)


def _state_of(holder: Any) -> State:
    return _app_of(holder).state


class Slot(Generic[T]):
    """One key of the application state, with the type of what it holds."""

    def __init__(self, key: str, make: Callable[[Any], T] | None = None) -> None:
        self.key = key
        self.make = make

    def of(self, holder: Any) -> T:
        """The value for this application (a Litestar app, or a request or websocket of it);
        made on first use when the slot has a factory."""
        state = _state_of(holder)
        if self.key not in state:
            if self.make is None:
                raise LookupError(f"the application state has no {self.key!r}")
            state[self.key] = self.make(_app_of(holder))
        return state[self.key]

    def get(self, holder: Any) -> T | None:
        """The value, or None when it was never set or made."""
        return _state_of(holder).get(self.key)

    def set(self, holder: Any, value: T) -> None:
        _state_of(holder)[self.key] = value


DATABASE: Slot[Database] = Slot("db")
SETTINGS: Slot[Settings] = Slot("settings")
RENDERER: Slot[Renderer] = Slot("renderer")
# Sign-in throttling and other counters where every hit counts at once.
LIMITER: Slot[RateLimiter] = Slot("limiter")
# Per-address counters of votes and answers: large limits, hit in bursts.
BURST_COUNTER: Slot[BatchedCounter] = Slot("burst_counter")


def application_state(
    *,
    database: Database,
    settings: Settings,
    renderer: Renderer,
    limiter: RateLimiter,
    burst_counter: BatchedCounter,
) -> State:
    """The state `create_app` starts each application with."""
    state = State()
    for slot, value in (
        (DATABASE, database),
        (SETTINGS, settings),
        (RENDERER, renderer),
        (LIMITER, limiter),
        (BURST_COUNTER, burst_counter),
    ):
        state[slot.key] = value
    return state
