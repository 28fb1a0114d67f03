-- Users belong to one account. An e-mail address is unique within an account, and the same
-- address in two accounts is two users with their own passwords, seats and tokens: nothing one
-- account does can set, learn or reveal another account's user's credentials.
--
-- A user who held seats in several accounts becomes one user per account (same e-mail and
-- password hash); the account with the lowest id keeps the old id, and seats, group
-- memberships, personal tokens and redeemed invitations in the others move to the new users.
-- Foreign keys are checked at commit, after the table is rebuilt.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE users_before AS SELECT * FROM users;

CREATE TEMP TABLE user_home AS
SELECT u.id AS user_id,
       COALESCE((SELECT MIN(m.account_id) FROM memberships m WHERE m.user_id = u.id),
                (SELECT MIN(id) FROM accounts)) AS account_id
FROM users_before u;

CREATE TEMP TABLE user_split AS
SELECT m.user_id AS old_id,
       m.account_id AS account_id,
       (SELECT COALESCE(MAX(id), 0) FROM users_before)
         + ROW_NUMBER() OVER (ORDER BY m.user_id, m.account_id) AS new_id
FROM memberships m JOIN user_home h ON h.user_id = m.user_id
WHERE m.account_id <> h.account_id;

DROP TABLE users;

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    email          TEXT NOT NULL COLLATE NOCASE,
    password_hash  TEXT,
    state          INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (account_id, email)
);

INSERT INTO users (id, account_id, email, password_hash, state, created_at, updated_at)
SELECT u.id, h.account_id, u.email, u.password_hash, u.state, u.created_at, u.updated_at
FROM users_before u JOIN user_home h ON h.user_id = u.id
WHERE h.account_id IS NOT NULL;

INSERT INTO users (id, account_id, email, password_hash, state, created_at, updated_at)
SELECT s.new_id, s.account_id, u.email, u.password_hash, u.state, u.created_at, u.updated_at
FROM user_split s JOIN users_before u ON u.id = s.old_id;

UPDATE memberships SET user_id = (
    SELECT s.new_id FROM user_split s
    WHERE s.old_id = memberships.user_id AND s.account_id = memberships.account_id)
WHERE EXISTS (SELECT 1 FROM user_split s
              WHERE s.old_id = memberships.user_id AND s.account_id = memberships.account_id);

UPDATE group_members SET user_id = (
    SELECT s.new_id FROM user_split s JOIN groups g ON g.account_id = s.account_id
    WHERE g.id = group_members.group_id AND s.old_id = group_members.user_id)
WHERE EXISTS (SELECT 1 FROM user_split s JOIN groups g ON g.account_id = s.account_id
              WHERE g.id = group_members.group_id AND s.old_id = group_members.user_id);

UPDATE personal_tokens SET user_id = (
    SELECT s.new_id FROM user_split s
    WHERE s.old_id = personal_tokens.user_id AND s.account_id = personal_tokens.account_id)
WHERE EXISTS (SELECT 1 FROM user_split s
              WHERE s.old_id = personal_tokens.user_id AND s.account_id = personal_tokens.account_id);

UPDATE invites SET redeemed_user_id = (
    SELECT s.new_id FROM user_split s
    WHERE s.old_id = invites.redeemed_user_id AND s.account_id = invites.account_id)
WHERE EXISTS (SELECT 1 FROM user_split s
              WHERE s.old_id = invites.redeemed_user_id AND s.account_id = invites.account_id);

DROP TABLE user_split;
DROP TABLE user_home;
DROP TABLE users_before;
