-- Per-channel delivery of notification decisions (the outbox's second half).

-- Set once the decision has been routed into deliveries (in the same transaction).
ALTER TABLE notifications ADD COLUMN routed_at INTEGER;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    -- (incident, transition, channel): what receivers deduplicate on after a redelivery.
    idempotency_key TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (notification_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_notification ON deliveries (notification_id);

-- Slack thread roots: one per incident, channel and episode (a reopen starts a new thread).
CREATE TABLE threads (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    opened_at   INTEGER NOT NULL,
    ts          TEXT NOT NULL,
    PRIMARY KEY (incident_id, channel, opened_at)
);
