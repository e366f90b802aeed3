"""The action path: alarms reach the people who must act, and the loop is closed and audited.

- `store`: the operations database (SQLAlchemy ORM, Alembic migrations in `migrations/`): alarms,
  the audit of their state changes (签收 → 到场 → 处置完毕 → 归档) and the notification outbox;
- `outbox`: enqueue notifications in the caller's transaction, dispatch them to webhooks with
  retries, back-off and an idempotency key;
- `robots`: the payload formats of the chat robots (DingTalk, WeCom, a plain webhook), DingTalk's
  signature, reading their answers;
- `endpoints`: the webhooks file (names → URL, channel, secret), checked private.
"""
