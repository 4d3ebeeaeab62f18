//! The line maps of the transpiled files each JavaScript context evaluated, so that what a
//! TypeScript script throws names its TypeScript lines. QuickJS runtimes stay on their
//! worker thread, so the record is per thread, keyed by context; a script version's
//! context forgets its maps when it is dropped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use rquickjs::Ctx;

use crate::transpile::LineMap;

/// A context's identity while it lives.
type ContextKey = usize;

/// The transpiled files one context evaluated: the name stacks show, and its map.
type ContextFiles = Vec<(Arc<str>, Arc<LineMap>)>;

thread_local! {
    static MAPS: RefCell<HashMap<ContextKey, ContextFiles>> = RefCell::new(HashMap::new());
}

/// The key of the context `ctx` belongs to.
fn key_of(ctx: &Ctx<'_>) -> ContextKey {
    ctx.as_raw().as_ptr() as ContextKey
}

/// Records that `file` (the name stacks show) was transpiled with `lines` in `ctx`'s
/// context.
pub(crate) fn remember(ctx: &Ctx<'_>, file: &str, lines: Arc<LineMap>) {
    MAPS.with(|maps| {
        let mut maps = maps.borrow_mut();
        let files = maps.entry(key_of(ctx)).or_default();
        files.retain(|(name, _)| &**name != file);
        files.push((Arc::from(file), lines));
    });
}

/// Forgets the maps of `context`, which is going away.
pub(crate) fn forget(context: &rquickjs::Context) {
    let key = context.as_raw().as_ptr() as ContextKey;
    // During thread teardown the record may already be gone: nothing to forget then.
    let _ = MAPS.try_with(|maps| maps.borrow_mut().remove(&key));
}

/// `text` with the positions in transpiled files of `ctx`'s context moved to their
/// sources' positions.
pub(crate) fn rewrite(ctx: &Ctx<'_>, text: String) -> String {
    MAPS.with(|maps| {
        let maps = maps.borrow();
        let Some(files) = maps.get(&key_of(ctx)) else {
            return text;
        };
        files
            .iter()
            .fold(text, |text, (file, lines)| lines.rewrite(&text, file))
    })
}
