"""Bulletins from the broadcaster to the programme: upload and text-to-speech ingest, drafts,
the approval workflow, where (``targets``) and when (``times``, quiet hours included) a request
plays, its audio (``media``), and sending a bulletin to its points.
"""
