"""Operations endpoints for the city's IT: liveness, readiness and Prometheus metrics.

- `/livez`: the process answers (no database, no Redis): for a supervisor that restarts a hung
  worker.
- `/readyz`: this worker can serve: the database answers (else 503); a configured Redis that
  does not answer is named as "degraded" with a 200, since limits then count in the database:
  for a load balancer, which should not take every worker out because Redis is down. `/healthz` stays the database-only check it
  always was.
- `/metrics` (only with `TORI_METRICS=1`): requests and their latencies by route template and
  status (Litestar's Prometheus middleware, paths grouped so that ids do not multiply series),
  the stored poll votes, questionnaire answers and budgeting ballots, the mail waiting in the
  outbox, and the database pool in use. With `TORI_METRICS_TOKEN` set, a scrape must send it as a bearer token.
  With several workers, `tori serve` gives prometheus_client a shared directory
  (PROMETHEUS_MULTIPROC_DIR) so that any worker's answer covers them all.

prometheus_client is imported only when metrics are on: it chooses its multi-process mode from
the environment when first imported.
"""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Controller, MediaType, Request, Response, get
from sqlalchemy import text

from app.dependencies import AppSettings, DbSession
from app.state import DATABASE, LIMITER

if TYPE_CHECKING:
    from litestar.middleware import DefineMiddleware

    from app.settings import Settings

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# What residents and voters have stored, read at each scrape (each one count).
STORED = {
    "poll_votes": ("Poll votes stored", "SELECT count(*) FROM poll_vote"),
    "feedback_answers": (
        "Questionnaire answers stored (folded and pending)",
        "SELECT (SELECT count(*) FROM feedback_response) + (SELECT count(*) FROM feedback_pending)",
    ),
    "pb_ballots": (
        "Budgeting ballots cast (roll marks)",
        "SELECT count(*) FROM voter_roll WHERE voted_via IS NOT NULL",
    ),
    "mail_queue": (
        "Messages in the outbox waiting to be sent",
        "SELECT count(*) FROM mail_outbox WHERE status IN ('pending', 'sending')",
    ),
}


class LivenessController(Controller):
    @get("/livez", media_type=MediaType.JSON, opt={"skip_language": True})
    async def live(self) -> dict[str, str]:
        """The process answers; nothing else is asked."""
        return {"status": "ok"}

    @get("/readyz", media_type=MediaType.JSON, opt={"skip_language": True})
    async def ready(self, request: Request, db_session: DbSession) -> Response:
        """200 when the database answers, 503 when it does not; a Redis that does not answer is
        named ("degraded"), but the worker stays ready: its limits fall back to the database."""
        down = []
        try:
            await db_session.execute(text("SELECT 1"))
        except Exception:
            down.append("database")
        limiter = LIMITER.of(request)
        ping = getattr(limiter, "ping", None)
        if ping is not None:
            try:
                await ping()
            except Exception:
                down.append("redis")
        if "database" in down:
            return Response({"status": "unavailable", "down": down}, status_code=503)
        if down:
            # Limits are counted in the database meanwhile: this worker still serves.
            return Response({"status": "degraded", "down": down})
        return Response({"status": "ok"})


class MetricsController(Controller):
    @get("/metrics", opt={"skip_language": True, "skip_compression": True})
    async def metrics(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Response:
        if settings.metrics_token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
                return Response(
                    "a bearer token is needed\n",
                    status_code=401,
                    media_type=MediaType.TEXT,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        await _read_stored(db_session)
        _read_pool(request)
        body, content_type = _exposition()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def _gauges() -> dict:
    """The gauges, made once per process (prometheus_client refuses a name twice)."""
    global _GAUGES  # noqa: PLW0603 - one registry per process
    if _GAUGES is None:
        from prometheus_client import Gauge  # noqa: PLC0415 - see the module's docstring

        _GAUGES = {
            name: Gauge(f"tori_{name}", help_text, multiprocess_mode="livemax")
            for name, (help_text, _sql) in STORED.items()
        }
        _GAUGES["pool_in_use"] = Gauge(
            "tori_db_pool_in_use",
            "Database connections checked out of the pool, summed over workers",
            multiprocess_mode="livesum",
        )
        _GAUGES["pool_size"] = Gauge(
            "tori_db_pool_size",
            "Database connections the pools may hold, summed over workers",
            multiprocess_mode="livesum",
        )
    return _GAUGES


_GAUGES: dict | None = None


async def _read_stored(session) -> None:
    gauges = _gauges()
    for name, (_help, sql) in STORED.items():
        gauges[name].set(await session.scalar(text(sql)))
    await session.rollback()


def _read_pool(request: Request) -> None:
    pool = DATABASE.of(request).engine.pool
    gauges = _gauges()
    in_use = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(in_use) and callable(size):
        gauges["pool_in_use"].set(in_use())
        gauges["pool_size"].set(size())


def _exposition() -> tuple[bytes, str]:
    from prometheus_client import (  # noqa: PLC0415 - see the module's docstring
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    registry = REGISTRY
    if os.environ.get(MULTIPROCESS_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def metrics_middleware(settings: Settings) -> list[DefineMiddleware]:
    if not settings.metrics:
        return []
    from litestar.plugins.prometheus import PrometheusConfig  # noqa: PLC0415

    config = PrometheusConfig(
        app_name="tori",
        prefix="tori",
        group_path=True,
        exclude=["^/static/", "^/metrics$", "^/livez$", "^/readyz$", "^/healthz$"],
        exclude_unhandled_paths=True,
    )
    return [config.middleware]


def metrics_handlers(settings: Settings) -> list:
    return [LivenessController, *([MetricsController] if settings.metrics else [])]


def prepare_workers(settings: Settings, workers: int) -> None:
    """Before `tori serve` starts its workers: with metrics on and several workers, an empty
    directory for prometheus_client's per-process files (TORI_METRICS_DIR, else a new temporary
    directory), set in the environment the workers inherit."""
    if not settings.metrics or workers < 2:
        return
    chosen = os.environ.get("TORI_METRICS_DIR")
    folder = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="tori-metrics-"))
    if folder.exists():
        shutil.rmtree(folder)  # values of an earlier run would be counted again
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_VARIABLE] = str(folder)
