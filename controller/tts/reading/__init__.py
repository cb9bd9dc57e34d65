"""The rules that turn written commune text into words, one idea per module.

:mod:`controller.tts.normalize` applies them in a fixed order (documented there); each module
exports functions of ``str -> str`` that rewrite only what they recognise and leave the rest.
"""
