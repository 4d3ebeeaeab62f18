//! [`IdentityStore`] on PostgreSQL.

use tokio_postgres::Row;

use super::{PostgresConnection, count};
use crate::StoreError;
use crate::identity::{
    AccountClaims, IdentityStore, PendingSignIn, SessionRecord, TokenRecord, UserRecord,
};

pub(super) fn user_at(row: &Row, first: usize) -> Result<UserRecord, tokio_postgres::Error> {
    Ok(UserRecord {
        id: row.try_get(first)?,
        provider: row.try_get(first + 1)?,
        subject: row.try_get(first + 2)?,
        email: row.try_get(first + 3)?,
        email_verified: row.try_get(first + 4)?,
        name: row.try_get(first + 5)?,
        role: row.try_get(first + 6)?,
        created: row.try_get(first + 7)?,
        last_sign_in: row.try_get(first + 8)?,
    })
}

fn token_at(row: &Row) -> Result<TokenRecord, tokio_postgres::Error> {
    Ok(TokenRecord {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        name: row.try_get(2)?,
        created: row.try_get(3)?,
        expires: row.try_get(4)?,
    })
}

impl IdentityStore for PostgresConnection {
    fn record_sign_in(
        &mut self,
        account: &AccountClaims<'_>,
        new_id: &str,
        role: &str,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let sql = concat!(
            "INSERT INTO users (id, provider, subject, email, email_verified, name, role, created, last_sign_in)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (provider, subject) DO UPDATE SET
                 email = excluded.email, email_verified = excluded.email_verified,
                 name = excluded.name, last_sign_in = excluded.last_sign_in
             RETURNING ",
            user_columns!("")
        );
        self.with(async |client| {
            let statement = client.prepare_cached(sql).await?;
            let row = client
                .query_one(
                    &statement,
                    &[
                        &new_id,
                        &account.provider,
                        &account.subject,
                        &account.email,
                        &account.email_verified,
                        &account.name,
                        &role,
                        &now,
                    ],
                )
                .await?;
            user_at(&row, 0)
        })
    }

    fn user(&mut self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = concat!("SELECT ", user_columns!(""), " FROM users WHERE id = $1");
        self.with(async |client| {
            let statement = client.prepare_cached(sql).await?;
            client
                .query_opt(&statement, &[&id])
                .await?
                .map(|row| user_at(&row, 0))
                .transpose()
        })
    }

    fn users(&mut self) -> Result<Vec<UserRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(""),
            " FROM users ORDER BY created, id COLLATE \"C\""
        );
        self.with(async |client| {
            let statement = client.prepare_cached(sql).await?;
            client
                .query(&statement, &[])
                .await?
                .iter()
                .map(|row| user_at(row, 0))
                .collect()
        })
    }

    fn set_role(&mut self, id: &str, role: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("UPDATE users SET role = $2 WHERE id = $1")
                .await?;
            Ok(client.execute(&statement, &[&id, &role]).await? > 0)
        })
    }

    fn create_session(
        &mut self,
        id_hash: &[u8],
        user_id: &str,
        now: i64,
        keep_at_most: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let keep = i64::try_from(keep_at_most.max(1)).unwrap_or(i64::MAX);
        self.with(async |client| {
            let transaction = client.transaction().await?;
            transaction
                .execute(
                    "INSERT INTO sessions (id_hash, user_id, created, last_seen) VALUES ($1, $2, $3, $3)",
                    &[&id_hash, &user_id, &now],
                )
                .await?;
            let evicted = transaction
                .query(
                    "DELETE FROM sessions WHERE id_hash IN (
                         SELECT id_hash FROM sessions WHERE user_id = $1
                         ORDER BY created DESC, id_hash OFFSET $2)
                     RETURNING id_hash",
                    &[&user_id, &keep],
                )
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<Vec<Vec<u8>>, _>>()?;
            transaction.commit().await?;
            Ok(evicted)
        })
    }

    fn session(
        &mut self,
        id_hash: &[u8],
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        let sql = concat!(
            "SELECT s.user_id, s.created, s.last_seen, ",
            user_columns!("u."),
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
        );
        self.with(async |client| {
            let statement = client.prepare_cached(sql).await?;
            let Some(row) = client.query_opt(&statement, &[&id_hash]).await? else {
                return Ok(None);
            };
            let session = SessionRecord {
                user_id: row.try_get(0)?,
                created: row.try_get(1)?,
                last_seen: row.try_get(2)?,
            };
            Ok(Some((session, user_at(&row, 3)?)))
        })
    }

    fn touch_session(&mut self, id_hash: &[u8], now: i64) -> Result<(), StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("UPDATE sessions SET last_seen = $2 WHERE id_hash = $1")
                .await?;
            client.execute(&statement, &[&id_hash, &now]).await?;
            Ok(())
        })
    }

    fn delete_session(&mut self, id_hash: &[u8]) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM sessions WHERE id_hash = $1")
                .await?;
            Ok(client.execute(&statement, &[&id_hash]).await? > 0)
        })
    }

    fn prune_sessions(
        &mut self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<usize, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM sessions WHERE last_seen < $1 OR created < $2")
                .await?;
            Ok(count(
                client
                    .execute(&statement, &[&idle_before, &created_before])
                    .await?,
            ))
        })
    }

    fn save_pending(
        &mut self,
        pending: &PendingSignIn,
        expired_before: i64,
    ) -> Result<(), StoreError> {
        self.with(async |client| {
            let transaction = client.transaction().await?;
            transaction
                .execute(
                    "DELETE FROM pending_sign_ins WHERE created < $1",
                    &[&expired_before],
                )
                .await?;
            transaction
                .execute(
                    "INSERT INTO pending_sign_ins (state, provider, nonce, verifier, callback, redirect, created)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &pending.state,
                        &pending.provider,
                        &pending.nonce,
                        &pending.verifier,
                        &pending.callback,
                        &pending.redirect,
                        &pending.created,
                    ],
                )
                .await?;
            transaction.commit().await
        })
    }

    fn take_pending(&mut self, state: &str) -> Result<Option<PendingSignIn>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "DELETE FROM pending_sign_ins WHERE state = $1
                     RETURNING state, provider, nonce, verifier, callback, redirect, created",
                )
                .await?;
            let Some(row) = client.query_opt(&statement, &[&state]).await? else {
                return Ok(None);
            };
            Ok(Some(PendingSignIn {
                state: row.try_get(0)?,
                provider: row.try_get(1)?,
                nonce: row.try_get(2)?,
                verifier: row.try_get(3)?,
                callback: row.try_get(4)?,
                redirect: row.try_get(5)?,
                created: row.try_get(6)?,
            }))
        })
    }

    fn create_token(&mut self, hash: &[u8], token: &TokenRecord) -> Result<(), StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "INSERT INTO api_tokens (id, token_hash, user_id, name, created, expires)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await?;
            client
                .execute(
                    &statement,
                    &[
                        &token.id,
                        &hash,
                        &token.user_id,
                        &token.name,
                        &token.created,
                        &token.expires,
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn token(&mut self, hash: &[u8]) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
        let sql = concat!(
            "SELECT t.id, t.user_id, t.name, t.created, t.expires, ",
            user_columns!("u."),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        );
        self.with(async |client| {
            let statement = client.prepare_cached(sql).await?;
            client
                .query_opt(&statement, &[&hash])
                .await?
                .map(|row| Ok((token_at(&row)?, user_at(&row, 5)?)))
                .transpose()
        })
    }

    fn tokens(&mut self, user_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "SELECT id, user_id, name, created, expires FROM api_tokens
                     WHERE user_id = $1 ORDER BY created, id COLLATE \"C\"",
                )
                .await?;
            client
                .query(&statement, &[&user_id])
                .await?
                .iter()
                .map(token_at)
                .collect()
        })
    }

    fn revoke_token(&mut self, user_id: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "DELETE FROM api_tokens WHERE user_id = $1 AND id = $2 RETURNING token_hash",
                )
                .await?;
            client
                .query_opt(&statement, &[&user_id, &id])
                .await?
                .map(|row| row.try_get(0))
                .transpose()
        })
    }
}
