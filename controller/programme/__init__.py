"""The commune's programme in the controller: the stored document, its airings (``store``) and
editing the placed items (``edit``). The pure model and calendar live in ``schedules``.
"""
