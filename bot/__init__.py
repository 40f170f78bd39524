"""The Rasa side of the assistant: custom components, channels, launcher, settings."""

import sys

# In a Rasa server / shell process (its message processor is already imported when Rasa loads our
# channels and components), three fixes to Rasa 3.6 (bot/rasa_patches.py): a custom action that
# cannot run is answered instead of being silent, and two CPU hogs of every turn are cached. Never in
# the action server or the launcher, which do not import Rasa's core.
if "rasa.core.processor" in sys.modules:
    from bot import rasa_patches

    rasa_patches.install()
