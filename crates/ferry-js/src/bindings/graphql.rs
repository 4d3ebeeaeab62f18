//! GraphQL from scripts: `sendSubscriptionMessage(Filtered)`, and
//! `graphQLRegistry.executeGraphQL`, which runs an operation against the engine's schema on
//! the async runtime (its resolvers may run on this very worker, which stays free
//! meanwhile) and settles the script's promise when it is done.

use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::{ScriptHost, filter_of, throw};
use crate::cluster::{Broadcast, FilterSpec};

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host_object: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let graphql = script.host.graphql.clone();
    let host = script.host.clone();
    let script = script.clone();
    let execute = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, query: String, variables: Option<String>| -> rquickjs::Result<u32> {
            let variables = match variables {
                Some(text) => Some(serde_json::from_str::<serde_json::Value>(&text).map_err(
                    |_| {
                        super::throw(
                            &ctx,
                            "the variables of executeGraphQL must be a JSON object",
                        )
                    },
                )?),
                None => None,
            };
            let graphql = script.host.graphql.clone();
            Ok(script.spawn_host_call(async move {
                let response = graphql.execute(&query, variables, None).await;
                Ok(response.to_string())
            }))
        },
    )?;
    host_object.set("executeGraphQL", execute)?;

    let publish = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              name: String,
              json: String,
              filter: Option<String>,
              mode: Option<String>|
              -> rquickjs::Result<usize> {
            let value: serde_json::Value = serde_json::from_str(&json)
                .map_err(|_| throw(&ctx, "the subscription message must be JSON-serialisable"))?;
            let parsed = filter_of(&ctx, filter.as_deref(), mode.as_deref())?;
            let sent = graphql.publish(&name, value.clone(), parsed);
            host.tell_other_nodes(|| Broadcast::Subscription {
                name,
                value,
                filter: FilterSpec::of(filter.as_deref(), mode.as_deref()),
            });
            Ok(sent)
        },
    )?;
    host_object.set("graphqlPublish", publish)
}
