-- Invitations: a one-time code (kept only as its SHA-256) that gives its holder a seat with a
-- license and groups. state 1 pending, 2 withdrawn or used (redeemed_at tells which).
CREATE TABLE invites (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    email             TEXT NOT NULL COLLATE NOCASE,
    license           TEXT NOT NULL CHECK (license IN ('developer', 'read_only', 'it')),
    group_ids         TEXT NOT NULL DEFAULT '',
    code_digest       BLOB NOT NULL UNIQUE,
    state             INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    redeemed_at       TEXT,
    redeemed_user_id  INTEGER REFERENCES users (id)
);
CREATE INDEX invites_account ON invites (account_id, state);
