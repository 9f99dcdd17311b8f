-- SRE Guardian schema, SQLite. Times are Unix milliseconds (INTEGER).

CREATE TABLE incidents (
    id                     TEXT PRIMARY KEY NOT NULL,
    fingerprint            TEXT NOT NULL,
    cluster                TEXT NOT NULL,
    namespace              TEXT,
    object_kind            TEXT NOT NULL,
    object_name            TEXT NOT NULL,
    detector               TEXT NOT NULL,
    reason                 TEXT NOT NULL,
    category               TEXT NOT NULL,
    message                TEXT NOT NULL,
    severity               TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    detector_severity      TEXT NOT NULL CHECK (detector_severity IN ('info', 'warning', 'critical')),
    status                 TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    escalations            TEXT NOT NULL DEFAULT '',
    first_seen             INTEGER NOT NULL,
    last_seen              INTEGER NOT NULL,
    opened_at              INTEGER NOT NULL,
    occurrences            INTEGER NOT NULL,
    suppressed_occurrences INTEGER NOT NULL,
    acknowledged_at        INTEGER,
    acknowledged_by        TEXT,
    ack_expires_at         INTEGER,
    resolved_at            INTEGER,
    resolved_by            TEXT,
    last_notified_at       INTEGER,
    announced              INTEGER NOT NULL,
    needs_review           INTEGER NOT NULL DEFAULT 0,
    analysis               TEXT,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);

-- At most one live incident per fingerprint: concurrent writers (or replicas sharing a
-- database) cannot open two.
CREATE UNIQUE INDEX incidents_live_fingerprint
    ON incidents (cluster, fingerprint) WHERE status != 'resolved';
CREATE INDEX incidents_by_fingerprint ON incidents (cluster, fingerprint, created_at);
CREATE INDEX incidents_by_status ON incidents (status, last_seen);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    note        TEXT NOT NULL
);
CREATE INDEX audit_by_incident ON audit (incident_id, id);

CREATE TABLE occurrences (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id   TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    seen_at       INTEGER NOT NULL,
    object_kind   TEXT NOT NULL,
    object_name   TEXT NOT NULL,
    detector      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    message       TEXT NOT NULL,
    merge_reason  TEXT NOT NULL,
    suppressed_by TEXT
);
CREATE INDEX occurrences_by_incident ON occurrences (incident_id, id);

-- Episode starts per fingerprint (across incident rows) for the recurring rule.
CREATE TABLE episodes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster     TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    started_at  INTEGER NOT NULL
);
CREATE INDEX episodes_by_fingerprint ON episodes (cluster, fingerprint, started_at);

-- The notification outbox: written in the same transaction as the state change.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX notifications_pending ON notifications (status, next_attempt_at);
CREATE INDEX notifications_by_incident ON notifications (incident_id, id);

CREATE TABLE suppressions (
    id         TEXT PRIMARY KEY NOT NULL,
    namespace  TEXT,
    kind       TEXT,
    name       TEXT,
    category   TEXT,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX suppressions_by_expiry ON suppressions (expires_at);

-- /healthz proves the store is writable by updating this row in a rolled-back transaction.
CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at INTEGER NOT NULL);
INSERT INTO health (id, checked_at) VALUES (1, 0);
