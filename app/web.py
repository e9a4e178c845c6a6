"""The ASGI application: `create_app()` wires settings, database, languages and every feature."""

from __future__ import annotations

import gc

from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar_htmx import HTMXPlugin

from app.accounts.controllers import (
    SignInController,
    StaffPasswordResetController,
    UsersController,
)
from app.accounts.middleware import StaffSessionMiddleware
from app.accounts.services import SignInGuard
from app.areas.controllers import AreasController
from app.audit.controllers import AuditController, PublicAuditLogController
from app.database import Database
from app.errors import exception_handlers
from app.events.controllers import (
    CalendarController,
    HeadCounterController,
    StaffEventsController,
)
from app.events.register_controllers import EventTypesController, OrganisersController
from app.features import load_features
from app.i18n import configure_languages, load_catalogs
from app.logs import access_log_middleware, configure_logging
from app.mail.controllers import MailController
from app.mail.sender import SenderTask
from app.media import MediaController
from app.metrics import metrics_handlers, metrics_middleware
from app.opendata.controllers import OpenDataController
from app.page_cache import SharedPagesMiddleware
from app.ratelimit import (
    BatchedCounter,
    DatabaseRateLimiter,
    FallbackRateLimiter,
    RedisRateLimiter,
)
from app.requests import path_numbers_are_canonical
from app.security import form_token_cookie, origin_of, register_form_token, security_headers
from app.settings import Settings
from app.site.controllers import SiteController, StaffHomeController
from app.state import application_state
from app.templating import ONE_YEAR, Renderer

# Forms are small; a larger body is refused with a 413 page before it is read.
MAX_BODY_BYTES = 256 * 1024
CSRF_COOKIE = "tori_csrf"

ROUTE_HANDLERS = [
    SiteController,
    CalendarController,
    SignInController,
    StaffPasswordResetController,
    StaffHomeController,
    StaffEventsController,
    HeadCounterController,
    AreasController,
    OrganisersController,
    EventTypesController,
    UsersController,
    AuditController,
    PublicAuditLogController,
    MailController,
    OpenDataController,
    MediaController,
]


def settle_memory() -> None:
    """Move what start-up allocated (modules, templates, catalogs) out of the garbage collector's
    sight, so that its full collections stay short while requests are served."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, extra_route_handlers: tuple = ()) -> Litestar:
    settings = settings or Settings.from_environment()
    configure_logging(settings.log_level)
    load_catalogs(settings.locale_dir)
    configure_languages(settings.content_languages, settings.interface_fallback)
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    limiter = (
        FallbackRateLimiter(
            RedisRateLimiter(settings.redis_url), DatabaseRateLimiter(database.sessionmaker)
        )
        if settings.redis_url
        else DatabaseRateLimiter(database.sessionmaker)
    )
    renderer = Renderer(settings)
    sign_in_guard = SignInGuard(limiter=limiter, secret=settings.secret_key)
    # Delivers the outbox from this process when SMTP_URL is set (TORI_MAIL_SENDER=0: `tori mail`).
    mail_sender = SenderTask(database.sessionmaker, settings)

    async def choose_language(request: Request) -> None:
        renderer.choose_language(request)
        if not path_numbers_are_canonical(request):
            raise NotFoundException()

    async def close_resources() -> None:
        await mail_sender.close()
        if isinstance(limiter, FallbackRateLimiter):
            await limiter.close()
        await database.dispose()

    return Litestar(
        route_handlers=[
            *ROUTE_HANDLERS,
            *(handler for feature in load_features() for handler in feature.route_handlers),
            *extra_route_handlers,
            *metrics_handlers(settings),
            create_static_files_router(
                path="/static",
                directories=[settings.static_dir],
                name="static",
                include_in_schema=False,
                cache_control=CacheControlHeader(public=True, max_age=ONE_YEAR),
            ),
        ],
        dependencies={
            "db_session": Provide(database.session),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "sign_in_guard": Provide(lambda: sign_in_guard, use_cache=True, sync_to_thread=False),
        },
        state=application_state(
            database=database,
            settings=settings,
            renderer=renderer,
            limiter=limiter,
            burst_counter=BatchedCounter(limiter),
        ),
        middleware=[
            *metrics_middleware(settings),
            access_log_middleware,
            # Anonymous readers of public pages are served rendered pages (before any session).
            DefineMiddleware(SharedPagesMiddleware),
            # Residents' questionnaire, poll and kiosk pages never need a staff session.
            DefineMiddleware(
                StaffSessionMiddleware,
                exclude=[
                    "^/static/",
                    "^/media/",
                    "^/healthz$",
                    "^/livez$",
                    "^/readyz$",
                    "^/metrics$",
                    "^/f/",
                    "^/p/",
                    "^/kiosk",
                ],
            ),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            cookie_secure=settings.https,
            cookie_httponly=True,
            cookie_samesite="lax",
            header_name="x-csrftoken",
        ),
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(renderer.environment),
            engine_callback=register_form_token,
        ),
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=512,
            gzip_compress_level=6,
            # Server-sent events must reach the browser one by one, not in compressed blocks.
            exclude_opt_key="skip_compression",
        ),
        plugins=[HTMXPlugin()],
        before_request=choose_language,
        before_send=[
            security_headers(
                https=settings.https,
                embed_origins=settings.embed_origins,
                # Strong identification redirects a form to the identity provider.
                form_targets=origin_of(settings.oidc_issuer) if settings.oidc_configured else (),
            ),
            form_token_cookie,
            renderer.remember_language_hook(),
        ],
        exception_handlers=exception_handlers(renderer),
        request_max_body_size=MAX_BODY_BYTES,
        on_startup=[settle_memory, mail_sender.start],
        on_shutdown=[
            *(hook for feature in load_features() for hook in feature.on_shutdown),
            close_resources,
        ],
        openapi_config=None,
        logging_config=None,
        debug=settings.debug,
    )
