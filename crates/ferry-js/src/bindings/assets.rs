//! `assetStorage`: a script's named files — `listAssets`, `fetchAsset`, `upsertAsset`,
//! `deleteAsset` — kept in the store (shared by every node). As in aiwebengine, content
//! travels as base64 and results as JSON text or messages.

use std::rc::Rc;

use base64::Engine as _;
use ferry_store::{AssetInfo, AssetStore};
use rquickjs::{Ctx, Function, Object};

use super::storage::with_store;
use super::{ScriptHost, throw};

const API: &str = "assetStorage";

/// The largest asset accepted, in bytes.
pub(crate) const MAX_ASSET_BYTES: usize = 8 * 1024 * 1024;

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let list = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>| -> rquickjs::Result<String> {
            let assets = with_store(&ctx, &owner, API, |store, script| store.list_assets(script))?;
            let listed: Vec<serde_json::Value> = assets.iter().map(describe).collect();
            Ok(serde_json::Value::Array(listed).to_string())
        },
    )?;
    host.set("assetList", list)?;

    let owner = script.clone();
    let fetch = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, name: String| -> rquickjs::Result<Option<String>> {
            check_name(&ctx, &name)?;
            let asset = with_store(&ctx, &owner, API, |store, script| {
                store.asset(script, &name)
            })?;
            Ok(asset.map(|asset| base64::engine::general_purpose::STANDARD.encode(asset.content)))
        },
    )?;
    host.set("assetFetch", fetch)?;

    let owner = script.clone();
    let upsert = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, name: String, mimetype: String, content: String| {
            check_name(&ctx, &name)?;
            check_mimetype(&ctx, &mimetype)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .map_err(|error| {
                    throw(
                        &ctx,
                        &format!("{API}.upsertAsset: the content is not valid base64 ({error})"),
                    )
                })?;
            if bytes.len() > MAX_ASSET_BYTES {
                return Err(throw(
                    &ctx,
                    &format!(
                        "{API}.upsertAsset: the asset is {} bytes; the limit is {MAX_ASSET_BYTES}",
                        bytes.len()
                    ),
                ));
            }
            let stored = with_store(&ctx, &owner, API, |store, script| {
                store.upsert_asset(script, &name, &mimetype, &bytes)
            })?;
            owner.host.asset_changed(&owner.name, &name);
            Ok::<_, rquickjs::Error>(describe(&stored).to_string())
        },
    )?;
    host.set("assetUpsert", upsert)?;

    let owner = script.clone();
    let delete = Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String| {
        check_name(&ctx, &name)?;
        let deleted = with_store(&ctx, &owner, API, |store, script| {
            store.delete_asset(script, &name)
        })?;
        owner.host.asset_changed(&owner.name, &name);
        Ok::<_, rquickjs::Error>(deleted)
    })?;
    host.set("assetDelete", delete)
}

/// An asset as scripts see it: aiwebengine's fields, and its SHA-256.
fn describe(info: &AssetInfo) -> serde_json::Value {
    serde_json::json!({
        "uri": info.name,
        "name": info.name,
        "mimetype": info.mimetype,
        "size": info.size,
        "sha256": info.sha256,
        "created_at": iso8601(info.created),
        "updated_at": iso8601(info.updated),
    })
}

/// Seconds since the Unix epoch as ISO 8601 in UTC.
fn iso8601(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        Err(_) => String::new(),
    }
}

/// Asset names are relative paths: no empty or `.`/`..` segment, no leading `/`, no
/// backslash or control character, at most 512 bytes.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && !name.starts_with('/')
        && !name.chars().any(|c| c.is_control() || c == '\\')
        && name
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

fn check_name(ctx: &Ctx<'_>, name: &str) -> rquickjs::Result<()> {
    if valid_name(name) {
        return Ok(());
    }
    Err(throw(
        ctx,
        &format!(
            "{API}: the asset name {name:?} is not allowed: a relative path such as \"logo.svg\" or \"css/site.css\" (no \"..\", at most 512 bytes)"
        ),
    ))
}

fn check_mimetype(ctx: &Ctx<'_>, mimetype: &str) -> rquickjs::Result<()> {
    let valid = mimetype
        .split_once('/')
        .is_some_and(|(kind, sub)| !kind.is_empty() && !sub.is_empty())
        && mimetype.len() <= 255
        && mimetype
            .bytes()
            .all(|byte| byte.is_ascii_graphic() || byte == b' ');
    if valid {
        return Ok(());
    }
    Err(throw(
        ctx,
        &format!("{API}.upsertAsset: {mimetype:?} is not a media type such as \"image/png\""),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_are_relative_paths() {
        for good in ["logo.svg", "css/site.css", "a b/ü.txt", ".well-known"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
            &"x".repeat(513),
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn times_read_as_iso_8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_764_870_000), "2025-12-04T17:40:00Z");
    }
}
