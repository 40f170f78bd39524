"""Custom Rasa NLU graph components (referenced from ``bot/config.yml``)."""
