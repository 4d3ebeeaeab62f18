//! The flag tables of the documentation, checked against the command line: every flag a
//! table names exists, every flag exists in some table, and every default a table states
//! is the one `--help` shows. The tables cannot drift from the code.

use std::collections::BTreeSet;

use clap::CommandFactory;

use super::Cli;

const SERVE_MD: &str = include_str!("../../../../docs/serve.md");
const SCRIPTING_MD: &str = include_str!("../../../../docs/scripting.md");
const OPERATIONS_MD: &str = include_str!("../../../../docs/operations.md");
const README_MD: &str = include_str!("../../../../README.md");
const AUTH_MD: &str = include_str!("../../../../docs/auth.md");
const TESTING_MD: &str = include_str!("../../../../docs/testing.md");

/// One row of a flag table: the flags of its first cell, the defaults of its second, and
/// whether it is marked as `ferry run`'s only.
struct Row {
    flags: Vec<String>,
    defaults: Vec<String>,
    run_only: bool,
    /// Flags the row names elsewhere (a cell that lists the shared flags).
    mentioned: Vec<String>,
}

/// The rows of the flag tables of `markdown`: tables whose first header cell is "flag".
fn rows(markdown: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in markdown.lines() {
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if cells
            .first()
            .is_some_and(|cell| cell.eq_ignore_ascii_case("flag"))
        {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        let flags = long_flags(cells[0]);
        rows.push(Row {
            defaults: cells
                .get(1)
                .map(|cell| cell.split(", ").map(str::to_owned).collect())
                .unwrap_or_default(),
            run_only: cells[0].contains("(run)"),
            mentioned: cells
                .iter()
                .skip(1)
                .flat_map(|cell| long_flags(cell))
                .collect(),
            flags,
        });
    }
    rows
}

/// The `--long-flag` names in `text`.
fn long_flags(text: &str) -> Vec<String> {
    text.match_indices("--")
        .filter_map(|(at, _)| {
            let name: String = text[at + 2..]
                .chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
                .collect();
            (!name.is_empty() && !text[..at].ends_with('-')).then_some(name)
        })
        .collect()
}

/// The long flags of subcommand `name`, with their defaults as `--help` shows them.
fn flags_of(name: &str) -> Vec<(String, Option<String>)> {
    let command = Cli::command();
    let sub = command
        .find_subcommand(name)
        .unwrap_or_else(|| panic!("no subcommand {name}"));
    sub.get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?.to_owned();
            let default = arg
                .get_default_values()
                .iter()
                .map(|value| value.to_string_lossy().into_owned())
                .next();
            Some((long, default))
        })
        .filter(|(long, _)| long != "help" && long != "version")
        .collect()
}

/// A stated default as `--help` would show it: the number (with a size unit) it starts
/// with, or the one code value it is; `None` for prose such as "off".
fn normalized(stated: &str) -> Option<String> {
    let stated = stated.trim();
    let digits: String = stated
        .chars()
        .take_while(|ch| ch.is_ascii_digit() || *ch == '.')
        .collect();
    if !digits.is_empty() {
        let rest = stated[digits.len()..].trim_start().trim_matches('`');
        let unit: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        let unit = if ["KiB", "MiB", "GiB"].contains(&unit.as_str()) {
            unit
        } else {
            String::new()
        };
        return Some(format!("{digits}{unit}"));
    }
    let code = stated.strip_prefix('`')?.strip_suffix('`')?;
    (!code.contains('`')).then(|| code.to_owned())
}

/// Checks the tables of `docs` against subcommand `command`: names, coverage, defaults.
/// The tables of `shared` (another command's docs, which `docs` refer to for the flags both
/// have) count for coverage only.
fn check(command: &str, docs: &[&str], shared: &[&str]) {
    let flags = flags_of(command);
    let known: BTreeSet<&str> = flags.iter().map(|(long, _)| long.as_str()).collect();
    let mut documented = BTreeSet::new();
    for doc in docs {
        for row in rows(doc) {
            if row.run_only && command != "run" {
                continue;
            }
            for flag in row.flags.iter().chain(&row.mentioned) {
                documented.insert(flag.clone());
            }
            for flag in &row.flags {
                assert!(
                    known.contains(flag.as_str()) || row.run_only,
                    "a table names --{flag}, which `ferry {command}` does not have"
                );
            }
            if row.flags.len() != row.defaults.len() {
                continue;
            }
            for (flag, stated) in row.flags.iter().zip(&row.defaults) {
                let Some((_, Some(actual))) = flags.iter().find(|(long, _)| long == flag) else {
                    continue;
                };
                if let Some(stated) = normalized(stated) {
                    assert_eq!(
                        &stated, actual,
                        "the docs give --{flag} of `ferry {command}` the default {stated}, --help says {actual}"
                    );
                }
            }
        }
    }
    for doc in shared {
        for row in rows(doc) {
            for flag in row.flags.into_iter().chain(row.mentioned) {
                if known.contains(flag.as_str()) {
                    documented.insert(flag);
                }
            }
        }
    }
    let missing: Vec<&str> = known
        .iter()
        .copied()
        .filter(|flag| !documented.contains(*flag))
        .collect();
    assert!(
        missing.is_empty(),
        "flags of `ferry {command}` in no documentation table: {missing:?}"
    );
}

#[test]
fn the_serve_flag_tables_match_the_command_line() {
    check("serve", &[SERVE_MD, OPERATIONS_MD, AUTH_MD], &[]);
}

#[test]
fn the_run_flag_tables_match_the_command_line() {
    check("run", &[SCRIPTING_MD, OPERATIONS_MD, AUTH_MD], &[SERVE_MD]);
}

#[test]
fn the_test_flag_tables_match_the_command_line() {
    check(
        "test",
        &[TESTING_MD],
        &[SCRIPTING_MD, OPERATIONS_MD, AUTH_MD],
    );
}

#[test]
fn the_readme_names_only_flags_that_exist() {
    let block = README_MD
        .split("ferry serve [DIR] [OPTIONS]")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows ferry serve's flags");
    let known: BTreeSet<String> = flags_of("serve")
        .into_iter()
        .map(|(long, _)| long)
        .collect();
    for flag in long_flags(block) {
        assert!(
            known.contains(&flag),
            "the README names --{flag}, which `ferry serve` does not have"
        );
    }
}

#[test]
fn stated_defaults_are_read_as_help_shows_them() {
    assert_eq!(normalized("`8080`"), Some("8080".into()));
    assert_eq!(normalized("30 s"), Some("30".into()));
    assert_eq!(normalized("64 MiB"), Some("64MiB".into()));
    assert_eq!(normalized("240 B/s after 5 s"), Some("240".into()));
    assert_eq!(normalized("`require-corp`"), Some("require-corp".into()));
    assert_eq!(normalized("off"), None);
    assert_eq!(
        long_flags("`-p`, `--port PORT` and --no-x"),
        ["port", "no-x"]
    );
}
