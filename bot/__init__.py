"""The Rasa side of the assistant: custom components, channels, launcher, settings.

Importing it changes nothing in Rasa: the extensions of ``bot/rasa_ext`` are installed explicitly by the
server's entry point (``python -m bot.rasa_ext``).
"""
