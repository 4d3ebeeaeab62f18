//! `secretStorage`: a script's secrets, written and checked but never read back by it
//! (`fetch` will put them into outgoing requests). Values are sealed with the engine's
//! secret key before they reach the store; no error or log line carries one.

use std::rc::Rc;

use ferry_store::SecretStore;
use rquickjs::{Ctx, Function, Object};

use super::storage::with_store;
use super::{ScriptHost, throw};

const API: &str = "secretStorage";

/// The longest secret value accepted, in bytes.
const MAX_SECRET_BYTES: usize = 64 * 1024;

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let exists = Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String| {
        check_name(&ctx, &name)?;
        with_store(&ctx, &owner, API, |store, script| {
            store.secret_exists(script, &name)
        })
    })?;
    host.set("secretExists", exists)?;

    let owner = script.clone();
    let set = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, name: String, value: String| -> rquickjs::Result<()> {
            check_name(&ctx, &name)?;
            if value.len() > MAX_SECRET_BYTES {
                return Err(throw(
                    &ctx,
                    &format!(
                        "{API}.setSecret: the value is {} bytes; the limit is {MAX_SECRET_BYTES}",
                        value.len()
                    ),
                ));
            }
            let Some(key) = owner.host.secret_key.clone() else {
                return Err(throw(
                    &ctx,
                    "secretStorage.setSecret: Ferry has no secret key to seal secrets with; start it with FERRY_SECRET_KEY set to 32 random bytes in base64 (make one with `openssl rand -base64 32`)",
                ));
            };
            let sealed = key
                .seal(&owner.name, &name, &value)
                .map_err(|error| throw(&ctx, &format!("{API}.setSecret: {error}")))?;
            with_store(&ctx, &owner, API, |store, script| {
                store.put_secret(script, &name, &sealed)
            })
        },
    )?;
    host.set("secretSet", set)?;

    let owner = script.clone();
    let remove = Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String| {
        check_name(&ctx, &name)?;
        with_store(&ctx, &owner, API, |store, script| {
            store.remove_secret(script, &name)
        })
    })?;
    host.set("secretRemove", remove)?;

    let owner = script.clone();
    let clear = Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
        with_store(&ctx, &owner, API, |store, script| {
            store.clear_secrets(script)
        })
        .map(|cleared| cleared as u32)
    })?;
    host.set("secretClear", clear)
}

/// Secret names are what `{{NAME}}` placeholders can name: a letter or `_`, then letters,
/// digits, `_`, `.` and `-`, at most 128.
fn check_name(ctx: &Ctx<'_>, name: &str) -> rquickjs::Result<()> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && name.len() <= 128 {
        return Ok(());
    }
    Err(throw(
        ctx,
        &format!(
            "{API}: the secret name {name:?} is not allowed: a letter or _, then letters, digits, _, . and - (at most 128)"
        ),
    ))
}
