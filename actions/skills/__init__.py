"""rasa-sdk actions: thin adapters between the conversation and the order service.

The action server loads this package only (``rasa run actions --actions actions.skills``): the
order service in ``actions.orders`` has no Rasa import and is used by the CLI and tests too.
"""
