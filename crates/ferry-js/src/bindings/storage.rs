//! `sharedStorage`, a key-value store per script shared by every worker, and
//! `personalStorage`, one per script and signed-in user; both persisted in the data
//! directory.

use std::rc::Rc;

use ferry_store::{KeyValue, PersonalKeyValue, StoreConnection, StoreError};
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
    install_shared(ctx, host, script)?;
    install_personal(ctx, host, script)
}

fn install_shared<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    const API: &str = "sharedStorage";
    let owner = script.clone();
    let get = Function::new(ctx.clone(), move |ctx: Ctx<'js>, key: String| {
        check_key(&ctx, API, &key)?;
        with_store(&ctx, &owner, API, |store, script| {
            store.get_item(script, &key)
        })
    })?;
    host.set("storageGet", get)?;

    let owner = script.clone();
    let set = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, key: String, value: String| {
            check_key(&ctx, API, &key)?;
            check_value(&ctx, API, &value)?;
            with_store(&ctx, &owner, API, |store, script| {
                store.set_item(script, &key, &value)
            })
        },
    )?;
    host.set("storageSet", set)?;

    let owner = script.clone();
    let remove = Function::new(ctx.clone(), move |ctx: Ctx<'js>, key: String| {
        check_key(&ctx, API, &key)?;
        with_store(&ctx, &owner, API, |store, script| {
            store.remove_item(script, &key)
        })
    })?;
    host.set("storageRemove", remove)?;

    let owner = script.clone();
    let clear = Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
        with_store(&ctx, &owner, API, |store, script| store.clear(script)).map(|_| ())
    })?;
    host.set("storageClear", clear)
}

/// The prelude passes the signed-in user of the request being handled (scripts cannot call
/// these functions themselves).
fn install_personal<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    const API: &str = "personalStorage";
    let owner = script.clone();
    let get = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, user: String, key: String| {
            check_key(&ctx, API, &key)?;
            with_store(&ctx, &owner, API, |store, script| {
                store.personal_get(script, &user, &key)
            })
        },
    )?;
    host.set("personalGet", get)?;

    let owner = script.clone();
    let set = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, user: String, key: String, value: String| {
            check_key(&ctx, API, &key)?;
            check_value(&ctx, API, &value)?;
            with_store(&ctx, &owner, API, |store, script| {
                store.personal_set(script, &user, &key, &value)
            })
        },
    )?;
    host.set("personalSet", set)?;

    let owner = script.clone();
    let remove = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, user: String, key: String| {
            check_key(&ctx, API, &key)?;
            with_store(&ctx, &owner, API, |store, script| {
                store.personal_remove(script, &user, &key)
            })
        },
    )?;
    host.set("personalRemove", remove)?;

    let owner = script.clone();
    let clear = Function::new(ctx.clone(), move |ctx: Ctx<'js>, user: String| {
        with_store(&ctx, &owner, API, |store, script| {
            store.personal_clear(script, &user)
        })
        .map(|_| ())
    })?;
    host.set("personalClear", clear)
}

fn check_key(ctx: &Ctx<'_>, api: &str, key: &str) -> rquickjs::Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(throw(
            ctx,
            &format!(
                "{api}: the key is {} bytes; the limit is {MAX_KEY_BYTES}",
                key.len()
            ),
        ));
    }
    Ok(())
}

fn check_value(ctx: &Ctx<'_>, api: &str, value: &str) -> rquickjs::Result<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(throw(
            ctx,
            &format!(
                "{api}.setItem: the value is {} bytes; the limit is {MAX_VALUE_BYTES}",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// Runs `operation` on this worker's store connection (opened on first use) with the
/// script's name; store failures become JavaScript errors naming `api`.
pub(super) fn with_store<T>(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    api: &str,
    operation: impl FnOnce(&mut StoreConnection, &str) -> Result<T, StoreError>,
) -> rquickjs::Result<T> {
    let host = &script.host;
    let mut connection = host.connection.borrow_mut();
    if connection.is_none() {
        let Some(store) = &host.store else {
            return Err(throw(
                ctx,
                &format!("{api} is not available: the engine has no data directory"),
            ));
        };
        let opened = store
            .connect()
            .map_err(|error| throw(ctx, &format!("{api}: {error}")))?;
        *connection = Some(opened);
    }
    let Some(store) = connection.as_mut() else {
        return Err(throw(ctx, &format!("{api} is not available")));
    };
    operation(store, &script.name).map_err(|error| {
        super::store_error(ctx, &format!("{api}: {error}"), error.is_unavailable())
    })
}
