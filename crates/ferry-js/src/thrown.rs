//! Describing what a script threw (or a promise rejected with) for log lines, error pages
//! and load errors. Reading an exception may run the script's code (a getter on `message`,
//! a `toJSON`), so callers describe one only while the call's deadline is armed; a part
//! that cannot be read is left out rather than failing the description.

use std::sync::Arc;

use http::StatusCode;
use rquickjs::{Ctx, FromJs, Object, Value};

use crate::error::ScriptError;

/// An exception thrown by a script, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thrown {
    /// `Name: message`, as JavaScript prints it.
    pub message: String,
    pub stack: Option<String>,
    /// A status the script asked for by throwing (`request.auth.requireAuth()` → 401).
    pub status: Option<StatusCode>,
}

impl Thrown {
    /// Describes `error`, taking the pending exception from `ctx` when it is one.
    pub(crate) fn catch(ctx: &Ctx<'_>, error: &rquickjs::Error) -> Self {
        if !error.is_exception() {
            return Thrown {
                message: error.to_string(),
                stack: None,
                status: None,
            };
        }
        Self::from_value(&ctx.catch())
    }

    /// Describes a thrown (or rejected) value.
    pub(crate) fn from_value(value: &Value<'_>) -> Self {
        if let Some(exception) = value.as_exception() {
            let name: Option<String> = read(exception, "name");
            let message: String = read(exception, "message").unwrap_or_default();
            let status = read::<Option<u16>>(exception, "ferryStatus")
                .flatten()
                .and_then(|code| StatusCode::from_u16(code).ok());
            // Positions in transpiled files moved to their TypeScript lines.
            let stack: Option<String> = read::<String>(exception, "stack")
                .map(|stack| crate::source_lines::rewrite(value.ctx(), stack));
            return Thrown {
                message: match name {
                    Some(name) if !name.is_empty() => format!("{name}: {message}"),
                    _ => message,
                },
                stack: stack.filter(|stack| !stack.trim().is_empty()),
                status,
            };
        }
        let text = if let Some(text) = value.as_string() {
            text.to_string().unwrap_or_default()
        } else if value.is_null() {
            "null".to_owned()
        } else if value.is_undefined() {
            "undefined".to_owned()
        } else {
            json_text(value).unwrap_or_else(|| format!("a value of type {}", value.type_name()))
        };
        Thrown {
            message: format!("uncaught {text}"),
            stack: None,
            status: None,
        }
    }

    /// The line in `script` the stack points at first.
    pub(crate) fn line_in(&self, script: &str) -> Option<u32> {
        line_in_stack(self.stack.as_deref()?, script)
    }

    /// This exception as a load error of `script`.
    pub(crate) fn into_script_error(self, script: &Arc<str>) -> ScriptError {
        ScriptError {
            line: self.line_in(script),
            script: script.clone(),
            message: self.message,
        }
    }

    /// Whether this is the interpreter's own out-of-memory error.
    pub(crate) fn is_out_of_memory(&self) -> bool {
        self.message.contains("out of memory")
    }
}

/// The first line of `file` that `stack` names (as `file:LINE`).
pub(crate) fn line_in_stack(stack: &str, file: &str) -> Option<u32> {
    let needle = format!("{file}:");
    stack.match_indices(&needle).find_map(|(at, _)| {
        let digits: String = stack[at + needle.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

/// `object[key]` as a `T`; `None` when reading it throws (the exception is cleared) or
/// gives another type.
fn read<'js, T: FromJs<'js>>(object: &Object<'js>, key: &str) -> Option<T> {
    match object.get::<_, T>(key) {
        Ok(value) => Some(value),
        Err(error) => {
            if error.is_exception() {
                object.ctx().catch();
            }
            None
        }
    }
}

/// `JSON.stringify(value)`, when it gives text; an exception it throws (a cycle, a
/// `toJSON` that throws) is cleared.
pub(crate) fn json_text(value: &Value<'_>) -> Option<String> {
    match value.ctx().json_stringify(value.clone()) {
        Ok(text) => text.and_then(|text| text.to_string().ok()),
        Err(error) => {
            if error.is_exception() {
                value.ctx().catch();
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_found_in_the_stack() {
        let thrown = Thrown {
            message: "ReferenceError: x is not defined".into(),
            stack: Some(
                "    at handler (apps/app.js:12:5)\n    at <eval> (apps/app.js:20)\n".into(),
            ),
            status: None,
        };
        assert_eq!(thrown.line_in("apps/app.js"), Some(12));
        assert_eq!(thrown.line_in("other.js"), None);
    }

    #[test]
    fn a_throwing_getter_on_the_error_leaves_its_part_out() {
        let runtime = rquickjs::Runtime::new().unwrap();
        let context = rquickjs::Context::full(&runtime).unwrap();
        context.with(|ctx| {
            let value: Value = ctx
                .eval(
                    r#"(() => { const e = new TypeError("bad"); Object.defineProperty(e, "stack", { get() { throw 1; } }); return e; })()"#,
                )
                .unwrap();
            let thrown = Thrown::from_value(&value);
            assert_eq!(thrown.message, "TypeError: bad");
            assert_eq!(thrown.stack, None);
            // Nothing is left pending: the next evaluation works.
            assert_eq!(ctx.eval::<i32, _>("1 + 1").unwrap(), 2);
            let cyclic: Value = ctx.eval("(() => { const a = {}; a.a = a; return a; })()").unwrap();
            assert_eq!(Thrown::from_value(&cyclic).message, "uncaught a value of type object");
            assert_eq!(ctx.eval::<i32, _>("2 + 2").unwrap(), 4);
        });
    }
}
