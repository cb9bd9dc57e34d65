"""What anyone may open without logging in, under ``/listen``, decided here; its pages (the HTTP
side, no cookies, no scripts, no tracking) are in ``controller.web.listen``.

A villager who was in the field when a bulletin aired hears it again on a cheap phone, and a
podcast app follows the commune: only what was chosen to be public and has aired is shown
(``listing``); the audio is made once per bulletin in the formats phones play (``renditions``,
made ahead by ``prepare``); the feeds are RSS 2.0 with enclosures (``feeds``). The QR posters that
lead villagers there (``posters``) and the fault report a villager sends from there
(``fault_reports``) live here too.
"""
