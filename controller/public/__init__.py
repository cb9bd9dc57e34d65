"""What anyone may open without logging in: pages for villagers, with no cookies and no tracking.

The QR posters that lead villagers there (``posters``) and the fault report a villager sends
from there (``fault_reports``, its pages in ``fault_pages``) live here too.
"""
