"""Running the system as a whole: the demo, the process cluster behind it and the tests, and the
``loa alert`` command line (a client of the HTTP API).
"""
