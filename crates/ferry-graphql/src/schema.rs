//! Building an executable schema from the registered fields: each root field calls its
//! [`Resolver`]; the fields of the object types it returns read the resolver's JSON.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use async_graphql::dynamic::{
    Enum, Field, FieldFuture, FieldValue, InputObject, InputValue, Object, ResolverContext, Scalar,
    Schema, SchemaBuilder, Subscription, SubscriptionField, SubscriptionFieldFuture, TypeRef,
};
use async_graphql::parser::types::{BaseType, FieldDefinition, Type, TypeDefinition, TypeKind};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use crate::coerce::TypeTable;
use crate::sdl::{Fragment, SdlError, parse_fragment};
use crate::subscriptions::{SubscriptionHub, lets_through};
use crate::{Registration, ResolverCall, RootKind};

/// Why the registered fields do not make a schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A field's SDL is wrong.
    #[error(transparent)]
    Sdl(#[from] SdlError),
    /// Two registrations disagree (the same field twice, or one type defined two ways).
    #[error("{0}")]
    Conflict(String),
    /// The assembled schema is invalid (e.g. a type is used but never defined).
    #[error("the GraphQL schema is invalid: {0}")]
    Invalid(String),
}

/// Options of the built schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaOptions {
    /// Whether clients may ask for the schema (`__schema`, `__type`).
    pub introspection: bool,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions {
            introspection: true,
        }
    }
}

/// The name of the query field Ferry adds when nothing registered a query: GraphQL requires
/// the query type to have a field.
pub const EMPTY_QUERY_FIELD: &str = "_empty";

/// Builds the schema of `registrations`; `None` when there are none.
pub(crate) fn build(
    registrations: &[Registration],
    options: SchemaOptions,
    hub: &Arc<SubscriptionHub>,
) -> Result<Option<Schema>, SchemaError> {
    if registrations.is_empty() {
        return Ok(None);
    }
    let mut roots: BTreeMap<RootKind, Vec<(FieldDefinition, &Registration)>> = BTreeMap::new();
    let mut types: BTreeMap<String, (TypeDefinition, String)> = BTreeMap::new();
    let mut seen = HashSet::new();
    for registration in registrations {
        let Fragment { field, types: more } =
            parse_fragment(registration.kind, &registration.name, &registration.sdl)?;
        if !seen.insert((registration.kind, registration.name.clone())) {
            return Err(SchemaError::Conflict(format!(
                "the {} {:?} is registered twice",
                registration.kind, registration.name
            )));
        }
        for ty in more {
            let name = ty.name.node.to_string();
            let owner = format!("{} {:?}", registration.kind, registration.name);
            match types.get(&name) {
                Some((existing, first)) if !same_definition(existing, &ty) => {
                    return Err(SchemaError::Conflict(format!(
                        "type {name} is defined differently by {first} and by {owner}; define it the same way (or once)"
                    )));
                }
                Some(_) => {}
                None => {
                    types.insert(name, (ty, owner));
                }
            }
        }
        roots
            .entry(registration.kind)
            .or_default()
            .push((field, registration));
    }
    let objects = Arc::new(type_table(&types));

    let mut query = Object::new(RootKind::Query.type_name());
    let mut mutation = None;
    let mut subscription = None;
    for (kind, fields) in &roots {
        match kind {
            RootKind::Subscription => {
                let mut object = Subscription::new(kind.type_name());
                for (definition, registration) in fields {
                    object =
                        object.field(subscription_field(definition, registration, &objects, hub));
                }
                subscription = Some(object);
            }
            RootKind::Query | RootKind::Mutation => {
                let mut object = Object::new(kind.type_name());
                for (definition, registration) in fields {
                    object = object.field(root_field(definition, registration, &objects));
                }
                if *kind == RootKind::Query {
                    query = object;
                } else {
                    mutation = Some(object);
                }
            }
        }
    }
    if !roots.contains_key(&RootKind::Query) {
        query = query.field(
            Field::new(EMPTY_QUERY_FIELD, TypeRef::named(TypeRef::BOOLEAN), |_| {
                FieldFuture::from_value(None)
            })
            .description("Ferry adds this field because no script registered a query."),
        );
    }
    let mut builder: SchemaBuilder = Schema::build(
        RootKind::Query.type_name(),
        mutation.as_ref().map(|_| RootKind::Mutation.type_name()),
        subscription
            .as_ref()
            .map(|_| RootKind::Subscription.type_name()),
    )
    .register(query);
    if let Some(mutation) = mutation {
        builder = builder.register(mutation);
    }
    if let Some(subscription) = subscription {
        builder = builder.register(subscription);
    }
    for (ty, owner) in types.values() {
        builder = register_type(builder, ty, owner, &objects)?;
    }
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    builder
        .finish()
        .map(Some)
        .map_err(|error| SchemaError::Invalid(error.0))
}

/// The object types and enum values of `types`, for result coercion.
fn type_table(types: &BTreeMap<String, (TypeDefinition, String)>) -> TypeTable {
    let mut table = TypeTable::default();
    for (name, (ty, _)) in types {
        match &ty.kind {
            TypeKind::Object(_) => {
                table.objects.insert(name.clone());
            }
            TypeKind::Enum(values) => {
                let values = values
                    .values
                    .iter()
                    .map(|value| value.node.value.node.to_string())
                    .collect();
                table.enums.insert(name.clone(), values);
            }
            _ => {}
        }
    }
    table
}

fn same_definition(a: &TypeDefinition, b: &TypeDefinition) -> bool {
    format!("{:?}", a.kind) == format!("{:?}", b.kind)
}

/// The extensions of the HTTP request the operation came in (empty when run from code).
fn request_extensions(context: &ResolverContext<'_>) -> Arc<http::Extensions> {
    context
        .ctx
        .data_opt::<crate::request::RequestExtensions>()
        .map(|extensions| extensions.0.clone())
        .unwrap_or_default()
}

/// A root field: calls the registration's resolver with the arguments as JSON.
fn root_field(
    definition: &FieldDefinition,
    registration: &Registration,
    objects: &Arc<TypeTable>,
) -> Field {
    let resolver = registration.resolver.clone();
    let kind = registration.kind;
    let name = registration.name.clone();
    let ty = definition.ty.node.clone();
    let shape = Arc::new(ty.clone());
    let objects_for_field = objects.clone();
    let mut field = Field::new(
        definition.name.node.to_string(),
        type_ref(&ty),
        move |context: ResolverContext<'_>| {
            let resolver = resolver.clone();
            let name = name.clone();
            let shape = shape.clone();
            let objects = objects_for_field.clone();
            let arguments = arguments_json(&context);
            let extensions = request_extensions(&context);
            let graphql_context = context.ctx;
            FieldFuture::new(async move {
                let completed = resolver
                    .resolve(ResolverCall {
                        kind,
                        field: name,
                        arguments,
                        extensions,
                    })
                    .await
                    .and_then(|value| objects.complete(value, &shape));
                match completed {
                    Ok(value) => Ok(value),
                    // A nullable field that failed is null, with its error beside the data
                    // (async-graphql's dynamic schema would drop the field instead).
                    Err(message) if shape.nullable => {
                        let error = async_graphql::ServerError::new(
                            message,
                            Some(graphql_context.item.pos),
                        );
                        graphql_context.add_error(graphql_context.set_error_path(error));
                        Ok(None)
                    }
                    // A non-null one nulls its parent, as the specification says.
                    Err(message) => Err(resolver_error(message)),
                }
            })
        },
    );
    if let Some(description) = &definition.description {
        field = field.description(description.node.clone());
    }
    for argument in &definition.arguments {
        field = field.argument(input_value(&argument.node));
    }
    field
}

/// A subscription field: its resolver names the subscriber's metadata (an object; anything
/// else means the arguments are the metadata), then each message published to the field's
/// name that the metadata lets through becomes an event.
fn subscription_field(
    definition: &FieldDefinition,
    registration: &Registration,
    objects: &Arc<TypeTable>,
    hub: &Arc<SubscriptionHub>,
) -> SubscriptionField {
    let resolver = registration.resolver.clone();
    let name = registration.name.clone();
    let shape = Arc::new(definition.ty.node.clone());
    let objects = objects.clone();
    let hub = hub.clone();
    let mut field = SubscriptionField::new(
        definition.name.node.to_string(),
        type_ref(&definition.ty.node),
        move |context| {
            let resolver = resolver.clone();
            let name = name.clone();
            let shape = shape.clone();
            let objects = objects.clone();
            let hub = hub.clone();
            let arguments = arguments_json(&context);
            let extensions = request_extensions(&context);
            SubscriptionFieldFuture::new(async move {
                // Subscribe first: nothing published while the resolver runs is lost.
                let receiver = hub.subscribe(&name);
                let value = resolver
                    .resolve(ResolverCall {
                        kind: RootKind::Subscription,
                        field: name,
                        arguments: arguments.clone(),
                        extensions,
                    })
                    .await
                    .map_err(resolver_error)?;
                let metadata = match value {
                    serde_json::Value::Object(metadata) => metadata,
                    _ => arguments,
                };
                let events = futures_util::stream::unfold(Some(receiver), move |receiver| {
                    let metadata = metadata.clone();
                    async move {
                        let mut receiver = receiver?;
                        loop {
                            match receiver.recv().await {
                                Ok(message) if lets_through(&message, &metadata) => {
                                    return Some((Ok(message.value.clone()), Some(receiver)));
                                }
                                Ok(_) => {}
                                Err(RecvError::Lagged(missed)) => {
                                    let error = async_graphql::Error::new(format!(
                                        "the subscriber fell {missed} messages behind and was ended; subscribe again"
                                    ));
                                    return Some((Err(error), None));
                                }
                                Err(RecvError::Closed) => return None,
                            }
                        }
                    }
                });
                Ok(events.map(move |event| {
                    event.and_then(|value| {
                        objects
                            .complete(value, &shape)
                            .map(|value| value.unwrap_or(FieldValue::NULL))
                            .map_err(async_graphql::Error::new)
                    })
                }))
            })
        },
    );
    if let Some(description) = &definition.description {
        field = field.description(description.node.clone());
    }
    for argument in &definition.arguments {
        field = field.argument(input_value(&argument.node));
    }
    field
}

/// The extension that marks an error as raised by a non-null root field's resolver, so
/// that the endpoint can give it the field's path and null the data (then removes the
/// mark).
pub(crate) const RESOLVER_MARK: &str = "ferryResolverError";

fn resolver_error(message: String) -> async_graphql::Error {
    let mut error = async_graphql::Error::new(message);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set(RESOLVER_MARK, true);
    error.extensions = Some(extensions);
    error
}

fn arguments_json(context: &ResolverContext<'_>) -> serde_json::Map<String, serde_json::Value> {
    context
        .args
        .iter()
        .map(|(name, value)| {
            let json = value.as_value().clone().into_json().unwrap_or_default();
            (name.to_string(), json)
        })
        .collect()
}

/// A field of an object type: reads its value from the parent's JSON.
fn object_field(definition: &FieldDefinition, objects: &Arc<TypeTable>) -> Field {
    let name = definition.name.node.to_string();
    let shape = Arc::new(definition.ty.node.clone());
    let objects = objects.clone();
    let key = name.clone();
    let mut field = Field::new(name, type_ref(&definition.ty.node), move |context| {
        let value = context
            .parent_value
            .downcast_ref::<serde_json::Value>()
            .and_then(|parent| parent.get(&key))
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        match objects.complete(value, &shape) {
            Ok(value) => FieldFuture::Value(value),
            // As for root fields: a nullable one is null beside its error.
            Err(message) if shape.nullable => {
                let error = async_graphql::ServerError::new(message, Some(context.ctx.item.pos));
                context.ctx.add_error(context.ctx.set_error_path(error));
                FieldFuture::Value(None)
            }
            Err(message) => FieldFuture::new(async move {
                Err::<Option<FieldValue<'static>>, _>(async_graphql::Error::new(message))
            }),
        }
    });
    if let Some(description) = &definition.description {
        field = field.description(description.node.clone());
    }
    for argument in &definition.arguments {
        field = field.argument(input_value(&argument.node));
    }
    field
}

fn register_type(
    builder: SchemaBuilder,
    ty: &TypeDefinition,
    owner: &str,
    objects: &Arc<TypeTable>,
) -> Result<SchemaBuilder, SchemaError> {
    let name = ty.name.node.to_string();
    let description = ty.description.as_ref().map(|text| text.node.clone());
    Ok(match &ty.kind {
        TypeKind::Object(object) => {
            let mut built = Object::new(name);
            for field in &object.fields {
                built = built.field(object_field(&field.node, objects));
            }
            if let Some(description) = description {
                built = built.description(description);
            }
            builder.register(built)
        }
        TypeKind::InputObject(input) => {
            let mut built = InputObject::new(name);
            for field in &input.fields {
                built = built.field(input_value(&field.node));
            }
            if let Some(description) = description {
                built = built.description(description);
            }
            builder.register(built)
        }
        TypeKind::Enum(values) => {
            let mut built = Enum::new(name).items(
                values
                    .values
                    .iter()
                    .map(|value| value.node.value.node.to_string()),
            );
            if let Some(description) = description {
                built = built.description(description);
            }
            builder.register(built)
        }
        TypeKind::Scalar => {
            let mut built = Scalar::new(name);
            if let Some(description) = description {
                built = built.description(description);
            }
            builder.register(built)
        }
        TypeKind::Interface(_) | TypeKind::Union(_) => {
            return Err(SchemaError::Invalid(format!(
                "{name} (from {owner}) is an interface or union; these are not supported yet — use an object type"
            )));
        }
    })
}

fn input_value(definition: &async_graphql::parser::types::InputValueDefinition) -> InputValue {
    let mut value = InputValue::new(
        definition.name.node.to_string(),
        type_ref(&definition.ty.node),
    );
    if let Some(default) = &definition.default_value {
        value = value.default_value(default.node.clone());
    }
    if let Some(description) = &definition.description {
        value = value.description(description.node.clone());
    }
    value
}

fn type_ref(ty: &Type) -> TypeRef {
    let base = match &ty.base {
        BaseType::Named(name) => TypeRef::Named(name.to_string().into()),
        BaseType::List(inner) => TypeRef::List(Box::new(type_ref(inner))),
    };
    if ty.nullable {
        base
    } else {
        TypeRef::NonNull(Box::new(base))
    }
}
