-- An e-mail address is matched without regard to ASCII case (as `COLLATE NOCASE` did), through a
-- key both backends compute the same way: ASCII letters lowered, every other character kept.
-- SQLite's lower() folds ASCII only, as NOCASE does. Lookups bind the asked address's key.
ALTER TABLE users ADD COLUMN email_key TEXT GENERATED ALWAYS AS (lower(email)) VIRTUAL;
CREATE UNIQUE INDEX users_account_email_key ON users (account_id, email_key);
