//! `auth.canManageScript(uri)`: whether the signed-in user may change the script `uri`
//! through the management API — the same decision the API makes.

use std::rc::Rc;

use ferry_auth::Role;
use ferry_store::ScriptAccess;
use rquickjs::{Ctx, Function, Object};

use super::ScriptHost;
use super::storage::with_store;
use crate::management_access::{Actor, Need, may_manage};

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let can_manage = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              uri: String,
              user: String,
              role: String,
              groups: Vec<String>|
              -> rquickjs::Result<bool> {
            let Some(role) = Role::parse(&role) else {
                return Ok(false);
            };
            let actor = Actor::User {
                id: user,
                role,
                groups,
            };
            if actor.is_admin() {
                return Ok(true);
            }
            let exists = owner.host.scripts.lock().contains_key(uri.as_str());
            let access = with_store(&ctx, &owner, "auth.canManageScript", |store, _| {
                store.script_access(&uri)
            })?;
            Ok(may_manage(&actor, &access, exists, Need::Edit).is_ok())
        },
    )?;
    host.set("canManageScript", can_manage)
}
