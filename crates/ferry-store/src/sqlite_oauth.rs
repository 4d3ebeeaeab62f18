//! [`OAuthStore`] on the embedded SQLite database.

use rusqlite::{OptionalExtension, Row, params};

use crate::oauth::{
    AuthorizationCode, OAuthClient, OAuthStore, OAuthToken, OAuthTokenKind, Refresh, URI_SEPARATOR,
};
use crate::sqlite_identity::user_at;
use crate::{SqliteConnection, StoreError, UserRecord};

/// The authorization server's tables, created with the rest of the schema.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS oauth_clients (
    id            TEXT PRIMARY KEY,
    secret_hash   BLOB,
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    created       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code_hash    BLOB PRIMARY KEY,
    client_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    challenge    TEXT NOT NULL,
    resource     TEXT NOT NULL,
    scope        TEXT NOT NULL,
    created      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS oauth_tokens (
    token_hash BLOB PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created    INTEGER NOT NULL,
    expires    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS oauth_tokens_by_expiry ON oauth_tokens (expires);
";

/// Migration 2: every token belongs to a family (one authorization and its refreshes), and
/// a used refresh token is kept, marked, until it expires — so that its reuse is noticed.
pub(crate) const FAMILIES: &str = "
ALTER TABLE oauth_tokens ADD COLUMN family TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_tokens ADD COLUMN used INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS oauth_tokens_by_family ON oauth_tokens (family);
";

/// The columns of a token, in the order [`token_at`] reads them.
macro_rules! token_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "kind, ",
            $prefix,
            "client_id, ",
            $prefix,
            "user_id, ",
            $prefix,
            "resource, ",
            $prefix,
            "scope, ",
            $prefix,
            "created, ",
            $prefix,
            "expires, ",
            $prefix,
            "family"
        )
    };
}

fn token_at(row: &Row<'_>) -> rusqlite::Result<OAuthToken> {
    let kind: String = row.get(0)?;
    Ok(OAuthToken {
        kind: OAuthTokenKind::from_stored(&kind),
        client_id: row.get(1)?,
        user_id: row.get(2)?,
        resource: row.get(3)?,
        scope: row.get(4)?,
        created: row.get(5)?,
        expires: row.get(6)?,
        family: row.get(7)?,
    })
}

impl OAuthStore for SqliteConnection {
    fn register_client(&mut self, client: &OAuthClient) -> Result<(), StoreError> {
        let uris = client.redirect_uris.join(&URI_SEPARATOR.to_string());
        self.connection
            .prepare_cached(
                "INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, created)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    client.id,
                    client.secret_hash,
                    client.name,
                    uris,
                    client.created
                ])
            })
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn oauth_client(&mut self, id: &str) -> Result<Option<OAuthClient>, StoreError> {
        self.connection
            .prepare_cached(
                "SELECT id, secret_hash, name, redirect_uris, created FROM oauth_clients
                 WHERE id = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![id], |row| {
                        let uris: String = row.get(3)?;
                        Ok(OAuthClient {
                            id: row.get(0)?,
                            secret_hash: row.get(1)?,
                            name: row.get(2)?,
                            redirect_uris: uris.split(URI_SEPARATOR).map(str::to_owned).collect(),
                            created: row.get(4)?,
                        })
                    })
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn save_code(
        &mut self,
        hash: &[u8],
        code: &AuthorizationCode,
        expired_before: i64,
    ) -> Result<(), StoreError> {
        let run = |connection: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            transaction.execute(
                "DELETE FROM oauth_codes WHERE created < ?1",
                params![expired_before],
            )?;
            transaction.execute(
                "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, challenge,
                     resource, scope, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    hash,
                    code.client_id,
                    code.user_id,
                    code.redirect_uri,
                    code.challenge,
                    code.resource,
                    code.scope,
                    code.created
                ],
            )?;
            transaction.commit()
        };
        run(&mut self.connection).map_err(|source| self.error(source))
    }

    fn take_code(&mut self, hash: &[u8]) -> Result<Option<AuthorizationCode>, StoreError> {
        self.connection
            .prepare_cached(
                "DELETE FROM oauth_codes WHERE code_hash = ?1 RETURNING client_id, user_id,
                     redirect_uri, challenge, resource, scope, created",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![hash], |row| {
                        Ok(AuthorizationCode {
                            client_id: row.get(0)?,
                            user_id: row.get(1)?,
                            redirect_uri: row.get(2)?,
                            challenge: row.get(3)?,
                            resource: row.get(4)?,
                            scope: row.get(5)?,
                            created: row.get(6)?,
                        })
                    })
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn save_oauth_token(
        &mut self,
        hash: &[u8],
        token: &OAuthToken,
        now: i64,
    ) -> Result<(), StoreError> {
        let run = |connection: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            transaction.execute("DELETE FROM oauth_tokens WHERE expires <= ?1", params![now])?;
            transaction.execute(
                concat!(
                    "INSERT INTO oauth_tokens (token_hash, ",
                    token_columns!(""),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ),
                params![
                    hash,
                    token.kind.as_str(),
                    token.client_id,
                    token.user_id,
                    token.resource,
                    token.scope,
                    token.created,
                    token.expires,
                    token.family
                ],
            )?;
            transaction.commit()
        };
        run(&mut self.connection).map_err(|source| self.error(source))
    }

    fn access_token(
        &mut self,
        hash: &[u8],
    ) -> Result<Option<(OAuthToken, UserRecord)>, StoreError> {
        let sql = concat!(
            "SELECT ",
            token_columns!("t."),
            ", ",
            user_columns!("u."),
            " FROM oauth_tokens t JOIN users u ON u.id = t.user_id
              WHERE t.token_hash = ?1 AND t.kind = 'access'"
        );
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params![hash], |row| Ok((token_at(row)?, user_at(row, 8)?)))
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn use_refresh_token(&mut self, hash: &[u8]) -> Result<Refresh, StoreError> {
        let run = |connection: &mut rusqlite::Connection| -> rusqlite::Result<Refresh> {
            let transaction = connection.transaction()?;
            let found = transaction
                .query_row(
                    concat!(
                        "SELECT ",
                        token_columns!(""),
                        ", used FROM oauth_tokens WHERE token_hash = ?1 AND kind = 'refresh'"
                    ),
                    params![hash],
                    |row| Ok((token_at(row)?, row.get::<_, bool>(8)?)),
                )
                .optional()?;
            let answer = match found {
                None => Refresh::Unknown,
                Some((token, false)) => {
                    transaction.execute(
                        "UPDATE oauth_tokens SET used = 1 WHERE token_hash = ?1",
                        params![hash],
                    )?;
                    Refresh::Fresh(token)
                }
                Some((token, true)) => {
                    transaction.execute(
                        "DELETE FROM oauth_tokens WHERE family = ?1",
                        params![token.family],
                    )?;
                    Refresh::Replayed {
                        client_id: token.client_id,
                        user_id: token.user_id,
                    }
                }
            };
            transaction.commit()?;
            Ok(answer)
        };
        run(&mut self.connection).map_err(|source| self.error(source))
    }
}
