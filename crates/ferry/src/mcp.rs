//! `ferry mcp APP`: the app's MCP tools, resources and prompts over stdin/stdout, for MCP
//! clients that start their servers themselves.

use anyhow::anyhow;
use ferry_js::watch::ScriptFiles;

use crate::cli::McpArgs;
use crate::run::load_scripts;

/// Serves the app's MCP offer over stdio until the client leaves.
pub(crate) async fn run(args: McpArgs) -> anyhow::Result<()> {
    let files = ScriptFiles::new(&args.app)?;
    let scripts = files.read_all()?;
    let engine = args.engine.start().await?;
    load_scripts(&engine, scripts).await?;
    if !engine.mcp().is_active() {
        return Err(anyhow!(
            "{} registers no MCP tool, resource or prompt\n  hint: call registerMCPTool (or registerMCPResource, registerMCPPrompt) in the script",
            args.app.display()
        ));
    }
    engine
        .mcp()
        .serve_stdio()
        .await
        .map_err(|error| anyhow!("MCP over stdio: {error}"))
}
