//! The values that cross between scripts and their databases, and a statement's outcome.

use std::fmt::Write as _;

/// A value bound to a placeholder or read from a column.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// `true` or `false`.
    Boolean(bool),
    /// Text (also dates, times, JSON and numbers too large for a double, read as text).
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl SqlValue {
    /// About how many bytes the value takes in a result (its JSON).
    pub(crate) fn weight(&self) -> usize {
        match self {
            SqlValue::Null | SqlValue::Boolean(_) => 5,
            SqlValue::Integer(_) | SqlValue::Real(_) => 8,
            SqlValue::Text(text) => text.len() + 2,
            SqlValue::Blob(bytes) => bytes.len() * 4,
        }
    }

    fn write_json(&self, out: &mut String) {
        match self {
            SqlValue::Null => out.push_str("null"),
            SqlValue::Integer(number) => {
                let _ = write!(out, "{number}");
            }
            SqlValue::Real(number) if number.is_finite() => {
                let _ = write!(out, "{number}");
            }
            SqlValue::Real(_) => out.push_str("null"),
            SqlValue::Boolean(value) => out.push_str(if *value { "true" } else { "false" }),
            SqlValue::Text(text) => write_json_string(out, text),
            SqlValue::Blob(bytes) => {
                out.push('[');
                for (i, byte) in bytes.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{byte}");
                }
                out.push(']');
            }
        }
    }
}

/// What one statement did: the rows it returned, and for changes how many rows changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlOutcome {
    /// The names of the result's columns.
    pub columns: Vec<String>,
    /// The rows, each a value per column.
    pub rows: Vec<Vec<SqlValue>>,
    /// Rows inserted, updated or deleted.
    pub changes: u64,
    /// The row id of the last insert (SQLite; PostgreSQL scripts use `RETURNING id`).
    pub last_row_id: Option<i64>,
    /// How long the database took, in milliseconds.
    pub duration_ms: f64,
}

impl SqlOutcome {
    /// The outcome as JSON: `{"columns":[…],"rows":[[…]],"changes":n,"lastRowId":n|null,
    /// "duration":ms}`, blobs as arrays of byte values.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + self.rows.len() * 32);
        self.write_json(&mut out);
        out
    }

    /// Appends [`SqlOutcome::to_json`] to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"columns\":[");
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(out, column);
        }
        out.push_str("],\"rows\":[");
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, value) in row.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                value.write_json(out);
            }
            out.push(']');
        }
        let _ = write!(out, "],\"changes\":{},\"lastRowId\":", self.changes);
        match self.last_row_id {
            Some(id) => {
                let _ = write!(out, "{id}");
            }
            None => out.push_str("null"),
        }
        let _ = write!(out, ",\"duration\":{:.3}}}", self.duration_ms);
    }
}

/// Counts what a result holds against the limits while it is read.
pub(crate) struct ResultBudget {
    max_rows: usize,
    max_bytes: usize,
    bytes: usize,
}

impl ResultBudget {
    pub(crate) fn new(limits: &super::SqlLimits) -> Self {
        ResultBudget {
            max_rows: limits.max_rows,
            max_bytes: limits.max_bytes,
            bytes: 0,
        }
    }

    /// Accounts for `row` as row number `count` (from 1).
    pub(crate) fn admit(&mut self, count: usize, row: &[SqlValue]) -> Result<(), super::SqlError> {
        if count > self.max_rows {
            return Err(super::SqlError::TooManyRows(self.max_rows));
        }
        self.bytes += row.iter().map(SqlValue::weight).sum::<usize>() + 2;
        if self.bytes > self.max_bytes {
            return Err(super::SqlError::TooLarge(self.max_bytes));
        }
        Ok(())
    }
}

fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_valid_json() {
        let outcome = SqlOutcome {
            columns: vec!["id".into(), "note \"x\"".into()],
            rows: vec![
                vec![SqlValue::Integer(1), SqlValue::Text("a\nb\u{1}".into())],
                vec![SqlValue::Real(f64::NAN), SqlValue::Blob(vec![0, 255])],
                vec![SqlValue::Boolean(true), SqlValue::Null],
            ],
            changes: 2,
            last_row_id: Some(7),
            duration_ms: 0.25,
        };
        let parsed: serde_json::Value = serde_json::from_str(&outcome.to_json()).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "columns": ["id", "note \"x\""],
                "rows": [[1, "a\nb\u{1}"], [null, [0, 255]], [true, null]],
                "changes": 2, "lastRowId": 7, "duration": 0.25
            })
        );
    }
}
