//! Scripts' scheduled jobs (`schedulerService`): once at a time, every so often, or on a
//! cron expression. Jobs live in the store's job table, so on several nodes each run is
//! claimed by one node; the handler runs on a JavaScript worker like an MCP tool (its
//! `context.args` says which job and when it was due). A job's next run is set when its
//! run ends, so runs of one job never overlap.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, TimeZone};
use ferry_store::{JobQueue, JobRecord, Store};
use serde::{Deserialize, Serialize};

use crate::engine::WeakEngine;
use crate::job::CallInput;
use crate::registration::{Registration, RouteKind};

/// How often each node looks for due jobs.
const POLL: Duration = Duration::from_millis(250);
/// The shortest interval a recurring job may have.
pub(crate) const MIN_INTERVAL_MS: i64 = 1000;
/// The most jobs a node claims at once.
const BATCH: usize = 32;
/// When a job that ran once is due again: never (its row stays, so that loading the
/// script again does not run it again).
const DONE: i64 = i64::MAX;

/// When a job runs, as the script registered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum JobSpec {
    /// Once, at `at` (ms since the Unix epoch).
    Once { at: i64 },
    /// Every `every` ms, the first time at `start` (or one interval after it is set).
    Every { every: i64, start: Option<i64> },
    /// When the cron expression matches, in `timezone` (UTC, or a fixed offset).
    Cron {
        cron: String,
        timezone: Option<String>,
    },
}

/// What the job table keeps in a job's `handler` column: the handler's name and the
/// schedule, so any node can work out the next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    handler: String,
    #[serde(flatten)]
    spec: JobSpec,
}

impl JobSpec {
    /// The schedule a script's registration describes (its JSON), checked: an error says
    /// what is wrong with it.
    pub(crate) fn parse(definition: &str) -> Result<JobSpec, String> {
        let spec: JobSpec = serde_json::from_str(definition)
            .map_err(|error| format!("the schedule is not valid: {error}"))?;
        match &spec {
            JobSpec::Once { .. } => {}
            JobSpec::Every { every, .. } => {
                if *every < MIN_INTERVAL_MS {
                    return Err(format!(
                        "the interval is {every} ms; the shortest is {MIN_INTERVAL_MS} ms"
                    ));
                }
            }
            JobSpec::Cron { cron, timezone } => {
                cron_of(cron)?;
                offset_of(timezone.as_deref())?;
            }
        }
        Ok(spec)
    }

    /// When a job registered now first runs.
    fn first_due(&self, now: i64) -> Result<i64, String> {
        match self {
            JobSpec::Once { at } => Ok(*at),
            JobSpec::Every { every, start } => Ok(start.unwrap_or(now + every)),
            JobSpec::Cron { .. } => self
                .next_due(now)
                .ok_or_else(|| "the cron expression never matches".to_owned()),
        }
    }

    /// When it runs next after a run that ended at `now`: `None` if never.
    fn next_due(&self, now: i64) -> Option<i64> {
        match self {
            JobSpec::Once { .. } => None,
            JobSpec::Every { every, .. } => Some(now + every),
            JobSpec::Cron { cron, timezone } => {
                let cron = cron_of(cron).ok()?;
                let offset = offset_of(timezone.as_deref()).ok()?;
                let from = offset.timestamp_millis_opt(now).single()?;
                let next: DateTime<FixedOffset> = cron.find_next_occurrence(&from, false).ok()?;
                Some(next.timestamp_millis())
            }
        }
    }
}

/// A 5-field cron expression (minute, hour, day of month, month, day of week).
fn cron_of(expression: &str) -> Result<croner::Cron, String> {
    if expression.split_whitespace().count() != 5 {
        return Err(format!(
            "{expression:?} is not a 5-field cron expression (minute hour day-of-month month day-of-week, e.g. \"*/5 * * * *\")"
        ));
    }
    croner::Cron::from_str(expression)
        .map_err(|error| format!("{expression:?} is not a cron expression: {error}"))
}

/// The time zone a cron expression is read in: UTC by default, or a fixed offset.
fn offset_of(timezone: Option<&str>) -> Result<FixedOffset, String> {
    let utc = FixedOffset::east_opt(0).ok_or("no UTC offset")?;
    match timezone {
        None | Some("UTC" | "Z" | "Etc/UTC") => Ok(utc),
        Some(text) => {
            let refuse = || {
                format!(
                    "the time zone {text:?} is not supported: use UTC or a fixed offset such as \"+02:00\""
                )
            };
            let (sign, rest) = match text.as_bytes().first() {
                Some(b'+') => (1, &text[1..]),
                Some(b'-') => (-1, &text[1..]),
                _ => return Err(refuse()),
            };
            let (hours, minutes) = rest.split_once(':').ok_or_else(refuse)?;
            let hours: i32 = hours.parse().map_err(|_| refuse())?;
            let minutes: i32 = minutes.parse().map_err(|_| refuse())?;
            if hours > 14 || minutes > 59 {
                return Err(refuse());
            }
            FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(refuse)
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The job name of a registration (`"job <name>"`), if it is a job.
fn job_name(registration: &Registration) -> Option<&str> {
    match registration.kind {
        RouteKind::Job => registration.pattern.strip_prefix("job "),
        _ => None,
    }
}

/// Makes the job table hold exactly the jobs `script` registers: new and changed ones are
/// (re)scheduled, unchanged ones keep their next run, gone ones are removed.
pub(crate) async fn sync(store: &Store, script: Arc<str>, registrations: &[Registration]) {
    let wanted: Vec<(String, String)> = registrations
        .iter()
        .filter_map(|registration| {
            let name = job_name(registration)?;
            let spec = JobSpec::parse(&registration.definition).ok()?;
            let stored = serde_json::to_string(&Stored {
                handler: registration.handler.clone(),
                spec,
            })
            .ok()?;
            Some((name.to_owned(), stored))
        })
        .collect();
    let store = store.clone();
    let done = tokio::task::spawn_blocking(move || {
        let mut connection = store.connect()?;
        let existing = connection.jobs(&script)?;
        for job in &existing {
            if !wanted.iter().any(|(name, _)| *name == job.name) {
                connection.remove_job(&script, &job.name)?;
            }
        }
        let now = now_ms();
        for (name, stored) in &wanted {
            if existing
                .iter()
                .any(|job| job.name == *name && job.handler == *stored)
            {
                continue;
            }
            let Ok(parsed) = serde_json::from_str::<Stored>(stored) else {
                continue;
            };
            let due = match parsed.spec.first_due(now) {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%script, job = %name, %error, "the job is not scheduled");
                    continue;
                }
            };
            let every = match parsed.spec {
                JobSpec::Every { every, .. } => Some(every),
                _ => None,
            };
            connection.schedule_job(&JobRecord::new(&script, name, stored, due, every))?;
        }
        Ok::<_, ferry_store::StoreError>(())
    })
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "the scripts' jobs could not be brought up to date")
        }
        Err(_) => tracing::warn!("the job table update stopped"),
    }
}

/// Removes every job of `script` (it was deleted, or `schedulerService.clearAll()`).
pub(crate) async fn forget(store: &Store, script: &str) -> Result<usize, String> {
    let store = store.clone();
    let script = script.to_owned();
    tokio::task::spawn_blocking(move || store.connect()?.remove_jobs(&script))
        .await
        .map_err(|_| "the job table update stopped".to_owned())?
        .map_err(|error| error.to_string())
}

/// Runs the due jobs of `engine`'s scripts until the engine stops: this node's share, as
/// it claims them.
pub(crate) fn start(engine: WeakEngine, store: Store) {
    let node = node_id();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(engine) = engine.upgrade() else {
                break;
            };
            if !engine.registers(RouteKind::Job) {
                continue;
            }
            // Held for the call limit, its queueing allowance, and time to record the run.
            let lock = i64::try_from((engine.call_timeout() + Duration::from_secs(30)).as_millis())
                .unwrap_or(i64::MAX);
            let claim_store = store.clone();
            let claim_node = node.clone();
            let claimed = tokio::task::spawn_blocking(move || {
                claim_store
                    .connect()?
                    .claim_due_jobs(&claim_node, now_ms(), lock, BATCH)
            })
            .await;
            let claimed = match claimed {
                Ok(Ok(claimed)) => claimed,
                Ok(Err(error)) => {
                    tracing::debug!(%error, "no jobs claimed: the store is unavailable");
                    continue;
                }
                Err(_) => continue,
            };
            for claimed in claimed {
                let engine = engine.clone();
                let store = store.clone();
                let node = node.clone();
                tokio::spawn(async move {
                    run(&engine, &store, &node, claimed.job).await;
                });
            }
        }
    });
}

/// Runs one claimed job and records how it went and when it runs next.
async fn run(engine: &crate::Engine, store: &Store, node: &str, job: JobRecord) {
    let stored: Option<Stored> = serde_json::from_str(&job.handler).ok();
    let target = engine
        .handlers(
            RouteKind::Job,
            &format!("job {}", job.name),
            Some(&job.script),
        )
        .pop();
    if stored.is_some() && target.is_none() {
        // This node does not run the script (yet, or any more): another node may.
        let store = store.clone();
        let node = node.to_owned();
        let _ = tokio::task::spawn_blocking(move || {
            store.connect()?.release_job(&node, &job.script, &job.name)
        })
        .await;
        return;
    }
    let (error, next_due) = match (stored, target) {
        (Some(stored), Some(call)) => {
            let input = serde_json::json!({
                "name": job.name,
                "scheduledTime": job.due,
                "cron": match &stored.spec { JobSpec::Cron { cron, .. } => Some(cron.clone()), _ => None },
            });
            let outcome = call
                .run(CallInput::Json {
                    input: input.to_string(),
                    caller: None,
                })
                .await;
            let error = outcome.err();
            if let Some(error) = &error {
                tracing::warn!(script = %job.script, job = %job.name, %error, "a scheduled job failed");
            }
            let next = stored.spec.next_due(now_ms().max(job.due)).unwrap_or(DONE);
            (error, next)
        }
        // A record this version of Ferry cannot read: it runs no more.
        _ => (None, DONE),
    };
    let store = store.clone();
    let node = node.to_owned();
    let finished = tokio::task::spawn_blocking(move || {
        store.connect()?.finish_job(
            &node,
            &job.script,
            &job.name,
            Some(next_due),
            error.as_deref(),
        )
    })
    .await;
    if let Ok(Err(error)) = finished {
        tracing::warn!(%error, "a job's run could not be recorded");
    }
}

/// This process's name in the job table's locks.
fn node_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_checked_when_registered() {
        assert!(JobSpec::parse(r#"{"kind":"once","at":5}"#).is_ok());
        assert!(
            JobSpec::parse(r#"{"kind":"every","every":500,"start":null}"#)
                .unwrap_err()
                .contains("shortest")
        );
        assert!(JobSpec::parse(r#"{"kind":"cron","cron":"*/5 * * * *","timezone":null}"#).is_ok());
        assert!(
            JobSpec::parse(r#"{"kind":"cron","cron":"* * * * * *","timezone":null}"#)
                .unwrap_err()
                .contains("5-field")
        );
        assert!(JobSpec::parse(r#"{"kind":"cron","cron":"61 * * * *","timezone":null}"#).is_err());
        assert!(
            JobSpec::parse(r#"{"kind":"cron","cron":"0 9 * * 1","timezone":"Europe/Paris"}"#)
                .unwrap_err()
                .contains("fixed offset")
        );
        assert!(
            JobSpec::parse(r#"{"kind":"cron","cron":"0 9 * * 1","timezone":"+02:00"}"#).is_ok()
        );
        assert!(JobSpec::parse(r#"{"kind":"weekly"}"#).is_err());
    }

    #[test]
    fn cron_runs_come_next_in_their_zone() {
        // 2026-12-05T10:07:30Z.
        let now = 1_796_465_250_000;
        let every_five = JobSpec::parse(r#"{"kind":"cron","cron":"*/5 * * * *"}"#).unwrap();
        assert_eq!(
            every_five.next_due(now),
            Some(1_796_465_400_000),
            "10:10:00Z"
        );
        let nine =
            JobSpec::parse(r#"{"kind":"cron","cron":"0 9 * * *","timezone":"+02:00"}"#).unwrap();
        // 09:00 at +02:00 is 07:00Z, the next day.
        assert_eq!(nine.next_due(now), Some(1_796_540_400_000));
        let once = JobSpec::Once { at: 7 };
        assert_eq!(once.first_due(now), Ok(7));
        assert_eq!(once.next_due(now), None);
        let every = JobSpec::Every {
            every: 60_000,
            start: None,
        };
        assert_eq!(every.first_due(now), Ok(now + 60_000));
        assert_eq!(every.next_due(now), Some(now + 60_000));
    }
}
