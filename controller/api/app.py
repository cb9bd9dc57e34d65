"""The controller's FastAPI app factory and its lifespan (database, MQTT dispatcher)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from controller import web
from controller.api import alerts as api_alerts
from controller.api import bulletin_edits as api_bulletin_edits
from controller.api import bulletins as api_bulletins
from controller.api import cap as api_cap
from controller.api import cap_out as api_cap_out
from controller.api import docs as api_docs
from controller.api import enrol as api_enrol
from controller.api import errors as api_errors
from controller.api import live as api_live
from controller.api import nodes as api_nodes
from controller.api import programme as api_programme
from controller.api import relays as api_relays
from controller.api import releases as api_releases
from controller.api import sms_inbound as api_sms_inbound
from controller.api.deps import token_gate
from controller.api.limits import BodyLimit, Limit
from controller.config import ControllerConfig
from controller.db import Database, migrate
from controller.delivery.dispatcher import Dispatcher
from controller.emergency.channels.vault import load_vault
from controller.emergency.channels.worker import ChannelWorker
from controller.errors import DomainError, TooLargeError
from controller.jobs import start_scheduler, stop_scheduler
from controller.live import Live, MqttStreamPublisher
from controller.nodes.keys import load_or_create_key
from controller.private_files import private_dir
from controller.public.prepare import Preparer
from controller.relay import RelayScheduler
from controller.web.listen import faults as fault_pages
from controller.web.listen import pages as public_pages
from controller.web.listen import subscribe as subscribe_pages

# The API routes that take a recording (multipart, with their form's fields).
UPLOAD_ROUTES = ("/api/v1/bulletins", "/api/v1/alerts")


def create_app(config: ControllerConfig, *, start_dispatcher: bool = True) -> FastAPI:
    private_dir(config.data_dir)
    db = Database(config.db_url)
    migrate(db.engine)
    dispatcher = Dispatcher(config, db, load_or_create_key(config.key_file))
    # made here, before any request could race to make it
    channels = ChannelWorker(config.channels, db, load_vault(config.data_dir), dispatcher.publisher)
    public_audio = Preparer(config, db)
    live = Live(dispatcher, MqttStreamPublisher(dispatcher.client))
    relays = RelayScheduler(config, db, live)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if start_dispatcher:
            dispatcher.start()
            scheduler = start_scheduler(config, db, dispatcher)
            channels.start()
            public_audio.start()
            relays.start()
        try:
            yield
        finally:
            relays.stop()
            if scheduler is not None:
                stop_scheduler(scheduler)
            channels.stop()  # its threads if started, and its HTTP client in any case
            public_audio.stop()
            if start_dispatcher:
                dispatcher.stop()
            db.engine.dispose()

    app = FastAPI(
        title="Loa Làng controller",
        version="0.1.0",
        description="Smart public-address radio for Vietnamese communes.",
        lifespan=lifespan,
        docs_url=None,  # served offline by controller.api.docs
        redoc_url=None,  # ReDoc would load from a CDN: one description page is enough
    )
    app.state.config = config
    app.state.db = db
    app.state.dispatcher = dispatcher
    app.state.channels = channels
    app.state.live = live
    app.include_router(api_bulletins.router)
    app.include_router(api_bulletin_edits.router)
    app.include_router(api_nodes.router)
    app.include_router(api_alerts.router)
    app.include_router(api_live.router)
    app.include_router(api_cap.router)
    app.include_router(api_cap_out.router)
    app.include_router(api_programme.router)
    app.include_router(api_relays.router)
    app.include_router(api_enrol.router)
    app.include_router(api_releases.router)
    app.include_router(api_sms_inbound.router)
    app.include_router(fault_pages.router)
    app.include_router(subscribe_pages.router)
    app.include_router(public_pages.router)
    # before web.mount: its security headers then wrap these refusals too
    app.add_middleware(
        BodyLimit, limits=body_limits(config), default=config.max_form_bytes, too_large=too_large
    )
    web.mount(app)
    api_docs.mount(app)
    app.add_exception_handler(DomainError, refusal)
    return app


def body_limits(config: ControllerConfig) -> list[Limit]:
    """The routes that take more than a form: a recording (with its form's fields) or a CAP
    document, each only from a caller with credentials."""
    upload = config.max_upload_bytes + config.max_form_bytes
    return [
        *(Limit("POST", path, upload, token_gate) for path in UPLOAD_ROUTES),
        Limit("POST", "/api/v1/cap", config.max_cap_bytes, token_gate),
        Limit("POST", "/api/v1/live", api_live.LIVE_BODY_BYTES, token_gate),
        *(Limit("POST", path, upload, web.session_gate) for path in web.UPLOAD_FORMS),
    ]


async def too_large(request: Request, limit: int) -> Response:
    """A body over ``limit``, refused like any other refusal of the part of the app it was for."""
    size = f"{limit / 2**20:.1f} MiB" if limit >= 2**20 else f"{limit // 1024} KiB"
    error = TooLargeError(
        "request.too_large",
        f"the request is larger than {size}, the most this address accepts",
        f"Yêu cầu lớn hơn {size}, mức tối đa địa chỉ này nhận",
    )
    return await refusal(request, error)


async def refusal(request: Request, exc: Exception) -> Response:
    """A domain refusal no route caught: the API answers in its own wording, the pages in the
    viewer's language."""
    if request.url.path.startswith("/api/"):
        return await api_errors.domain_error(request, exc)
    return await web.domain_error(request, exc)
