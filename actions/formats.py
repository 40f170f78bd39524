"""What an order number is: the one definition the NLU, the forms, triage and the order service share.

Standard library only: the Rasa server's NLU components import it too.

* An order number has ``ORDER_NUMBER_DIGITS`` digits; people type it whole, in groups separated by
  spaces, dashes or dots, with a leading ``#`` or ``no.`` (:func:`normalize_order_number`).
* A run of ``CANDIDATE_DIGITS`` digits in a message is someone typing an order number, right or
  wrong (a phone number without its ``+`` has at most 10): the NLU tags it, and the form tells the
  user when it is not one rather than taking it for something else.
"""

from __future__ import annotations

import re

ORDER_NUMBER_DIGITS = 16
CANDIDATE_DIGITS = (11, 24)
_ORDER_NOISE = re.compile(r"[\s\-.#\u00a0]")


def normalize_order_number(raw: object) -> str | None:
    """``"8170 0345-0000 0003"`` -> ``"8170034500000003"``; None unless exactly 16 digits."""
    text = _ORDER_NOISE.sub("", str(raw).strip())
    if len(text) == ORDER_NUMBER_DIGITS and text.isdigit() and text.isascii():
        return text
    return None


def order_number_pattern() -> re.Pattern[str]:
    """Candidate order numbers in a text: CANDIDATE_DIGITS digits, optionally grouped by single
    spaces, dashes or dots, not part of a longer run of digits."""
    low, high = CANDIDATE_DIGITS
    return re.compile(rf"(?<!\d)(\d(?:[ \-.]?\d){{{low - 1},{high - 1}}})(?!\d)")
