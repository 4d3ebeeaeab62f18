//! `ferry test [APP]`.

use std::path::PathBuf;

use clap::Args;

use super::EngineArgs;

/// Flags of `ferry test`.
#[derive(Debug, Clone, Args)]
pub(crate) struct TestArgs {
    /// A test file (`NAME.test.js`, `.ts`, …), or a directory searched at any depth for
    /// them; imports reach the files of that directory (a file's own directory).
    #[arg(value_name = "APP", default_value = ".")]
    pub app: PathBuf,

    /// Run only the tests whose full names (`group > test`) contain TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    /// Print each test file's report as one line of JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Run the tests without loading the app's own scripts first.
    #[arg(long)]
    pub no_app: bool,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Show the scripts' log lines and Ferry's own (on standard error).
    #[arg(short, long)]
    pub verbose: bool,
}
