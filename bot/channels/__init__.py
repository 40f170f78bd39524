"""Input and output channels of the assistant (see README, "Channels").

* ``config``: turns the ``bot/credentials.yml`` template and the environment into the effective
  credentials file (a channel without its settings is off, with a log line saying so);
* ``identity``: who is talking, shared with the action server (no Rasa import): which
  identity-table entry a messaging channel's sender id is (never an SMS number), and the website
  tokens (issued by the demo sign-in, checked by the actions; docs/security.md);
* ``retry``: sending to a platform with 429 / 5xx retried, failures logged with the conversation id;
* ``webchat``: the website chat page, its assets and the demo sign-in, served by the Rasa server;
* ``socketio``, ``rest``: Rasa's channels with origin, size and sender-id checks;
* ``telegram``, ``twilio``, ``slack``: the messaging channels, with authenticated webhooks,
  configurable API base URLs (tests point them at a local stub) and buttons rendered as each
  channel can (numbered options where there are no buttons).

This package must stay importable without Rasa (``identity`` is used by the action server), so
it imports nothing here.
"""
