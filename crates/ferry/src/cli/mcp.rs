//! `ferry mcp APP`.

use std::path::PathBuf;

use clap::Args;

use super::EngineArgs;

/// Flags of `ferry mcp`.
#[derive(Debug, Clone, Args)]
pub(crate) struct McpArgs {
    /// A script, or a directory of scripts, that register MCP tools, resources and prompts.
    #[arg(value_name = "APP")]
    pub app: PathBuf,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Log more (to standard error; standard output carries the protocol).
    #[arg(short, long)]
    pub verbose: bool,
}
