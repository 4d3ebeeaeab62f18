//! The load generator and peer runner behind `ferry bench`.
//!
//! [`load::run`] drives a [`Target`] with N keep-alive connections (HTTP/1.1, or HTTP/2 when
//! a TLS server offers it), closed loop or at a fixed rate with coordinated-omission
//! correction, and reports requests/s, bytes/s, latency and time-to-first-byte histograms
//! (HDR) and errors by kind.
//!
//! ```no_run
//! use ferry_bench::load::{self, LoadConfig};
//! use ferry_bench::Target;
//! use std::time::Duration;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let target = Target::parse("http://127.0.0.1:8080/index.html")?;
//! let config = LoadConfig { connections: 10, duration: Duration::from_secs(5), ..LoadConfig::default() };
//! let report = load::run(&target, &config).await;
//! println!("{:.0} req/s, p99 {:.2} ms", report.requests_per_second(), report.latency_summary().p99);
//! # Ok(())
//! # }
//! ```

mod connect;
pub mod fanout;
pub mod fixtures;
pub mod load;
pub mod peers;
mod procstat;
pub mod report;
pub mod runner;
pub mod stats;
mod target;
pub mod workload;

pub use target::{Target, TargetError};
