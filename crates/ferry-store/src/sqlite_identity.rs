//! [`IdentityStore`] on the embedded SQLite database.

use rusqlite::{OptionalExtension, Row, params};

use crate::identity::{
    AccountClaims, IdentityStore, PendingSignIn, SessionRecord, TokenRecord, UserRecord,
};
use crate::{SqliteConnection, StoreError};

/// The identity tables, created with the rest of the schema.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id             TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    name           TEXT,
    role           TEXT NOT NULL,
    created        INTEGER NOT NULL,
    last_sign_in   INTEGER NOT NULL,
    UNIQUE (provider, subject)
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash   BLOB PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created   INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id, created);
CREATE TABLE IF NOT EXISTS api_tokens (
    id         TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created    INTEGER NOT NULL,
    expires    INTEGER
);
CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens (user_id, created);
CREATE TABLE IF NOT EXISTS pending_sign_ins (
    state    TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce    TEXT NOT NULL,
    verifier TEXT NOT NULL,
    callback TEXT NOT NULL,
    redirect TEXT NOT NULL,
    created  INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The columns of a user, in the order [`user_at`] reads them, with a table prefix (so the
/// SQL is built at compile time, not per call).
macro_rules! user_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, ",
            $prefix,
            "provider, ",
            $prefix,
            "subject, ",
            $prefix,
            "email, ",
            $prefix,
            "email_verified, ",
            $prefix,
            "name, ",
            $prefix,
            "role, ",
            $prefix,
            "created, ",
            $prefix,
            "last_sign_in"
        )
    };
}

pub(crate) fn user_at(row: &Row<'_>, first: usize) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(first)?,
        provider: row.get(first + 1)?,
        subject: row.get(first + 2)?,
        email: row.get(first + 3)?,
        email_verified: row.get(first + 4)?,
        name: row.get(first + 5)?,
        role: row.get(first + 6)?,
        created: row.get(first + 7)?,
        last_sign_in: row.get(first + 8)?,
    })
}

impl IdentityStore for SqliteConnection {
    fn record_sign_in(
        &mut self,
        account: &AccountClaims<'_>,
        new_id: &str,
        role: &str,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let sql = concat!(
            "INSERT INTO users (id, provider, subject, email, email_verified, name, role, created, last_sign_in)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (provider, subject) DO UPDATE SET
                 email = excluded.email, email_verified = excluded.email_verified,
                 name = excluded.name, last_sign_in = excluded.last_sign_in
             RETURNING ",
            user_columns!("")
        );
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement.query_row(
                    params![
                        new_id,
                        account.provider,
                        account.subject,
                        account.email,
                        account.email_verified,
                        account.name,
                        role,
                        now
                    ],
                    |row| user_at(row, 0),
                )
            })
            .map_err(|source| self.error(source))
    }

    fn user(&mut self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = concat!("SELECT ", user_columns!(""), " FROM users WHERE id = ?1");
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params![id], |row| user_at(row, 0))
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn users(&mut self) -> Result<Vec<UserRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(""),
            " FROM users ORDER BY created, id"
        );
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| user_at(row, 0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|source| self.error(source))
    }

    fn set_role(&mut self, id: &str, role: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached("UPDATE users SET role = ?2 WHERE id = ?1")
            .and_then(|mut statement| statement.execute(params![id, role]))
            .map(|changed| changed > 0)
            .map_err(|source| self.error(source))
    }

    fn create_session(
        &mut self,
        id_hash: &[u8],
        user_id: &str,
        now: i64,
        keep_at_most: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let keep = i64::try_from(keep_at_most.max(1)).unwrap_or(i64::MAX);
        let run = |connection: &mut rusqlite::Connection| -> rusqlite::Result<Vec<Vec<u8>>> {
            let transaction = connection.transaction()?;
            transaction.execute(
                "INSERT INTO sessions (id_hash, user_id, created, last_seen) VALUES (?1, ?2, ?3, ?3)",
                params![id_hash, user_id, now],
            )?;
            let evicted = transaction
                .prepare(
                    "DELETE FROM sessions WHERE id_hash IN (
                         SELECT id_hash FROM sessions WHERE user_id = ?1
                         ORDER BY created DESC, id_hash LIMIT -1 OFFSET ?2)
                     RETURNING id_hash",
                )?
                .query_map(params![user_id, keep], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<Vec<u8>>>>()?;
            transaction.commit()?;
            Ok(evicted)
        };
        run(&mut self.connection).map_err(|source| self.error(source))
    }

    fn session(
        &mut self,
        id_hash: &[u8],
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        let sql = concat!(
            "SELECT s.user_id, s.created, s.last_seen, ",
            user_columns!("u."),
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1"
        );
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params![id_hash], |row| {
                        let session = SessionRecord {
                            user_id: row.get(0)?,
                            created: row.get(1)?,
                            last_seen: row.get(2)?,
                        };
                        Ok((session, user_at(row, 3)?))
                    })
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn touch_session(&mut self, id_hash: &[u8], now: i64) -> Result<(), StoreError> {
        self.connection
            .prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1")
            .and_then(|mut statement| statement.execute(params![id_hash, now]))
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn delete_session(&mut self, id_hash: &[u8]) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")
            .and_then(|mut statement| statement.execute(params![id_hash]))
            .map(|deleted| deleted > 0)
            .map_err(|source| self.error(source))
    }

    fn prune_sessions(
        &mut self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<usize, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM sessions WHERE last_seen < ?1 OR created < ?2")
            .and_then(|mut statement| statement.execute(params![idle_before, created_before]))
            .map_err(|source| self.error(source))
    }

    fn save_pending(
        &mut self,
        pending: &PendingSignIn,
        expired_before: i64,
    ) -> Result<(), StoreError> {
        let run = |connection: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            transaction.execute(
                "DELETE FROM pending_sign_ins WHERE created < ?1",
                params![expired_before],
            )?;
            transaction.execute(
                "INSERT INTO pending_sign_ins (state, provider, nonce, verifier, callback, redirect, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    pending.state,
                    pending.provider,
                    pending.nonce,
                    pending.verifier,
                    pending.callback,
                    pending.redirect,
                    pending.created
                ],
            )?;
            transaction.commit()
        };
        run(&mut self.connection).map_err(|source| self.error(source))
    }

    fn take_pending(&mut self, state: &str) -> Result<Option<PendingSignIn>, StoreError> {
        self.connection
            .prepare_cached(
                "DELETE FROM pending_sign_ins WHERE state = ?1
                 RETURNING state, provider, nonce, verifier, callback, redirect, created",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![state], |row| {
                        Ok(PendingSignIn {
                            state: row.get(0)?,
                            provider: row.get(1)?,
                            nonce: row.get(2)?,
                            verifier: row.get(3)?,
                            callback: row.get(4)?,
                            redirect: row.get(5)?,
                            created: row.get(6)?,
                        })
                    })
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn create_token(&mut self, hash: &[u8], token: &TokenRecord) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO api_tokens (id, token_hash, user_id, name, created, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    token.id,
                    hash,
                    token.user_id,
                    token.name,
                    token.created,
                    token.expires
                ])
            })
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn token(&mut self, hash: &[u8]) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
        let sql = concat!(
            "SELECT t.id, t.user_id, t.name, t.created, t.expires, ",
            user_columns!("u."),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1"
        );
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params![hash], |row| Ok((token_at(row)?, user_at(row, 5)?)))
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn tokens(&mut self, user_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        self.connection
            .prepare_cached(
                "SELECT id, user_id, name, created, expires FROM api_tokens
                 WHERE user_id = ?1 ORDER BY created, id",
            )
            .and_then(|mut statement| {
                statement
                    .query_map(params![user_id], token_at)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|source| self.error(source))
    }

    fn revoke_token(&mut self, user_id: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.connection
            .prepare_cached(
                "DELETE FROM api_tokens WHERE user_id = ?1 AND id = ?2 RETURNING token_hash",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![user_id, id], |row| row.get(0))
                    .optional()
            })
            .map_err(|source| self.error(source))
    }
}

fn token_at(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.get(0)?,
        user_id: row.get(1)?,
        name: row.get(2)?,
        created: row.get(3)?,
        expires: row.get(4)?,
    })
}
