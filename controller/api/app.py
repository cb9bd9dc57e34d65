"""The controller's FastAPI app factory and its lifespan (database, MQTT dispatcher)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from controller import web
from controller.api import alerts as api_alerts
from controller.api import bulletins as api_bulletins
from controller.api import cap as api_cap
from controller.api import errors as api_errors
from controller.api import nodes as api_nodes
from controller.api import programme as api_programme
from controller.config import ControllerConfig
from controller.db import Database, migrate
from controller.delivery.dispatcher import Dispatcher
from controller.errors import DomainError
from controller.jobs import start_scheduler, stop_scheduler
from controller.nodes.keys import load_or_create_key
from controller.private_files import private_dir


def create_app(config: ControllerConfig, *, start_dispatcher: bool = True) -> FastAPI:
    private_dir(config.data_dir)
    db = Database(config.db_url)
    migrate(db.engine)
    dispatcher = Dispatcher(config, db, load_or_create_key(config.key_file))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if start_dispatcher:
            dispatcher.start()
            scheduler = start_scheduler(config, db, dispatcher)
        try:
            yield
        finally:
            if scheduler is not None:
                stop_scheduler(scheduler)
            if start_dispatcher:
                dispatcher.stop()
            db.engine.dispose()

    app = FastAPI(
        title="Loa Làng controller",
        version="0.1.0",
        description="Smart public-address radio for Vietnamese communes.",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.db = db
    app.state.dispatcher = dispatcher
    app.include_router(api_bulletins.router)
    app.include_router(api_nodes.router)
    app.include_router(api_alerts.router)
    app.include_router(api_cap.router)
    app.include_router(api_programme.router)
    web.mount(app)
    app.add_exception_handler(DomainError, refusal)
    return app


async def refusal(request: Request, exc: Exception) -> Response:
    """A domain refusal no route caught: the API answers in its own wording, the pages in the
    viewer's language."""
    if request.url.path.startswith("/api/"):
        return await api_errors.domain_error(request, exc)
    return await web.domain_error(request, exc)
