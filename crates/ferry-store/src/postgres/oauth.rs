//! [`OAuthStore`] on PostgreSQL.

use tokio_postgres::Row;

use super::PostgresConnection;
use super::identity::user_at;
use crate::oauth::{
    AuthorizationCode, OAuthClient, OAuthStore, OAuthToken, OAuthTokenKind, Refresh, URI_SEPARATOR,
};
use crate::{StoreError, UserRecord};

fn token_at(row: &Row) -> Result<OAuthToken, tokio_postgres::Error> {
    let kind: String = row.try_get(0)?;
    Ok(OAuthToken {
        kind: OAuthTokenKind::from_stored(&kind),
        client_id: row.try_get(1)?,
        user_id: row.try_get(2)?,
        resource: row.try_get(3)?,
        scope: row.try_get(4)?,
        created: row.try_get(5)?,
        expires: row.try_get(6)?,
        family: row.try_get(7)?,
    })
}

impl OAuthStore for PostgresConnection {
    fn register_client(&mut self, client: &OAuthClient) -> Result<(), StoreError> {
        let uris = client.redirect_uris.join(&URI_SEPARATOR.to_string());
        self.with(async |connection| {
            let statement = connection
                .prepare_cached(
                    "INSERT INTO oauth_clients (id, secret_hash, name, redirect_uris, created)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            connection
                .execute(
                    &statement,
                    &[
                        &client.id,
                        &client.secret_hash,
                        &client.name,
                        &uris,
                        &client.created,
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn oauth_client(&mut self, id: &str) -> Result<Option<OAuthClient>, StoreError> {
        self.with(async |connection| {
            let statement = connection
                .prepare_cached(
                    "SELECT id, secret_hash, name, redirect_uris, created FROM oauth_clients
                     WHERE id = $1",
                )
                .await?;
            let Some(row) = connection.query_opt(&statement, &[&id]).await? else {
                return Ok(None);
            };
            let uris: String = row.try_get(3)?;
            Ok(Some(OAuthClient {
                id: row.try_get(0)?,
                secret_hash: row.try_get(1)?,
                name: row.try_get(2)?,
                redirect_uris: uris.split(URI_SEPARATOR).map(str::to_owned).collect(),
                created: row.try_get(4)?,
            }))
        })
    }

    fn save_code(
        &mut self,
        hash: &[u8],
        code: &AuthorizationCode,
        expired_before: i64,
    ) -> Result<(), StoreError> {
        self.with(async |client| {
            let transaction = client.transaction().await?;
            transaction
                .execute(
                    "DELETE FROM oauth_codes WHERE created < $1",
                    &[&expired_before],
                )
                .await?;
            transaction
                .execute(
                    "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, challenge,
                         resource, scope, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &hash,
                        &code.client_id,
                        &code.user_id,
                        &code.redirect_uri,
                        &code.challenge,
                        &code.resource,
                        &code.scope,
                        &code.created,
                    ],
                )
                .await?;
            transaction.commit().await
        })
    }

    fn take_code(&mut self, hash: &[u8]) -> Result<Option<AuthorizationCode>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "DELETE FROM oauth_codes WHERE code_hash = $1 RETURNING client_id, user_id,
                         redirect_uri, challenge, resource, scope, created",
                )
                .await?;
            let Some(row) = client.query_opt(&statement, &[&hash]).await? else {
                return Ok(None);
            };
            Ok(Some(AuthorizationCode {
                client_id: row.try_get(0)?,
                user_id: row.try_get(1)?,
                redirect_uri: row.try_get(2)?,
                challenge: row.try_get(3)?,
                resource: row.try_get(4)?,
                scope: row.try_get(5)?,
                created: row.try_get(6)?,
            }))
        })
    }

    fn save_oauth_token(
        &mut self,
        hash: &[u8],
        token: &OAuthToken,
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(async |client| {
            let transaction = client.transaction().await?;
            transaction
                .execute("DELETE FROM oauth_tokens WHERE expires <= $1", &[&now])
                .await?;
            transaction
                .execute(
                    concat!(
                        "INSERT INTO oauth_tokens (token_hash, ",
                        token_columns!(""),
                        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    ),
                    &[
                        &hash,
                        &token.kind.as_str(),
                        &token.client_id,
                        &token.user_id,
                        &token.resource,
                        &token.scope,
                        &token.created,
                        &token.expires,
                        &token.family,
                    ],
                )
                .await?;
            transaction.commit().await
        })
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
              WHERE t.token_hash = $1 AND t.kind = 'access'"
        );
        self.with(async |client| {
            let statement = client.prepare_cached(sql).await?;
            client
                .query_opt(&statement, &[&hash])
                .await?
                .map(|row| Ok((token_at(&row)?, user_at(&row, 8)?)))
                .transpose()
        })
    }

    fn use_refresh_token(&mut self, hash: &[u8]) -> Result<Refresh, StoreError> {
        self.with(async |client| {
            let transaction = client.transaction().await?;
            // FOR UPDATE: two nodes presenting the same token at once see it one after the
            // other, so the second sees it used.
            let found = transaction
                .query_opt(
                    concat!(
                        "SELECT ",
                        token_columns!(""),
                        ", used FROM oauth_tokens WHERE token_hash = $1 AND kind = 'refresh'
                         FOR UPDATE"
                    ),
                    &[&hash],
                )
                .await?
                .map(|row| {
                    Ok::<_, tokio_postgres::Error>((token_at(&row)?, row.try_get::<_, bool>(8)?))
                })
                .transpose()?;
            let answer = match found {
                None => Refresh::Unknown,
                Some((token, false)) => {
                    transaction
                        .execute(
                            "UPDATE oauth_tokens SET used = TRUE WHERE token_hash = $1",
                            &[&hash],
                        )
                        .await?;
                    Refresh::Fresh(token)
                }
                Some((token, true)) => {
                    transaction
                        .execute(
                            "DELETE FROM oauth_tokens WHERE family = $1",
                            &[&token.family],
                        )
                        .await?;
                    Refresh::Replayed {
                        client_id: token.client_id,
                        user_id: token.user_id,
                    }
                }
            };
            transaction.commit().await?;
            Ok(answer)
        })
    }
}
