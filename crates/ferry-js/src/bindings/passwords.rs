//! `passwords.hash` and `passwords.verify` (`crypto_keys.js`): argon2id in the PHC string
//! form, computed on the blocking pool (a hash takes tens of milliseconds by design), at
//! most one per core at a time so that a burst of sign-ups cannot take all memory.

use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rquickjs::{Ctx, Function, Object};
use tokio::sync::Semaphore;

use super::{ScriptHost, throw};
use crate::job::HostCallError;

/// The most memory one hash may ask for, in KiB (256 MiB).
const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// The most passes one hash may ask for.
const MAX_TIME_COST: u32 = 20;
/// The most lanes one hash may ask for.
const MAX_PARALLELISM: u32 = 8;

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let hash = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              password: String,
              memory: Option<f64>,
              time: Option<f64>,
              parallelism: Option<f64>|
              -> rquickjs::Result<u32> {
            let params =
                params(memory, time, parallelism).map_err(|message| throw(&ctx, &message))?;
            Ok(owner.spawn_host_call(off_the_worker(move || {
                Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                    .hash_password(password.as_bytes())
                    .map(|hash| hash.to_string())
                    .map_err(|error| error.to_string())
            })))
        },
    )?;
    host.set("passwordHash", hash)?;

    let owner = script.clone();
    let verify = Function::new(
        ctx.clone(),
        move |password: String, stored: String| -> u32 {
            owner.spawn_host_call(off_the_worker(move || {
                let Ok(parsed) = PasswordHash::new(&stored) else {
                    return Err("passwords.verify: the hash is not a PHC string (as passwords.hash writes them)".to_owned());
                };
                let cost_ok = Params::try_from(&parsed).is_ok_and(|params| {
                    params.m_cost() <= MAX_MEMORY_KIB
                        && params.t_cost() <= MAX_TIME_COST
                        && params.p_cost() <= MAX_PARALLELISM
                });
                if !cost_ok {
                    return Err("passwords.verify: the hash asks for more memory or time than Ferry allows".to_owned());
                }
                let matches = Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok();
                Ok(matches.to_string())
            }))
        },
    )?;
    host.set("passwordVerify", verify)
}

/// The cost of a new hash: argon2's recommended defaults (19 MiB, 2 passes, 1 lane), or
/// what the script asks for within Ferry's bounds.
fn params(
    memory: Option<f64>,
    time: Option<f64>,
    parallelism: Option<f64>,
) -> Result<Params, String> {
    let pick = |value: Option<f64>, default: u32, max: u32, what: &str| match value {
        None => Ok(default),
        Some(value) if value.fract() == 0.0 && value >= 1.0 && value <= f64::from(max) => {
            Ok(value as u32)
        }
        Some(value) => Err(format!(
            "passwords.hash: {what} {value} is outside 1 to {max}"
        )),
    };
    let memory = pick(
        memory,
        Params::DEFAULT_M_COST,
        MAX_MEMORY_KIB,
        "memoryCost (KiB)",
    )?;
    let time = pick(time, Params::DEFAULT_T_COST, MAX_TIME_COST, "timeCost")?;
    let lanes = pick(
        parallelism,
        Params::DEFAULT_P_COST,
        MAX_PARALLELISM,
        "parallelism",
    )?;
    Params::new(memory, time, lanes, None).map_err(|error| format!("passwords.hash: {error}"))
}

/// `work` on the blocking pool, one per core at a time; its error as a host call's.
async fn off_the_worker(
    work: impl FnOnce() -> Result<String, String> + Send + 'static,
) -> Result<String, HostCallError> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(1, usize::from),
        ))
    });
    let failed = |message: String| HostCallError {
        message,
        status: None,
    };
    let _permit = permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| failed("passwords: the engine is stopping".to_owned()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| failed("passwords: the hashing thread stopped".to_owned()))?
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_bounded() {
        assert!(params(None, None, None).is_ok());
        assert!(params(Some(65536.0), Some(3.0), Some(2.0)).is_ok());
        assert!(params(Some(f64::from(MAX_MEMORY_KIB) * 2.0), None, None).is_err());
        assert!(params(None, Some(0.0), None).is_err());
        assert!(params(None, Some(1.5), None).is_err());
        assert!(params(None, None, Some(100.0)).is_err());
    }
}
