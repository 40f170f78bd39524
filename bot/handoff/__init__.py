"""Human handoff: the agent console, the paused conversation, notifications (see docs/handoff.md).

* ``console``: the agent console served by the Rasa server at ``/agent/`` (an input channel):
  sign-in, the queue of tickets, a ticket's conversation and order, replies, hand back, close;
* ``pause``: what the Rasa server does with a customer's message while an agent has the
  conversation (one acknowledgement; REST clients get the console's messages with their next
  exchange), run in-process as the ``ticket_number`` slot's mapping (``bot/rasa_ext/slot_mappings.py``);
* ``notify``: the optional Slack message about a new urgent ticket (no Rasa import).

The ticket itself is the order service's (``actions.orders``); the action that opens it and
pauses the conversation is ``actions.skills.handoff.ActionHandoff``.

This package must stay importable without Rasa (``notify`` is used by the action server and the
triage CLI), so it imports nothing here.
"""
