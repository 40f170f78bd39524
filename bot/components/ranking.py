"""One intent takes another's place in a message's reading, by a rule after the classifier.

The rules (``requests.py``, ``explain.py``) know which of two readings is right but not how sure
the classifier would have been of it: the two swap confidences, so the chosen intent carries the
certainty the message had and the fallback does not see a weak guess.
"""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message


def promote(message: Message, chosen: str) -> None:
    """Makes ``chosen`` the message's intent with the current top intent's confidence, and gives the
    current top intent ``chosen``'s confidence (0 when it was not ranked, and ``chosen`` is
    added to the ranking)."""
    intent = message.get(INTENT) or {}
    top, confidence = intent.get(INTENT_NAME_KEY), intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
    ranking = message.get(INTENT_RANKING_KEY) or []
    was = next((r.get(PREDICTED_CONFIDENCE_KEY) or 0.0 for r in ranking if r.get(INTENT_NAME_KEY) == chosen), 0.0)
    swapped = {chosen: confidence, top: was}
    if not any(r.get(INTENT_NAME_KEY) == chosen for r in ranking):  # a ranking cut short
        ranking = [*ranking, {INTENT_NAME_KEY: chosen, PREDICTED_CONFIDENCE_KEY: 0.0}]
    ranking = sorted(({**r, PREDICTED_CONFIDENCE_KEY: swapped.get(r.get(INTENT_NAME_KEY), r.get(PREDICTED_CONFIDENCE_KEY))}
                      for r in ranking), key=lambda r: -(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0))
    message.set(INTENT, {INTENT_NAME_KEY: chosen, PREDICTED_CONFIDENCE_KEY: confidence}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
