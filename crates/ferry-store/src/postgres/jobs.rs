//! [`JobQueue`] on PostgreSQL: claims skip the rows other nodes are claiming
//! (`FOR UPDATE SKIP LOCKED`).

use super::{PostgresConnection, count};
use crate::StoreError;
use crate::jobs::{COLUMNS, ClaimedJob, JobQueue, JobRecord};

fn job(row: &tokio_postgres::Row) -> Result<JobRecord, tokio_postgres::Error> {
    Ok(JobRecord {
        script: row.try_get(0)?,
        name: row.try_get(1)?,
        handler: row.try_get(2)?,
        due: row.try_get(3)?,
        every: row.try_get(4)?,
        runs: row.try_get(5)?,
        last_error: row.try_get(6)?,
    })
}

impl JobQueue for PostgresConnection {
    fn schedule_job(&mut self, job: &JobRecord) -> Result<(), StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "INSERT INTO jobs (script, name, handler, due, every_ms) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (script, name) DO UPDATE SET handler = excluded.handler,
                         due = excluded.due, every_ms = excluded.every_ms,
                         locked_by = NULL, locked_until = NULL",
                )
                .await?;
            client
                .execute(
                    &statement,
                    &[&job.script, &job.name, &job.handler, &job.due, &job.every],
                )
                .await?;
            Ok(())
        })
    }

    fn jobs(&mut self, script: &str) -> Result<Vec<JobRecord>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM jobs WHERE script = $1 ORDER BY name"
                ))
                .await?;
            client
                .query(&statement, &[&script])
                .await?
                .iter()
                .map(job)
                .collect()
        })
    }

    fn remove_job(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM jobs WHERE script = $1 AND name = $2")
                .await?;
            Ok(client.execute(&statement, &[&script, &name]).await? > 0)
        })
    }

    fn remove_jobs(&mut self, script: &str) -> Result<usize, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM jobs WHERE script = $1")
                .await?;
            Ok(count(client.execute(&statement, &[&script]).await?))
        })
    }

    fn claim_due_jobs(
        &mut self,
        node: &str,
        now: i64,
        lock_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let until = now.saturating_add(lock_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(async |client| {
            // Rows another node is claiming right now are skipped, not waited for.
            let statement = client
                .prepare_cached(&format!(
                    "WITH candidates AS (
                         SELECT script AS job_script, name AS job_name FROM jobs
                         WHERE due <= $3 AND (locked_until IS NULL OR locked_until < $3)
                         ORDER BY due LIMIT $4
                         FOR UPDATE SKIP LOCKED)
                     UPDATE jobs SET locked_by = $1, locked_until = $2
                     FROM candidates
                     WHERE script = job_script AND name = job_name
                     RETURNING {COLUMNS}"
                ))
                .await?;
            let mut claimed = client
                .query(&statement, &[&node, &until, &now, &limit])
                .await?
                .iter()
                .map(|row| {
                    Ok(ClaimedJob {
                        job: job(row)?,
                        locked_until: until,
                    })
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
            claimed.sort_by_key(|claim| claim.job.due);
            Ok(claimed)
        })
    }

    fn finish_job(
        &mut self,
        node: &str,
        script: &str,
        name: &str,
        next_due: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.with(async |client| {
            let changed = match next_due {
                Some(due) => {
                    let statement = client
                        .prepare_cached(
                            "UPDATE jobs SET due = $4, locked_by = NULL, locked_until = NULL,
                                 runs = runs + 1, last_error = $5
                             WHERE script = $1 AND name = $2 AND locked_by = $3",
                        )
                        .await?;
                    client
                        .execute(&statement, &[&script, &name, &node, &due, &error])
                        .await?
                }
                None => {
                    let statement = client
                        .prepare_cached(
                            "DELETE FROM jobs WHERE script = $1 AND name = $2 AND locked_by = $3",
                        )
                        .await?;
                    client.execute(&statement, &[&script, &name, &node]).await?
                }
            };
            Ok(changed > 0)
        })
    }

    fn release_job(&mut self, node: &str, script: &str, name: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "UPDATE jobs SET locked_by = NULL, locked_until = NULL
                     WHERE script = $1 AND name = $2 AND locked_by = $3",
                )
                .await?;
            Ok(client.execute(&statement, &[&script, &name, &node]).await? > 0)
        })
    }
}
