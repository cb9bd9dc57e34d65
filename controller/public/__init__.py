"""Pages anyone may open without logging in, under ``/listen``: a villager who was in the field
when a bulletin aired hears it again on a cheap phone, and a podcast app follows the commune.

No login, no cookies, no scripts, no tracking: these pages set no cookie and read none, and
they show only what was chosen to be public and has aired (``listing``). The audio is made
once per bulletin in the formats phones play (``renditions``); the feeds are RSS 2.0 with
enclosures (``feeds``); ``pages`` is the router the app mounts.
"""
