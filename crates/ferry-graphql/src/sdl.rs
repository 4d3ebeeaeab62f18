//! Reading the SDL of one registered field: either a bare field definition followed by the
//! types it needs (`"user(id: ID!): User type User { id: ID! name: String }"`), or root type
//! blocks (`"type Mutation { send(text: String!): String }"`).

use async_graphql::Positioned;
use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    FieldDefinition, TypeDefinition, TypeKind, TypeSystemDefinition,
};

use crate::RootKind;

/// What one field's SDL defines: the root field itself and the other types.
#[derive(Debug, Clone)]
pub(crate) struct Fragment {
    pub field: FieldDefinition,
    pub types: Vec<TypeDefinition>,
}

/// Why a field's SDL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the GraphQL SDL of {kind} {name:?} {problem}")]
pub struct SdlError {
    /// The root the field was registered on.
    pub kind: RootKind,
    /// The field's name.
    pub name: String,
    /// What is wrong, and where.
    pub problem: String,
}

/// Words that start a type-system definition.
const DEFINITION_KEYWORDS: [&str; 8] = [
    "type",
    "input",
    "enum",
    "scalar",
    "interface",
    "union",
    "extend",
    "schema",
];

/// Parses the SDL registered for the root field `name` of `kind`.
pub(crate) fn parse_fragment(kind: RootKind, name: &str, sdl: &str) -> Result<Fragment, SdlError> {
    let error = |problem: String| SdlError {
        kind,
        name: name.to_owned(),
        problem,
    };
    let (field_text, rest) = split_leading_field(sdl);
    let document = if field_text.trim().is_empty() {
        sdl.to_owned()
    } else {
        format!("type {} {{ {} }}\n{}", kind.type_name(), field_text, rest)
    };
    let parsed = parse_schema(&document).map_err(|parse| {
        error(format!(
            "does not parse: {parse} (write a field such as \"user(id: ID!): User\" followed by the types it uses, such as \"type User {{ id: ID! }}\")"
        ))
    })?;
    let mut field = None;
    let mut others = Vec::new();
    let mut types = Vec::new();
    for definition in parsed.definitions {
        let TypeSystemDefinition::Type(Positioned { node: ty, .. }) = definition else {
            return Err(error(
                "may define types only (no schema or directive definitions)".into(),
            ));
        };
        if is_root(&ty) {
            let TypeKind::Object(object) = &ty.kind else {
                return Err(error(format!(
                    "defines {} as something other than an object type",
                    ty.name.node
                )));
            };
            if ty.name.node.as_str() != kind.type_name() {
                return Err(error(format!(
                    "defines fields of {}; a {kind} goes in {}",
                    ty.name.node,
                    kind.type_name()
                )));
            }
            others.extend(
                object
                    .fields
                    .iter()
                    .filter(|candidate| candidate.node.name.node.as_str() != name)
                    .map(|candidate| candidate.node.name.node.to_string()),
            );
            if let Some(found) = object
                .fields
                .iter()
                .find(|candidate| candidate.node.name.node.as_str() == name)
            {
                field = Some(found.node.clone());
            }
        } else {
            types.push(ty);
        }
    }
    let field = field.ok_or_else(|| {
        error(format!(
            "does not define the field {name:?}; start it with \"{name}(...): Type\""
        ))
    })?;
    if let Some(other) = others.first() {
        return Err(error(format!(
            "defines the field {other:?} as well; register each field on its own"
        )));
    }
    Ok(Fragment { field, types })
}

fn is_root(ty: &TypeDefinition) -> bool {
    matches!(ty.name.node.as_str(), "Query" | "Mutation" | "Subscription")
}

/// Splits the SDL where its first top-level definition starts: before it, a bare field
/// definition (possibly empty).
fn split_leading_field(sdl: &str) -> (&str, &str) {
    let mut depth = 0usize;
    let mut in_string = false;
    let bytes = sdl.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'"' => in_string = !in_string,
            b'(' | b'{' | b'[' if !in_string => depth += 1,
            b')' | b'}' | b']' if !in_string => depth = depth.saturating_sub(1),
            _ if !in_string && depth == 0 && starts_word(sdl, index) => {
                let word: String = sdl[index..]
                    .chars()
                    .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                    .collect();
                if DEFINITION_KEYWORDS.contains(&word.as_str())
                    && sdl[index + word.len()..].starts_with(char::is_whitespace)
                {
                    return sdl.split_at(index);
                }
            }
            _ => {}
        }
        index += 1;
    }
    (sdl, "")
}

/// Whether a word starts at `index` (a letter after nothing, space, or a closing brace).
fn starts_word(text: &str, index: usize) -> bool {
    let here = text.as_bytes()[index];
    if !here.is_ascii_alphabetic() {
        return false;
    }
    index == 0 || {
        let before = text.as_bytes()[index - 1];
        before.is_ascii_whitespace() || before == b'}' || before == b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_field_with_its_types_parses() {
        let fragment = parse_fragment(
            RootKind::Query,
            "user",
            "user(id: ID!): User\ntype User { id: ID! name: String tags: [String!] }",
        )
        .unwrap();
        assert_eq!(fragment.field.name.node.as_str(), "user");
        assert_eq!(fragment.field.arguments.len(), 1);
        assert_eq!(fragment.types.len(), 1);
        assert_eq!(fragment.types[0].name.node.as_str(), "User");
    }

    #[test]
    fn root_type_blocks_and_plain_fields_parse() {
        let mutation = parse_fragment(
            RootKind::Mutation,
            "send",
            "type Mutation { send(text: String!): String }",
        )
        .unwrap();
        assert_eq!(mutation.field.name.node.as_str(), "send");
        assert!(mutation.types.is_empty());
        let plain = parse_fragment(RootKind::Query, "hello", "hello: String").unwrap();
        assert_eq!(plain.field.name.node.as_str(), "hello");
        // A default value with braces and a description with a keyword do not confuse it.
        let tricky = parse_fragment(
            RootKind::Query,
            "find",
            "\"find a type\" find(filter: Filter = {name: \"type x\"}): [Int] input Filter { name: String }",
        )
        .unwrap();
        assert_eq!(tricky.types[0].name.node.as_str(), "Filter");
    }

    #[test]
    fn mistakes_name_the_field_and_say_what_to_do() {
        let missing = parse_fragment(RootKind::Query, "user", "other: String").unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("does not define the field \"user\""),
            "{missing}"
        );
        let garbage = parse_fragment(RootKind::Query, "user", "user(: User").unwrap_err();
        assert!(
            garbage
                .to_string()
                .starts_with("the GraphQL SDL of query \"user\" does not parse"),
            "{garbage}"
        );
        let wrong_root =
            parse_fragment(RootKind::Query, "send", "type Mutation { send: String }").unwrap_err();
        assert!(
            wrong_root.to_string().contains("a query goes in Query"),
            "{wrong_root}"
        );
    }
}
