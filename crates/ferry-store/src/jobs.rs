//! Scheduled jobs, claimed once per cluster: every node polls for due jobs and claims a
//! batch in one statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so nodes never wait for
//! each other's rows; SQLite's single writer on one node). A claim holds for a lock
//! lifetime: a node that dies with a job claimed leaves it to be claimed again once the
//! lock runs out, and a late finish by the node that lost the lock changes nothing.
//!
//! The scheduler that runs scripts' jobs comes later; the table and the claim are here,
//! designed and tested on both back ends.

use crate::StoreError;

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The script it belongs to.
    pub script: String,
    /// Its name, unique per script.
    pub name: String,
    /// What to call (the script's handler).
    pub handler: String,
    /// When it is next due, in milliseconds since the Unix epoch.
    pub due: i64,
    /// Its period in milliseconds when it recurs; `None` runs once.
    pub every: Option<i64>,
    /// How many times it ran.
    pub runs: i64,
    /// The last run's error, if it failed.
    pub last_error: Option<String>,
}

impl JobRecord {
    /// A job of `script` named `name` calling `handler` at `due` (ms), every `every` ms.
    pub fn new(script: &str, name: &str, handler: &str, due: i64, every: Option<i64>) -> Self {
        JobRecord {
            script: script.into(),
            name: name.into(),
            handler: handler.into(),
            due,
            every,
            runs: 0,
            last_error: None,
        }
    }
}

/// A job a node claimed, to run and then finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job.
    pub job: JobRecord,
    /// Until when (ms) the claim holds.
    pub locked_until: i64,
}

/// Where jobs are kept and claimed.
pub trait JobQueue {
    /// Adds the job, or replaces the script's job of that name (its lock released).
    fn schedule_job(&mut self, job: &JobRecord) -> Result<(), StoreError>;
    /// The jobs of `script`, by name.
    fn jobs(&mut self, script: &str) -> Result<Vec<JobRecord>, StoreError>;
    /// Removes `script`'s job `name`; whether it was there.
    fn remove_job(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
    /// Removes every job of `script`; how many there were.
    fn remove_jobs(&mut self, script: &str) -> Result<usize, StoreError>;
    /// Claims for `node` up to `limit` jobs due at `now` (ms) that nobody holds (or whose
    /// holder's lock ran out), for `lock_ms`; earliest due first.
    fn claim_due_jobs(
        &mut self,
        node: &str,
        now: i64,
        lock_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedJob>, StoreError>;
    /// `node` is done with the job it claimed: a job that runs once is removed, a
    /// recurring one is due again at `next_due` (ms); `error` is kept when the run failed.
    /// False when `node` no longer holds it (its lock ran out and another node took it).
    fn finish_job(
        &mut self,
        node: &str,
        script: &str,
        name: &str,
        next_due: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// `node` gives back the job it claimed without running it (it does not run the
    /// job's script): as it was, for any node to claim. False when `node` no longer held it.
    fn release_job(&mut self, node: &str, script: &str, name: &str) -> Result<bool, StoreError>;
}

/// The jobs table's SQL, the same on both back ends (SQLite's `BIGINT` is an integer); a
/// macro so PostgreSQL's migration can `concat!` it.
macro_rules! jobs_schema {
    () => {
        "
CREATE TABLE jobs (
    script       TEXT NOT NULL,
    name         TEXT NOT NULL,
    handler      TEXT NOT NULL,
    due          BIGINT NOT NULL,
    every_ms     BIGINT,
    locked_by    TEXT,
    locked_until BIGINT,
    runs         BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    PRIMARY KEY (script, name)
);
CREATE INDEX jobs_by_due ON jobs (due);
"
    };
}

/// The jobs table.
pub(crate) const SCHEMA: &str = jobs_schema!();

/// The columns of a job, in the order [`JobRecord`] is read from.
pub(crate) const COLUMNS: &str = "script, name, handler, due, every_ms, runs, last_error";
