-- Analyses and LLM accounting.

-- Set in the same transaction as the change that calls for an analysis (opened, reopened,
-- escalated); cleared when the analysis is stored. Durable, so a restart loses no pending work.
ALTER TABLE incidents ADD COLUMN analysis_due INTEGER NOT NULL DEFAULT 0;
-- Why the pending analysis is due (`opened`, `reopened`, `escalated`, `new_evidence`).
ALTER TABLE incidents ADD COLUMN analysis_trigger TEXT;
CREATE INDEX incidents_analysis_due ON incidents (analysis_due) WHERE analysis_due = 1;

-- Every LLM call, successful or not. Spend windows are sums over this table, so a restart
-- never resets a budget. No foreign key: usage outlives incident retention.
CREATE TABLE llm_calls (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    at                  INTEGER NOT NULL,
    incident_id         TEXT,
    provider            TEXT NOT NULL,
    model               TEXT NOT NULL,
    input_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    -- NULL: the model has no known price ("cost unknown", never zero).
    cost_micros         INTEGER,
    latency_ms          INTEGER NOT NULL,
    outcome             TEXT NOT NULL
);
CREATE INDEX llm_calls_by_time ON llm_calls (at);
