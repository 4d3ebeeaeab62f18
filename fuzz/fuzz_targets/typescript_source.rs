//! TypeScript, TSX and JSX scripts: transpiling any text ends in JavaScript or in an error
//! placed on a line and column of the source, never a panic; and moving a stack's positions
//! through the line map of what came out never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // The source, then after a NUL a stack to map (when there is one).
    let (source, stack) = text.split_once('\0').unwrap_or((&text, "at f (app.ts:1:1)"));
    let name = ["app.ts", "app.tsx", "app.jsx", "app.mts"][usize::from(kind % 4)];
    let _ = ferry_js::fuzzing::transpile(name, source, kind & 4 != 0, stack);
});
