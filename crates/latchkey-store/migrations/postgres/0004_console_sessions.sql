-- The web console's sign-ins. A session is a random secret in the person's cookie; only its
-- SHA-256 digest is kept here, so the table gives nobody a way in. It belongs to one user in one
-- account; `expires_at` is its absolute end, `last_seen_at` (moved at most once a minute) drives
-- the idle timeout. Signing out deletes the row, so every node refuses the cookie at once.
CREATE TABLE console_sessions (
    session_digest  BYTEA NOT NULL PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    user_id         BIGINT NOT NULL REFERENCES users (id),
    created_at      TEXT COLLATE "C" NOT NULL,
    last_seen_at    TEXT COLLATE "C" NOT NULL,
    expires_at      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- A form of the console that creates something (a token, whose secret is shown once) carries a
-- one-time nonce; a resubmission (reload, back) finds it spent and creates nothing.
CREATE TABLE console_spent_forms (
    session_digest  BYTEA NOT NULL,
    nonce           TEXT COLLATE "C" NOT NULL,
    spent_at        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (session_digest, nonce)
);

-- A password the person must replace at their next sign-in (the first-start admin's, printed
-- once on the console of whoever started the server).
ALTER TABLE users ADD COLUMN password_change_required BIGINT NOT NULL DEFAULT 0;
