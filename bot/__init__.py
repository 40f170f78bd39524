"""The Rasa side of the assistant: custom components, channels, launcher, settings."""

import sys

# In a Rasa server / shell process (its message processor is already imported when Rasa loads our
# channels and components), a custom action that cannot run is answered instead of being silent.
# Never in the action server or the launcher, which do not import Rasa's core.
if "rasa.core.processor" in sys.modules:
    from bot import action_guard

    action_guard.install()
