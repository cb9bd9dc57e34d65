"""The HTTP API under ``/api/v1`` (bearer tokens) and the ASGI app serving it with the pages.

Routers per domain (alerts, bulletins, cap, nodes, programme), their dependencies (``deps``) and
``app.create_app``. This package and ``controller.web`` are the only places that speak HTTP: they
turn requests into domain calls and domain errors into responses.
"""
