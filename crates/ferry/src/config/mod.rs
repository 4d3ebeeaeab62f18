//! Layered settings for `ferry serve` and `ferry run`: defaults < config file < `FERRY_*`
//! environment < command line.
//!
//! Every setting is defined once, as a flag of [`ServeArgs`] or [`RunArgs`]. A config file
//! key is the flag's name (`port`, `no_listing`, `tls_cert`; `-` and `_` alike), and its
//! environment variable is `FERRY_` and the name in capitals (`FERRY_PORT`). File and environment values are turned
//! into the flags they stand for and placed before the real command line, so clap parses all
//! three with the same value parsers and a later source overrides an earlier one. Each value
//! is checked on its own first, so a bad one is reported with its file and line, or its
//! variable.

mod file;
mod sign_in;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command, CommandFactory, FromArgMatches};
use ferry_auth::ResolvedAuthConfig;
use ferry_static::rules::HeaderRule;
use serde_json::Value;

pub(crate) use file::{CONFIG_NAMES, ConfigFile};

use crate::cli::{Cli, RunArgs, ServeArgs};

/// Flags that no config file or variable sets: where the config comes from, the
/// positional arguments (`serve`'s directory is set in a file with `dir`, relative to the
/// file; `run`'s app only on the command line), and clap's own.
const NOT_FROM_SOURCES: [&str; 5] = ["config", "dir", "app", "help", "version"];

/// `ferry serve` settings from every source, merged.
#[derive(Debug)]
pub(crate) struct ServeSettings {
    /// The merged flags.
    pub args: ServeArgs,
    /// The config file that was read, if any (never served).
    pub config_file: Option<PathBuf>,
    /// Per-glob header rules from the config file.
    pub header_rules: Vec<HeaderRule>,
    /// The config file's `[auth]` table.
    pub sign_in: ResolvedAuthConfig,
}

/// Merges defaults, the config file, `FERRY_*` variables and the command line `raw` (which
/// must hold a `serve` command that clap has already accepted).
pub(crate) fn serve_settings(raw: &[OsString]) -> anyhow::Result<ServeSettings> {
    serve_settings_with(raw, &|name| std::env::var_os(name))
}

fn serve_settings_with(
    raw: &[OsString],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<ServeSettings> {
    let cli = Cli::command().try_get_matches_from(raw)?;
    let cli_serve = cli
        .subcommand_matches("serve")
        .context("expected the serve command")?;
    let dir_from_cli = cli_serve.value_source("dir") == Some(ValueSource::CommandLine);
    let search_dir = if dir_from_cli {
        cli_serve
            .get_one::<PathBuf>("dir")
            .cloned()
            .unwrap_or_default()
    } else {
        env("FERRY_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from)
    };
    let file = find_config_file(cli_serve, &search_dir, env)?;
    let mut positional = Vec::new();
    if !dir_from_cli {
        if let Some(dir) = env("FERRY_DIR") {
            positional.extend([OsString::from("--"), dir]);
        } else if let Some(dir) = file.as_ref().and_then(file_dir) {
            positional.extend([OsString::from("--"), dir?.into_os_string()]);
        }
    }
    let crate::cli::Command::Serve(args) = merge(raw, "serve", file.as_ref(), positional, env)?
    else {
        bail!("expected the serve command");
    };
    Ok(ServeSettings {
        args,
        sign_in: sign_in_table(file.as_ref(), env)?,
        config_file: file.as_ref().map(|f| f.path.clone()),
        header_rules: file.map(|f| f.header_rules).unwrap_or_default(),
    })
}

/// `ferry run` settings from every source, merged.
#[derive(Debug)]
pub(crate) struct RunSettings {
    /// The merged flags.
    pub args: RunArgs,
    /// The config file that was read, if any (never served).
    pub config_file: Option<PathBuf>,
    /// Per-glob header rules for the files of `--static`.
    pub header_rules: Vec<HeaderRule>,
    /// The config file's `[auth]` table.
    pub sign_in: ResolvedAuthConfig,
}

/// Merges defaults, the config file (`--config`, or a `ferry.toml` beside the app),
/// `FERRY_*` variables and the command line `raw` of a `run` command.
pub(crate) fn run_settings(raw: &[OsString]) -> anyhow::Result<RunSettings> {
    run_settings_with(raw, &|name| std::env::var_os(name))
}

fn run_settings_with(
    raw: &[OsString],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<RunSettings> {
    let cli = Cli::command().try_get_matches_from(raw)?;
    let cli_run = cli
        .subcommand_matches("run")
        .context("expected the run command")?;
    let app = cli_run
        .get_one::<PathBuf>("app")
        .cloned()
        .unwrap_or_default();
    let search_dir = if app.is_dir() {
        app.clone()
    } else {
        app.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let file = find_config_file(cli_run, &search_dir, env)?;
    let crate::cli::Command::Run(args) = merge(raw, "run", file.as_ref(), Vec::new(), env)? else {
        bail!("expected the run command");
    };
    if let Some(file) = &file
        && !file.header_rules.is_empty()
        && args.static_dir.is_none()
    {
        bail!(
            "{}: `headers` (per-path header rules) applies to the files of --static, and this app serves none; add `static = \"DIR\"` or remove the rules",
            file.path.display()
        );
    }
    Ok(RunSettings {
        args,
        sign_in: sign_in_table(file.as_ref(), env)?,
        header_rules: file
            .as_ref()
            .map(|f| f.header_rules.clone())
            .unwrap_or_default(),
        config_file: file.map(|f| f.path),
    })
}

/// The `[auth]` table of `file`, if it has one.
fn sign_in_table(
    file: Option<&ConfigFile>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<ResolvedAuthConfig> {
    let Some((file, (table, line))) = file.and_then(|file| Some((file, file.auth_table.as_ref()?)))
    else {
        return Ok(ResolvedAuthConfig::default());
    };
    let dir = file.path.parent().unwrap_or(Path::new("."));
    sign_in::parse(table, &file.position(*line), dir, env)
}

/// Parses `raw` again with the settings of `file` and the `FERRY_*` variables placed as
/// flags before the command line's own, and `positional` after them.
fn merge(
    raw: &[OsString],
    name: &str,
    file: Option<&ConfigFile>,
    positional: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<crate::cli::Command> {
    let subcommand = Cli::command()
        .find_subcommand(name)
        .with_context(|| format!("the {name} command exists"))?
        .clone();
    let mut synthetic: Vec<OsString> = Vec::new();
    if let Some(file) = file {
        for setting in &file.settings {
            synthetic.extend(file_setting(&subcommand, name, file, setting)?);
        }
    }
    for arg in subcommand.get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_FROM_SOURCES.contains(&id) {
            continue;
        }
        let variable = env_name(id);
        if let Some(value) = env(&variable) {
            synthetic.extend(env_setting(&subcommand, arg, &variable, &value)?);
        }
    }
    let Some(at) = raw.iter().position(|a| a == name) else {
        bail!("expected the {name} command");
    };
    let mut argv: Vec<OsString> = raw[..=at].to_vec();
    argv.extend(synthetic);
    argv.extend(raw[at + 1..].iter().cloned());
    argv.extend(positional);

    let layered = Cli::command().mut_subcommand(name, |command| command.args_override_self(true));
    let merged = layered.try_get_matches_from(&argv).map_err(|error| {
        anyhow!(
            "{} (settings from the config file and FERRY_* variables count as flags)",
            first_line(&error.to_string())
        )
    })?;
    Ok(Cli::from_arg_matches(&merged)?.command)
}

/// The config file: `--config FILE` or `FERRY_CONFIG`, else a `ferry.toml` (or `.yaml`,
/// `.yml`, `.json`) in `dir`.
fn find_config_file(
    matches: &ArgMatches,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<Option<ConfigFile>> {
    let explicit = matches
        .get_one::<PathBuf>("config")
        .cloned()
        .or_else(|| env("FERRY_CONFIG").map(PathBuf::from));
    if let Some(path) = explicit {
        return ConfigFile::load(&path).map(Some);
    }
    let found: Vec<PathBuf> = CONFIG_NAMES
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.is_file())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => ConfigFile::load(one).map(Some),
        several => bail!(
            "several config files in {}: {}; keep one, or choose with --config",
            dir.display(),
            several
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The `dir` setting of a config file, relative to the file's own directory.
fn file_dir(file: &ConfigFile) -> Option<anyhow::Result<PathBuf>> {
    let setting = file.settings.iter().find(|s| s.key == "dir")?;
    Some(match &setting.value {
        Value::String(dir) => {
            let base = file.path.parent().unwrap_or(Path::new("."));
            Ok(base.join(dir))
        }
        _ => Err(anyhow!(
            "{}: `dir`: expected a path as a string",
            file.position(setting.line)
        )),
    })
}

/// The flags one config file setting stands for.
fn file_setting(
    command: &Command,
    name: &str,
    file: &ConfigFile,
    setting: &file::Setting,
) -> anyhow::Result<Vec<OsString>> {
    let at = || file.position(setting.line);
    let key = setting.key.replace('-', "_");
    if key == "dir" {
        return Ok(Vec::new());
    }
    if key == "config" {
        bail!("{}: `config` cannot be set in a config file", at());
    }
    let Some(arg) = find_arg(command, &key) else {
        let hint = closest_setting(command, &key)
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        bail!(
            "{}: unknown setting `{}`{hint}; the settings are the flags of `ferry {name} --help`",
            at(),
            setting.key
        );
    };
    let values = file_values(arg, &setting.value)
        .map_err(|reason| anyhow!("{}: `{}`: {reason}", at(), setting.key))?;
    to_flags(command, arg, values)
        .map_err(|reason| anyhow!("{}: `{}`: {reason}", at(), setting.key))
}

/// The textual values of a file setting: a switch takes `true`/`false`, a repeatable flag
/// takes a value or a list, any other flag one value.
fn file_values(arg: &Arg, value: &Value) -> Result<Values, String> {
    if is_switch(arg) {
        return match value {
            Value::Bool(on) => Ok(Values::Switch(*on)),
            _ => Err("is a switch: use true or false".to_owned()),
        };
    }
    let scalar = |value: &Value| match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Null => Err("has no value".to_owned()),
        Value::Array(_) | Value::Object(_) => Err("expects a single value here".to_owned()),
    };
    match value {
        Value::Array(items) if is_repeatable(arg) => items
            .iter()
            .map(scalar)
            .collect::<Result<_, _>>()
            .map(Values::Many),
        Value::Array(_) => Err("takes one value, not a list".to_owned()),
        other => scalar(other).map(|one| Values::Many(vec![one])),
    }
}

/// The flags one `FERRY_*` variable stands for.
fn env_setting(
    command: &Command,
    arg: &Arg,
    name: &str,
    value: &OsStr,
) -> anyhow::Result<Vec<OsString>> {
    let text = value
        .to_str()
        .ok_or_else(|| anyhow!("{name}: the value is not valid UTF-8"))?;
    let values = if is_switch(arg) {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Values::Switch(true),
            "" | "0" | "false" | "no" | "off" => Values::Switch(false),
            _ => bail!("{name}: expected true or false, got '{text}'"),
        }
    } else {
        Values::Many(vec![text.to_owned()])
    };
    to_flags(command, arg, values).map_err(|reason| anyhow!("{name}: {reason}"))
}

enum Values {
    Switch(bool),
    Many(Vec<String>),
}

/// Checks each value with the flag's own parser and spells it as `--flag=value`.
fn to_flags(command: &Command, arg: &Arg, values: Values) -> Result<Vec<OsString>, String> {
    let long = arg
        .get_long()
        .ok_or_else(|| "cannot be set outside the command line".to_owned())?;
    match values {
        Values::Switch(true) => Ok(vec![OsString::from(format!("--{long}"))]),
        Values::Switch(false) => Ok(Vec::new()),
        Values::Many(values) => values
            .into_iter()
            .map(|value| {
                let flag = OsString::from(format!("--{long}={value}"));
                check_value(command, &flag)?;
                Ok(flag)
            })
            .collect(),
    }
}

/// Parses `flag` alone with the command's own value parsers and reports a value it
/// rejects. Other complaints (a flag that needs another one, say) are left to the parse of
/// all sources together.
fn check_value(command: &Command, flag: &OsStr) -> Result<(), String> {
    use clap::error::ErrorKind;
    match command
        .clone()
        .no_binary_name(true)
        .try_get_matches_from([flag])
    {
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8
            ) =>
        {
            Err(first_line(&error.to_string()))
        }
        _ => Ok(()),
    }
}

fn find_arg<'a>(command: &'a Command, key: &str) -> Option<&'a Arg> {
    command.get_arguments().find(|arg| {
        let id = arg.get_id().as_str();
        !NOT_FROM_SOURCES.contains(&id) && (id == key || arg.get_long() == Some(key))
    })
}

fn is_switch(arg: &Arg) -> bool {
    !arg.get_action().takes_values()
}

fn is_repeatable(arg: &Arg) -> bool {
    matches!(arg.get_action(), clap::ArgAction::Append)
}

/// `FERRY_` and the flag's name in capitals.
fn env_name(id: &str) -> String {
    format!("FERRY_{}", id.to_ascii_uppercase())
}

/// clap's message without its `error: ` prefix and usage lines.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// The setting name nearest to a misspelt `key` (edit distance at most 2).
fn closest_setting(command: &Command, key: &str) -> Option<String> {
    command
        .get_arguments()
        .map(|arg| arg.get_id().as_str())
        .filter(|id| !NOT_FROM_SOURCES.contains(id))
        .map(|id| (edit_distance(id, key), id))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, id)| id.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(dir: &Path, cli: &[&str], env: &[(&str, &str)]) -> anyhow::Result<ServeSettings> {
        let mut raw: Vec<OsString> = vec!["ferry".into(), "serve".into(), dir.into()];
        raw.extend(cli.iter().map(OsString::from));
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        serve_settings_with(&raw, &|name| env.get(name).cloned())
    }

    fn dir_with(name: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
        dir
    }

    #[test]
    fn no_file_and_no_variables_give_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let settings = run(dir.path(), &[], &[]).unwrap();
        assert_eq!(settings.args.listen.port, 8080);
        assert!(settings.config_file.is_none());
    }

    #[test]
    fn precedence_is_file_then_environment_then_command_line() {
        let dir = dir_with("ferry.toml", "port = 9001\nspa = true\ncache = 60\n");
        let from_file = run(dir.path(), &[], &[]).unwrap();
        assert_eq!(
            (
                from_file.args.listen.port,
                from_file.args.files.spa,
                from_file.args.files.cache
            ),
            (9001, true, Some(60))
        );

        let from_env = run(dir.path(), &[], &[("FERRY_PORT", "9002")]).unwrap();
        assert_eq!(from_env.args.listen.port, 9002);
        assert_eq!(from_env.args.files.cache, Some(60));

        let from_cli = run(dir.path(), &["--port", "9003"], &[("FERRY_PORT", "9002")]).unwrap();
        assert_eq!(from_cli.args.listen.port, 9003);
    }

    #[test]
    fn switches_and_lists_come_from_every_format() {
        let yaml = dir_with(
            "ferry.yaml",
            "cors: true\nheader:\n  - 'X-A: 1'\n  - 'X-B: 2'\nno-listing: true\n",
        );
        let settings = run(yaml.path(), &["-H", "X-C: 3"], &[]).unwrap();
        assert!(settings.args.cors && settings.args.files.no_listing);
        let names: Vec<&str> = settings
            .args
            .files
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["x-a", "x-b", "x-c"]);

        let json = dir_with(
            "ferry.json",
            "{\"hidden\": true, \"404\": \"missing.html\"}",
        );
        let settings = run(json.path(), &[], &[]).unwrap();
        assert!(settings.args.files.hidden);
        assert_eq!(
            settings.args.files.not_found_page.as_deref(),
            Some(Path::new("missing.html"))
        );
    }

    #[test]
    fn unknown_keys_name_the_file_line_and_a_suggestion() {
        let dir = dir_with("ferry.toml", "port = 9000\nprot = 9001\n");
        let error = run(dir.path(), &[], &[]).unwrap_err().to_string();
        assert!(
            error.contains("ferry.toml:2: unknown setting `prot`"),
            "{error}"
        );
        assert!(error.contains("did you mean `port`?"), "{error}");
    }

    #[test]
    fn bad_values_name_the_file_line_and_the_problem() {
        let dir = dir_with("ferry.toml", "\n\nport = \"eighty\"\n");
        let error = run(dir.path(), &[], &[]).unwrap_err().to_string();
        assert!(
            error.contains("ferry.toml:3: `port`: invalid value 'eighty'"),
            "{error}"
        );

        let dir = dir_with("ferry.toml", "cors = \"yes\"\n");
        let error = run(dir.path(), &[], &[]).unwrap_err().to_string();
        assert!(
            error.contains("ferry.toml:1: `cors`: is a switch"),
            "{error}"
        );

        let dir = dir_with("ferry.toml", "port = [1, 2]\n");
        let error = run(dir.path(), &[], &[]).unwrap_err().to_string();
        assert!(error.contains("takes one value, not a list"), "{error}");
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let error = run(dir.path(), &[], &[("FERRY_PORT", "x")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("FERRY_PORT: invalid value 'x'"),
            "{error}"
        );
        let error = run(dir.path(), &[], &[("FERRY_CORS", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("FERRY_CORS: expected true or false"),
            "{error}"
        );
        let on = run(dir.path(), &[], &[("FERRY_CORS", "1")]).unwrap();
        assert!(on.args.cors);
    }

    #[test]
    fn an_explicit_config_file_may_set_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("public")).unwrap();
        let config = dir.path().join("site.yaml");
        std::fs::write(&config, "dir: public\nport: 9100\n").unwrap();
        let raw: Vec<OsString> = vec![
            "ferry".into(),
            "serve".into(),
            "--config".into(),
            config.clone().into(),
        ];
        let settings = serve_settings_with(&raw, &|_| None).unwrap();
        assert_eq!(settings.args.dir, dir.path().join("public"));
        assert_eq!(settings.args.listen.port, 9100);
        assert_eq!(settings.config_file.as_deref(), Some(config.as_path()));
    }

    #[test]
    fn several_config_files_are_an_error() {
        let dir = dir_with("ferry.toml", "port = 1\n");
        std::fs::write(dir.path().join("ferry.json"), "{}").unwrap();
        let error = run(dir.path(), &[], &[]).unwrap_err().to_string();
        assert!(error.contains("several config files"), "{error}");
    }

    #[test]
    fn conflicts_across_sources_are_reported() {
        let dir = dir_with("ferry.toml", "tls_self_signed = true\n");
        let error = run(
            dir.path(),
            &["--tls-cert", "c.pem", "--tls-key", "k.pem"],
            &[],
        )
        .unwrap_err();
        assert!(error.to_string().contains("cannot be used with"), "{error}");
    }

    #[test]
    fn header_rules_of_run_apply_to_the_static_files() {
        let dir = dir_with(
            "ferry.toml",
            "[headers]\n\"*.css\" = { \"X-Rule\" = \"css\" }\n",
        );
        let app = dir.path().join("app.js");
        std::fs::write(&app, "").unwrap();
        let raw = |extra: &[&str]| -> Vec<OsString> {
            let mut raw: Vec<OsString> = vec!["ferry".into(), "run".into(), app.clone().into()];
            raw.extend(extra.iter().map(OsString::from));
            raw
        };
        let error = run_settings_with(&raw(&[]), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("applies to the files of --static"),
            "{error}"
        );
        let settings = run_settings_with(&raw(&["--static", "."]), &|_| None).unwrap();
        assert_eq!(settings.header_rules.len(), 1);
        assert_eq!(
            settings.config_file.as_deref(),
            Some(dir.path().join("ferry.toml").as_path())
        );
    }

    /// Each setting's default is the library's: with no flags, no file and no environment,
    /// both commands configure exactly what the library's `Default`s say.
    #[test]
    fn without_flags_both_commands_get_the_library_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let serve = run(dir.path(), &[], &[]).unwrap();
        let config = crate::listen::server_config(&serve.args.listen, &serve.args.limits).unwrap();
        assert_eq!(config, ferry_core::ServerConfig::default());
        assert_eq!(
            crate::files::options(&serve.args.files),
            ferry_static::StaticOptions::default()
        );

        let app = dir.path().join("app.js");
        std::fs::write(&app, "").unwrap();
        let raw: Vec<OsString> = vec!["ferry".into(), "run".into(), app.into()];
        let run = run_settings_with(&raw, &|_| None).unwrap();
        let config = crate::listen::server_config(&run.args.listen, &run.args.limits).unwrap();
        assert_eq!(config, ferry_core::ServerConfig::default());
        let engine = crate::run::engine_options(&run.args);
        let defaults = ferry_js::EngineOptions::default();
        assert_eq!(engine.limits, defaults.limits);
        assert_eq!(engine.streams, defaults.streams);
        assert_eq!(engine.workers, defaults.workers);
        assert_eq!(engine.model, defaults.model);
        assert_eq!(engine.dev, defaults.dev);
        assert_eq!(engine.graphql_introspection, defaults.graphql_introspection);
        assert_eq!(engine.mcp, defaults.mcp);
    }
}
