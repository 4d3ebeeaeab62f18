//! The SQL scripts send to their databases: the guard reads any text without a panic, for
//! both dialects, and what it lets through stays let through (its rewritten text — the
//! placeholders in the back end's spelling — passes the guard again unchanged).
#![no_main]

use ferry_store::guard::{SqlDialect, check, check_all};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for dialect in [SqlDialect::Sqlite, SqlDialect::Postgres] {
        if let Ok(checked) = check(dialect, &text) {
            let again = check(dialect, &checked.sql);
            assert!(again.is_ok(), "{text:?} passed as {:?}, then not: {again:?}", checked.sql);
        }
        let _ = check_all(dialect, &text);
    }
});
