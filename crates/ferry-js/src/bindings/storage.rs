//! `sharedStorage`: a key-value store per script, shared by every worker and persisted in
//! the data directory.

use std::rc::Rc;

use ferry_store::{KeyValue, StoreConnection};
use rquickjs::{Ctx, Function, Object};

use super::{ScriptHost, throw};

/// Longest key accepted, in bytes.
const MAX_KEY_BYTES: usize = 1024;
/// Longest value accepted, in bytes.
const MAX_VALUE_BYTES: usize = 1024 * 1024;

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let get = Function::new(ctx.clone(), move |ctx: Ctx<'js>, key: String| {
        check_key(&ctx, &key)?;
        with_store(&ctx, &owner, |store, scope| store.get_item(scope, &key))
    })?;
    host.set("storageGet", get)?;

    let owner = script.clone();
    let set = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, key: String, value: String| {
            check_key(&ctx, &key)?;
            if value.len() > MAX_VALUE_BYTES {
                return Err(throw(
                    &ctx,
                    &format!(
                        "sharedStorage.setItem: the value is {} bytes; the limit is {MAX_VALUE_BYTES}",
                        value.len()
                    ),
                ));
            }
            with_store(&ctx, &owner, |store, scope| {
                store.set_item(scope, &key, &value)
            })
        },
    )?;
    host.set("storageSet", set)?;

    let owner = script.clone();
    let remove = Function::new(ctx.clone(), move |ctx: Ctx<'js>, key: String| {
        check_key(&ctx, &key)?;
        with_store(&ctx, &owner, |store, scope| store.remove_item(scope, &key))
    })?;
    host.set("storageRemove", remove)?;

    let owner = script.clone();
    let clear = Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
        with_store(&ctx, &owner, |store, scope| store.clear(scope)).map(|_| ())
    })?;
    host.set("storageClear", clear)
}

fn check_key(ctx: &Ctx<'_>, key: &str) -> rquickjs::Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(throw(
            ctx,
            &format!(
                "sharedStorage: the key is {} bytes; the limit is {MAX_KEY_BYTES}",
                key.len()
            ),
        ));
    }
    Ok(())
}

/// Runs `operation` on this worker's store connection (opened on first use), scoped to the
/// script; store failures become JavaScript errors.
fn with_store<T>(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    operation: impl FnOnce(&mut StoreConnection, &str) -> Result<T, ferry_store::StoreError>,
) -> rquickjs::Result<T> {
    let host = &script.host;
    let mut connection = host.connection.borrow_mut();
    if connection.is_none() {
        let Some(store) = &host.store else {
            return Err(throw(
                ctx,
                "sharedStorage is not available: the engine has no data directory",
            ));
        };
        let opened = store
            .connect()
            .map_err(|error| throw(ctx, &format!("sharedStorage: {error}")))?;
        *connection = Some(opened);
    }
    let Some(store) = connection.as_mut() else {
        return Err(throw(ctx, "sharedStorage is not available"));
    };
    operation(store, &script.name).map_err(|error| throw(ctx, &format!("sharedStorage: {error}")))
}
