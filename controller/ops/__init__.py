"""Running the system as a whole: the demo (``demo``), the process cluster behind it and the
tests (``cluster``), and the ``loa alert`` and ``loa live`` command lines (``alert_cli``,
``live_cli``: clients of the HTTP API).

Unlike the other packages this one re-exports nothing: ``loa`` imports ``alert_cli`` and
``live_cli`` at start-up, also on a Raspberry Pi that has only ``loalang[node]``, so importing
the package must not pull in the demo's database and broker code.
"""
