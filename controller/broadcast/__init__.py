"""Bulletins from the broadcaster to the programme: upload and text-to-speech ingest, drafts,
the approval workflow, targets and times of a request, and sending a bulletin to its points.
"""
