-- Fraud detection reads the store's log in its order (issue 17 part 1, ADR 0023): where the detector is in the
-- notification log, and up to where it has already made its decisions. A rebuild starts ``position`` again from 0
-- but keeps ``decided_upto``: what was decided before is read back from the FraudCase events, never decided anew.
CREATE TABLE IF NOT EXISTS fraud_log (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL DEFAULT 0,
    decided_upto BIGINT NOT NULL DEFAULT 0
);
INSERT INTO fraud_log (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
