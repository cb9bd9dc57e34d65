"""The villagers' pages under ``/listen``: no login, no cookies, no scripts, no tracking.

The HTTP side of ``controller.public``: listen-again pages and feeds (``pages``), the fault
report form (``faults``) and SMS subscription (``subscribe``). What they show and decide is in
``controller.public`` and ``controller.emergency.subscriptions``.
"""
