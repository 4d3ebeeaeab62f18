//! [`JobQueue`] on SQLite.

use rusqlite::params;

use crate::jobs::{COLUMNS, ClaimedJob, JobQueue, JobRecord};
use crate::{SqliteConnection, StoreError};

fn job(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        script: row.get(0)?,
        name: row.get(1)?,
        handler: row.get(2)?,
        due: row.get(3)?,
        every: row.get(4)?,
        runs: row.get(5)?,
        last_error: row.get(6)?,
    })
}

impl JobQueue for SqliteConnection {
    fn schedule_job(&mut self, job: &JobRecord) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO jobs (script, name, handler, due, every_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (script, name) DO UPDATE SET handler = excluded.handler,
                     due = excluded.due, every_ms = excluded.every_ms,
                     locked_by = NULL, locked_until = NULL",
            )
            .and_then(|mut statement| {
                statement.execute(params![job.script, job.name, job.handler, job.due, job.every])
            })
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn jobs(&mut self, script: &str) -> Result<Vec<JobRecord>, StoreError> {
        self.connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE script = ?1 ORDER BY name"
            ))
            .and_then(|mut statement| statement.query_map(params![script], job)?.collect())
            .map_err(|source| self.error(source))
    }

    fn remove_job(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM jobs WHERE script = ?1 AND name = ?2")
            .and_then(|mut statement| statement.execute(params![script, name]))
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }

    fn remove_jobs(&mut self, script: &str) -> Result<usize, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM jobs WHERE script = ?1")
            .and_then(|mut statement| statement.execute(params![script]))
            .map_err(|source| self.error(source))
    }

    fn claim_due_jobs(
        &mut self,
        node: &str,
        now: i64,
        lock_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let until = now.saturating_add(lock_ms);
        // One statement: SQLite runs it under its write lock, so no two claim one job.
        let sql = format!(
            "UPDATE jobs SET locked_by = ?1, locked_until = ?2
             WHERE (script, name) IN (
                 SELECT script, name FROM jobs
                 WHERE due <= ?3 AND (locked_until IS NULL OR locked_until < ?3)
                 ORDER BY due LIMIT ?4)
             RETURNING {COLUMNS}"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut claimed: Vec<ClaimedJob> = self
            .connection
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params![node, until, now, limit], |row| {
                        Ok(ClaimedJob {
                            job: job(row)?,
                            locked_until: until,
                        })
                    })?
                    .collect()
            })
            .map_err(|source| self.error(source))?;
        claimed.sort_by_key(|claim| claim.job.due);
        Ok(claimed)
    }

    fn finish_job(
        &mut self,
        node: &str,
        script: &str,
        name: &str,
        next_due: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = match next_due {
            Some(due) => self
                .connection
                .prepare_cached(
                    "UPDATE jobs SET due = ?4, locked_by = NULL, locked_until = NULL,
                         runs = runs + 1, last_error = ?5
                     WHERE script = ?1 AND name = ?2 AND locked_by = ?3",
                )
                .and_then(|mut statement| {
                    statement.execute(params![script, name, node, due, error])
                }),
            None => self
                .connection
                .prepare_cached(
                    "DELETE FROM jobs WHERE script = ?1 AND name = ?2 AND locked_by = ?3",
                )
                .and_then(|mut statement| statement.execute(params![script, name, node])),
        };
        changed
            .map(|changed| changed > 0)
            .map_err(|source| self.error(source))
    }

    fn release_job(&mut self, node: &str, script: &str, name: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached(
                "UPDATE jobs SET locked_by = NULL, locked_until = NULL
                 WHERE script = ?1 AND name = ?2 AND locked_by = ?3",
            )
            .and_then(|mut statement| statement.execute(params![script, name, node]))
            .map(|changed| changed > 0)
            .map_err(|source| self.error(source))
    }
}
