"""What anyone may open without logging in, under ``/listen``: pages for villagers, with no
cookies, no scripts and no tracking.

A villager who was in the field when a bulletin aired hears it again on a cheap phone, and a
podcast app follows the commune: the pages show only what was chosen to be public and has aired
(``listing``); the audio is made once per bulletin in the formats phones play (``renditions``),
ahead of the first listener (``prepare``); the feeds are RSS 2.0 with enclosures (``feeds``);
``pages`` is the router the app mounts. The QR posters that lead villagers there (``posters``)
and the fault report a villager sends from there (``fault_reports``, its pages in
``fault_pages``) live here too.
"""
