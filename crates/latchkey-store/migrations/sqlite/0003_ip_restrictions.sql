-- IP restrictions: an account-wide switch, named allow/deny rules with their ranges, and an
-- optional allowlist per service token. The placeholder ip_rules table from 0001 never held rows.
ALTER TABLE accounts ADD COLUMN ip_restrictions_enabled INTEGER NOT NULL DEFAULT 0 CHECK (ip_restrictions_enabled IN (0, 1));

DROP TABLE ip_rules;

CREATE TABLE ip_rules (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    rule_type      INTEGER NOT NULL CHECK (rule_type IN (1, 2)),
    state          INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_by_id  INTEGER,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX ip_rules_account ON ip_rules (account_id, state);

-- One row per range; `cidr` is canonical text (no host bits), IPv4 or IPv6.
CREATE TABLE ip_rule_cidrs (
    id          INTEGER PRIMARY KEY,
    ip_rule_id  INTEGER NOT NULL REFERENCES ip_rules (id),
    cidr        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX ip_rule_cidrs_rule ON ip_rule_cidrs (ip_rule_id);

-- Space-separated canonical ranges; empty means no allowlist of the token's own.
ALTER TABLE service_tokens ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '';
