"""Support triage: classify and route inbound text messages in bulk, without a conversation.

E-mails, contact-form posts and exported chats go through the trained NLU model and the order
service (read-only): language, intent, order numbers, whether the sender owns them, priority,
queue and a suggested first reply taken from the bot's own domain responses.

* ``python -m bot.triage FILE [--out OUT]`` (``make triage``): CSV / JSONL in, CSV / JSONL out,
  a summary and a chart (:mod:`bot.triage.cli`).
* ``bot.triage.channel.TriageInput``: the same over HTTP inside the Rasa server,
  ``POST /webhooks/triage/`` (:mod:`bot.triage.channel`).

Modules: ``records`` (streaming readers / writers, malformed rows), ``nlu`` (model, batch
parsing, text preparation), ``engine`` (the triage rules), ``replies`` (domain responses by
language), ``report`` (summary and chart).
"""
