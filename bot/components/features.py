"""One row of sentence features per message, as the classifiers read them.

Rasa's ``LogisticRegressionClassifier._create_X`` asks each message for its combined sparse
features (``Message.get_sparse_features``), which deep-copies and stacks the *sequence* features
of every token as well, only to keep the sentence row. For a single message at inference that
was a quarter of the parse (the intent classifier and the FAQ selector each paid it). This
builds the same row directly from the sentence features, in the same order: the sparse blocks as
the featurizers added them, then the dense ones (``tests/unit/test_classifier.py`` compares it
with Rasa's matrix).
"""

from __future__ import annotations

import numpy as np
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack


def sentence_row(message: Message) -> csr_matrix:
    """The message's sparse sentence features side by side, then its dense ones (1 x n)."""
    sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
    blocks = [f.features for f in sentence if f.is_sparse()]
    dense = [f.features for f in sentence if f.is_dense()]
    if dense:
        blocks.append(csr_matrix(np.concatenate(dense, axis=-1)))
    if not blocks:
        return csr_matrix((1, 0))
    return hstack(blocks, format="csr") if len(blocks) > 1 else csr_matrix(blocks[0])


def sentence_matrix(messages: list[Message]) -> csr_matrix:
    """One :func:`sentence_row` per message."""
    return vstack([sentence_row(m) for m in messages], format="csr")
