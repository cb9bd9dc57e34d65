"""Backups of a controller's data while it runs, restoring one into a fresh directory, and the
nightly backup job with its retention.

A backup is a directory ``loalang-YYYYMMDD-HHMMSS`` (local time) holding the database (an SQLite
copy made with the online backup API, or a ``pg_dump`` archive), the audio store, the keys, the
controller config, the broker's accounts and TLS files and the provisioned node configs, with a
``manifest.json`` that names the sha256 of every file. ``make`` writes one, ``restore`` checks
and restores one, ``retention`` chooses which to keep, ``nightly`` is the scheduled job.
"""
