"""What aired: the per-bulletin report (which points played it, which did not and why) and the
commune's monthly report. Pure computation; the words around the numbers belong to the caller.
"""
