//! `/engine/assets`: a script's assets over HTTP, as aiwebengine offers them — list, read
//! (whole, a range of lines, or the lines matching a pattern), upload, edit by string
//! replacement guarded by the digest the edit was made from, delete, and upload many in
//! one transaction (`/engine/assets/batch`). Callers need the right to edit the script.

use std::path::Path;

use base64::Engine as _;
use ferry_core::{IntoResponse, Response};
use ferry_store::{AssetInfo, AssetStore, NewAsset};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bindings::{MAX_ASSET_BYTES, valid_asset_name};
use crate::management::{Management, json_response, server_error, value};
use crate::management_access::{Actor, Need};
use crate::request::ScriptRequest;
use crate::script::Script;

/// Most files in one batch.
pub(crate) const MAX_BATCH_FILES: usize = 256;
/// Most bytes (decoded) in one batch.
pub(crate) const MAX_BATCH_BYTES: usize = 10 * 1024 * 1024;
/// The largest request body the asset endpoints read: a full batch in base64 and its JSON.
pub(crate) const BODY_LIMIT: usize = MAX_BATCH_BYTES / 3 * 4 + 1024 * 1024;
/// Most lines a `grep=` read returns.
const MAX_MATCHES: usize = 500;
/// Longest `grep=` pattern, in characters.
const MAX_PATTERN_CHARS: usize = 1000;

/// What an asset request does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AssetOperation {
    /// GET: list a script's assets, or read one.
    Read,
    /// POST: store one.
    Upload,
    /// PATCH: replace a string in one.
    Edit,
    /// DELETE: remove one.
    Delete,
    /// POST `/engine/assets/batch`: store many at once.
    Batch,
}

impl Management {
    /// Runs an asset `operation` for `actor`.
    pub(crate) async fn assets(
        &self,
        actor: Actor,
        request: ScriptRequest,
        operation: AssetOperation,
    ) -> Response {
        let result = match operation {
            AssetOperation::Read => self.read_assets(&actor, &request).await,
            AssetOperation::Upload => self.upload_asset(&actor, &request).await,
            AssetOperation::Edit => self.edit_asset(&actor, &request).await,
            AssetOperation::Delete => self.delete_asset(&actor, &request).await,
            AssetOperation::Batch => self.upload_batch(&actor, &request).await,
        };
        result.unwrap_or_else(|refusal| refusal)
    }

    /// Checks that `actor` may change or read `script`'s assets: those of a running script
    /// its owners and grantees may; administrators also those of a script not running.
    async fn may_edit(&self, actor: &Actor, action: &str, script: &str) -> Result<(), Response> {
        if !actor.is_admin() && self.engine().script(script).is_none() {
            return Err(json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": format!("no script {script:?}: upload it first") }),
            ));
        }
        self.permit(actor, action, script, Need::Edit)
            .await
            .map(|_| ())
            .map_err(IntoResponse::into_response)
    }

    /// Runs `operation` on the store, answering its failure.
    async fn store<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&mut ferry_store::StoreConnection) -> Result<T, ferry_store::StoreError>
        + Send
        + 'static,
    ) -> Result<T, Response> {
        self.engine()
            .with_store(operation)
            .await
            .map_err(|error| server_error(&error))
    }

    async fn read_assets(
        &self,
        actor: &Actor,
        request: &ScriptRequest,
    ) -> Result<Response, Response> {
        let script = required(&request.query, "uri", "add ?uri= with the script's name")
            .map_err(bad_request)?;
        self.may_edit(actor, "read the assets of", &script).await?;
        let Some(name) = value(&request.query, "name") else {
            let key = script.clone();
            let assets = self.store(move |store| store.list_assets(&key)).await?;
            let listed: Vec<Value> = assets.iter().map(describe).collect();
            return Ok(json_response(
                StatusCode::OK,
                &json!({ "uri": script, "assets": listed }),
            ));
        };
        let view = View::of(&request.query).map_err(bad_request)?;
        let (key, asset_name) = (script.clone(), name.clone());
        let Some(asset) = self
            .store(move |store| store.asset(&key, &asset_name))
            .await?
        else {
            return Err(no_asset(&script, &name));
        };
        let mut body = view.render(&asset.content, &name).map_err(bad_request)?;
        body["uri"] = json!(script);
        body["name"] = json!(name);
        body["mimetype"] = json!(asset.info.mimetype);
        body["sha256"] = json!(asset.info.sha256);
        body["bytes"] = json!(asset.info.size);
        Ok(json_response(StatusCode::OK, &body))
    }

    async fn upload_asset(
        &self,
        actor: &Actor,
        request: &ScriptRequest,
    ) -> Result<Response, Response> {
        let upload: Upload = json_body(request).map_err(bad_request)?;
        self.may_edit(actor, "upload an asset to", &upload.uri)
            .await?;
        let content = upload.content().map_err(bad_request)?;
        check_asset(&upload.name, content.len()).map_err(bad_request)?;
        let mimetype = upload.mimetype.unwrap_or_else(|| guess_type(&upload.name));
        let (script, name) = (upload.uri.clone(), upload.name.clone());
        let stored = self
            .store(move |store| store.upsert_asset(&script, &name, &mimetype, &content))
            .await?;
        self.engine().asset_changed(&upload.uri, &upload.name);
        Ok(json_response(
            StatusCode::OK,
            &json!({ "success": true, "uri": upload.uri, "asset": describe(&stored) }),
        ))
    }

    async fn edit_asset(
        &self,
        actor: &Actor,
        request: &ScriptRequest,
    ) -> Result<Response, Response> {
        let edit: Edit = json_body(request).map_err(bad_request)?;
        self.may_edit(actor, "edit an asset of", &edit.uri).await?;
        if edit.old_string.is_empty() {
            return Err(bad_request(
                "old_string is empty: say what text to replace".into(),
            ));
        }
        let (script, name) = (edit.uri.clone(), edit.name.clone());
        let Some(asset) = self.store(move |store| store.asset(&script, &name)).await? else {
            return Err(no_asset(&edit.uri, &edit.name));
        };
        if asset.info.sha256 != edit.base_sha256 {
            return Err(changed_since(&asset.info));
        }
        let Ok(text) = String::from_utf8(asset.content) else {
            return Err(unprocessable(format!(
                "the asset {} is not UTF-8 text: upload it whole with POST instead",
                edit.name
            )));
        };
        let found = text.matches(edit.old_string.as_str()).count();
        if found == 0 {
            return Err(unprocessable(format!(
                "old_string does not occur in {}: read it again (GET with grep=) and copy the text exactly",
                edit.name
            )));
        }
        if found > 1 && !edit.replace_all {
            return Err(unprocessable(format!(
                "old_string occurs {found} times in {}: include more of the surrounding text, or send \"replace_all\": true",
                edit.name
            )));
        }
        let edited = if edit.replace_all {
            text.replace(&edit.old_string, &edit.new_string)
        } else {
            text.replacen(&edit.old_string, &edit.new_string, 1)
        };
        check_asset(&edit.name, edited.len()).map_err(bad_request)?;
        let (script, name, base) = (edit.uri.clone(), edit.name.clone(), edit.base_sha256);
        let stored = self
            .store(move |store| store.replace_asset_if(&script, &name, &base, edited.as_bytes()))
            .await?;
        let Some(stored) = stored else {
            return Err(json_response(
                StatusCode::CONFLICT,
                &json!({ "error": format!("{} changed while it was being edited: read it again and retry", edit.name) }),
            ));
        };
        self.engine().asset_changed(&edit.uri, &edit.name);
        let replacements = if edit.replace_all { found } else { 1 };
        Ok(json_response(
            StatusCode::OK,
            &json!({ "success": true, "uri": edit.uri, "replacements": replacements, "asset": describe(&stored) }),
        ))
    }

    async fn delete_asset(
        &self,
        actor: &Actor,
        request: &ScriptRequest,
    ) -> Result<Response, Response> {
        let fields: Vec<(String, String)> = match request.body.as_deref().map(str::trim) {
            Some(body) if body.starts_with('{') => {
                let target: Target = json_body(request).map_err(bad_request)?;
                vec![("uri".into(), target.uri), ("name".into(), target.name)]
            }
            _ if !request.form.is_empty() => request.form.clone(),
            _ => request.query.clone(),
        };
        let script = required(&fields, "uri", "send uri (the script) and name (the asset)")
            .map_err(bad_request)?;
        let name = required(
            &fields,
            "name",
            "send uri (the script) and name (the asset)",
        )
        .map_err(bad_request)?;
        self.may_edit(actor, "delete an asset of", &script).await?;
        let (key, asset) = (script.clone(), name.clone());
        let deleted = self
            .store(move |store| store.delete_asset(&key, &asset))
            .await?;
        if !deleted {
            return Err(no_asset(&script, &name));
        }
        self.engine().asset_changed(&script, &name);
        Ok(json_response(
            StatusCode::OK,
            &json!({ "success": true, "uri": script, "name": name }),
        ))
    }

    async fn upload_batch(
        &self,
        actor: &Actor,
        request: &ScriptRequest,
    ) -> Result<Response, Response> {
        let batch: Batch = json_body(request).map_err(bad_request)?;
        let script = match value(&request.query, "script").or(batch.script.clone()) {
            Some(script) => script,
            None => {
                return Err(bad_request(
                    "add ?script= with the script the assets belong to".into(),
                ));
            }
        };
        self.may_edit(actor, "upload assets to", &script).await?;
        let files = decode_batch(&batch).map_err(bad_request)?;
        let key = script.clone();
        let stored = self
            .store(move |store| {
                let assets: Vec<NewAsset<'_>> = files
                    .iter()
                    .map(|(name, mimetype, content)| NewAsset {
                        name,
                        mimetype,
                        content,
                    })
                    .collect();
                store.upsert_assets(&key, &assets)
            })
            .await?;
        for info in &stored {
            self.engine().asset_changed(&script, &info.name);
        }
        let reinit = match batch.reinit.as_deref().unwrap_or("after") {
            "never" => json!("skipped"),
            _ => self.reinit(&script).await,
        };
        let listed: Vec<Value> = stored.iter().map(describe).collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({ "success": true, "uri": script, "files": listed, "reinit": reinit }),
        ))
    }

    /// Loads `script` again (its `init()` runs once more, seeing the new assets).
    async fn reinit(&self, script: &str) -> Value {
        let Some(running) = self.engine().script(script) else {
            return json!("skipped: the script is not running");
        };
        let source = running.source().to_string();
        match self
            .engine()
            .load(Script::new(script, source.as_str()))
            .await
        {
            Ok(_) => json!("done"),
            Err(error) => json!({ "error": error.to_string() }),
        }
    }
}

/// The body of POST `/engine/assets`.
#[derive(Debug, Deserialize)]
struct Upload {
    uri: String,
    name: String,
    mimetype: Option<String>,
    content_base64: Option<String>,
    /// The content as text, instead of base64.
    content: Option<String>,
}

impl Upload {
    fn content(&self) -> Result<Vec<u8>, String> {
        match (&self.content_base64, &self.content) {
            (Some(encoded), None) => decode_base64(encoded, &self.name),
            (None, Some(text)) => Ok(text.as_bytes().to_vec()),
            _ => Err("send the content as one of content_base64 or content (text)".into()),
        }
    }
}

/// The body of PATCH `/engine/assets`.
#[derive(Debug, Deserialize)]
struct Edit {
    uri: String,
    name: String,
    base_sha256: String,
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: bool,
}

/// The body of DELETE `/engine/assets`, when it is JSON.
#[derive(Debug, Deserialize)]
struct Target {
    uri: String,
    name: String,
}

/// The body of POST `/engine/assets/batch`.
#[derive(Debug, Deserialize)]
struct Batch {
    /// The script, when not given as `?script=`.
    script: Option<String>,
    files: Vec<BatchFile>,
    /// `after` (the default): run the script's `init()` again; `never`.
    reinit: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BatchFile {
    name: String,
    content_base64: String,
    mimetype: Option<String>,
    sha256: Option<String>,
}

/// The files of `batch`, decoded and checked: names, sizes, digests, no name twice.
fn decode_batch(batch: &Batch) -> Result<Vec<(String, String, Vec<u8>)>, String> {
    if batch.files.len() > MAX_BATCH_FILES {
        return Err(format!(
            "a batch holds at most {MAX_BATCH_FILES} files; this one has {}: send it in parts",
            batch.files.len()
        ));
    }
    if let Some(mode) = batch.reinit.as_deref()
        && mode != "after"
        && mode != "never"
    {
        return Err(format!("reinit is \"after\" or \"never\", not {mode:?}"));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0usize;
    let mut files = Vec::with_capacity(batch.files.len());
    for file in &batch.files {
        if !seen.insert(file.name.as_str()) {
            return Err(format!("{} appears twice in the batch", file.name));
        }
        let content = decode_base64(&file.content_base64, &file.name)?;
        check_asset(&file.name, content.len())?;
        total += content.len();
        if total > MAX_BATCH_BYTES {
            return Err(format!(
                "a batch holds at most {MAX_BATCH_BYTES} bytes of content: send it in parts"
            ));
        }
        if let Some(expected) = &file.sha256 {
            let actual = ferry_store::sha256_hex(&content);
            if !expected.eq_ignore_ascii_case(&actual) {
                return Err(format!(
                    "{}: its content has SHA-256 {actual}, not the {expected} sent with it (nothing was stored)",
                    file.name
                ));
            }
        }
        let mimetype = file
            .mimetype
            .clone()
            .unwrap_or_else(|| guess_type(&file.name));
        files.push((file.name.clone(), mimetype, content));
    }
    Ok(files)
}

/// What part of an asset a read returns: all of it (base64), a range of lines, or the
/// lines matching a pattern (both as text).
struct View {
    lines: Option<(usize, Option<usize>)>,
    grep: Option<regex::Regex>,
}

impl View {
    fn of(query: &[(String, String)]) -> Result<View, String> {
        let lines = value(query, "lines")
            .map(|raw| parse_lines(&raw))
            .transpose()?;
        let grep = value(query, "grep").map(|raw| compile(&raw)).transpose()?;
        Ok(View { lines, grep })
    }

    fn render(&self, content: &[u8], name: &str) -> Result<Value, String> {
        if self.lines.is_none() && self.grep.is_none() {
            return Ok(json!({
                "encoding": "base64",
                "content": base64::engine::general_purpose::STANDARD.encode(content),
            }));
        }
        let text = std::str::from_utf8(content).map_err(|_| {
            format!("{name} is not UTF-8 text, so it has no lines: read it without lines= or grep=")
        })?;
        let lines: Vec<&str> = text.lines().collect();
        let (start, end) = self.lines.unwrap_or((1, None));
        if self.lines.is_some() && start > lines.len() {
            return Err(format!(
                "{name} has {} lines, so there is no line {start}",
                lines.len()
            ));
        }
        let end = end.unwrap_or(lines.len()).min(lines.len());
        let selected = lines.get(start - 1..end).unwrap_or_default();
        let mut body = match &self.grep {
            None => json!({
                "encoding": "utf8",
                "content": selected.join("\n"),
                "start_line": start,
                "end_line": end,
            }),
            Some(pattern) => {
                let matches: Vec<Value> = selected
                    .iter()
                    .enumerate()
                    .filter(|(_, line)| pattern.is_match(line))
                    .take(MAX_MATCHES + 1)
                    .map(|(offset, line)| json!({ "line": start + offset, "text": line }))
                    .collect();
                let truncated = matches.len() > MAX_MATCHES;
                let matches = &matches[..matches.len().min(MAX_MATCHES)];
                json!({
                    "encoding": "utf8",
                    "matches": matches,
                    "match_count": matches.len(),
                    "truncated": truncated,
                })
            }
        };
        body["total_lines"] = json!(lines.len());
        Ok(body)
    }
}

/// `lines=120-180`, `120-` (to the end) or `120`, counting from 1.
fn parse_lines(raw: &str) -> Result<(usize, Option<usize>), String> {
    let refuse = || format!("lines={raw:?}: write start-end, start- or start, counting from 1");
    let number = |text: &str| text.trim().parse::<usize>().ok().filter(|line| *line > 0);
    let (start, end) = match raw.split_once('-') {
        Some((start, "")) => (number(start).ok_or_else(refuse)?, None),
        Some((start, end)) => (
            number(start).ok_or_else(refuse)?,
            Some(number(end).ok_or_else(refuse)?),
        ),
        None => {
            let line = number(raw).ok_or_else(refuse)?;
            (line, Some(line))
        }
    };
    match end {
        Some(end) if end < start => Err(format!("lines={raw:?}: the end is before the start")),
        _ => Ok((start, end)),
    }
}

/// A `grep=` pattern, bounded in size so a request cannot make the server busy.
fn compile(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.is_empty() {
        return Err("grep= is empty: say what to search for".into());
    }
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!(
            "grep= is longer than {MAX_PATTERN_CHARS} characters"
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|error| format!("grep= is not a pattern: {error}"))
}

/// An asset as the API describes it.
fn describe(info: &AssetInfo) -> Value {
    json!({
        "name": info.name,
        "mimetype": info.mimetype,
        "size": info.size,
        "sha256": info.sha256,
        "created": info.created,
        "updated": info.updated,
    })
}

/// The media type of `name` from its extension (Ferry's table, as `ferry serve` sends it).
fn guess_type(name: &str) -> String {
    ferry_static::mime::content_type(Path::new(name))
        .to_str()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

fn check_asset(name: &str, len: usize) -> Result<(), String> {
    if !valid_asset_name(name) {
        return Err(format!(
            "{name:?} is not an asset name: a relative path such as logo.svg or css/site.css (no .., no leading /, at most 512 bytes)"
        ));
    }
    if len > MAX_ASSET_BYTES {
        return Err(format!(
            "{name} is {len} bytes; an asset holds at most {MAX_ASSET_BYTES}"
        ));
    }
    Ok(())
}

fn decode_base64(encoded: &str, name: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|error| format!("{name}: the content is not valid base64 ({error})"))
}

/// The request's JSON body as `T`, or why it is not one.
fn json_body<T: serde::de::DeserializeOwned>(request: &ScriptRequest) -> Result<T, String> {
    let body = request.body.as_deref().unwrap_or_default();
    serde_json::from_str(body).map_err(|error| format!("the JSON body does not fit: {error}"))
}

/// The non-empty field `name`, or `hint` as the refusal.
fn required(fields: &[(String, String)], name: &str, hint: &str) -> Result<String, String> {
    value(fields, name)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| hint.to_owned())
}

fn bad_request(error: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": error }))
}

fn unprocessable(error: String) -> Response {
    json_response(StatusCode::UNPROCESSABLE_ENTITY, &json!({ "error": error }))
}

fn no_asset(script: &str, name: &str) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": format!("{script} has no asset {name}") }),
    )
}

fn changed_since(current: &AssetInfo) -> Response {
    json_response(
        StatusCode::CONFLICT,
        &json!({
            "error": format!("{} changed since base_sha256 was read: read it again and redo the edit", current.name),
            "sha256": current.sha256,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ranges_read_as_written() {
        assert_eq!(parse_lines("120-180"), Ok((120, Some(180))));
        assert_eq!(parse_lines("7-"), Ok((7, None)));
        assert_eq!(parse_lines("3"), Ok((3, Some(3))));
        assert!(parse_lines("0-2").is_err());
        assert!(parse_lines("9-2").is_err());
        assert!(parse_lines("a").is_err());
    }

    #[test]
    fn views_cut_lines_and_find_matches() {
        let text = b"one\ntwo\nthree\nfour";
        let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        let whole = View::of(&[]).unwrap().render(text, "a.txt").unwrap();
        assert_eq!(whole["encoding"], "base64");
        let part = View::of(&query(&[("lines", "2-3")]))
            .unwrap()
            .render(text, "a.txt")
            .unwrap();
        assert_eq!(part["content"], "two\nthree");
        assert_eq!(part["total_lines"], 4);
        let found = View::of(&query(&[("grep", "^t")]))
            .unwrap()
            .render(text, "a.txt")
            .unwrap();
        assert_eq!(found["match_count"], 2);
        assert_eq!(found["matches"][1]["line"], 3);
        let past = View::of(&query(&[("lines", "9")]))
            .unwrap()
            .render(text, "a.txt");
        assert!(past.unwrap_err().contains("has 4 lines"));
        let binary = View::of(&query(&[("grep", "x")]))
            .unwrap()
            .render(&[0xff, 0xfe], "a.bin");
        assert!(binary.unwrap_err().contains("not UTF-8"));
        assert!(View::of(&query(&[("grep", "(")])).is_err());
    }

    #[test]
    fn batches_are_checked_before_anything_is_stored() {
        let file = |name: &str, content: &str, sha256: Option<&str>| BatchFile {
            name: name.into(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(content),
            mimetype: None,
            sha256: sha256.map(str::to_owned),
        };
        let batch = |files| Batch {
            script: None,
            files,
            reinit: None,
        };
        let good = decode_batch(&batch(vec![file("a.css", "x", None)])).unwrap();
        assert_eq!(good[0].1, "text/css; charset=utf-8");
        let twice = decode_batch(&batch(vec![
            file("a.css", "x", None),
            file("a.css", "y", None),
        ]));
        assert!(twice.unwrap_err().contains("twice"));
        let wrong = decode_batch(&batch(vec![file("a.css", "x", Some("00"))]));
        assert!(wrong.unwrap_err().contains("nothing was stored"));
        let outside = decode_batch(&batch(vec![file("../a.css", "x", None)]));
        assert!(outside.unwrap_err().contains("not an asset name"));
        let many = (0..=MAX_BATCH_FILES)
            .map(|i| file(&format!("{i}.txt"), "", None))
            .collect();
        assert!(
            decode_batch(&batch(many))
                .unwrap_err()
                .contains("at most 256")
        );
    }
}
