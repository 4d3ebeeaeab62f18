//! End-to-end tests: they run the `ferry` binary as a user would and talk to it over HTTP.
//!
//! - `support`: starting `ferry`, reading its banner, sending signals.
//! - `auth`: sign-in against a real OpenID Connect provider, sessions, refused answers.
//! - `bench`: `ferry bench` on its own workloads, against python, and on a running target.
//! - `browser`: checks in headless Chromium (cross-origin isolation, the demo site).
//! - `cluster`: three nodes on one PostgreSQL: scripts and messages across nodes, a node
//!   killed, missed notifications made up, a database restart.
//! - `config`: the config file and FERRY_* variables.
//! - `groups`: groups, nested groups, scripts owned by groups and granted, paths kept for a
//!   group.
//! - `mcp_oauth`: MCP clients signing in through Ferry's OAuth 2.1 authorization server.
//! - `live_reload`: `--watch`, its event stream, and a browser following edits.
//! - `operations`: metrics, log files, health checks and draining, security headers, CORS,
//!   rate limits and `ferry run`'s config file.
//! - `portable`: one `export default { fetch }` app answering alike on `deno serve` and
//!   `ferry run`.
//! - `postgres`: Ferry nodes sharing one PostgreSQL database.
//! - `run`: `ferry run` with the example apps, static files, reloads and the management API.
//! - `serve`: `ferry serve` flags, banner, errors, logs.
//! - `shutdown`: graceful shutdown on SIGTERM/SIGINT and the forced second Ctrl+C.
//! - `tls`: HTTPS with generated and given certificates, checked with curl.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

mod auth;
mod bench;
mod browser;
mod cluster;
mod config;
mod groups;
mod live_reload;
mod mcp_oauth;
mod operations;
mod portable;
mod postgres;
mod run;
mod serve;
mod shutdown;
mod support;
mod tls;
mod typescript;
