//! Log output: human lines (coloured in a terminal) or JSON, written to stderr or to a
//! rotated file by a background thread so request handling never waits on the disk or the
//! terminal. Script logs can go to a file of their own.

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, anyhow};
use ferry_core::layers::ACCESS_LOG_TARGET;
use ferry_js::SCRIPT_LOG_TARGET;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::{LogArgs, LogFormat, LogRotation};

/// Environment variable that overrides the log filter (`tracing` directive syntax).
const FILTER_ENV: &str = "FERRY_LOG";

/// Keeps the log writers' background threads alive; dropping it flushes what is queued.
pub(crate) struct LogGuards(#[allow(dead_code, reason = "held for its Drop")] Vec<WorkerGuard>);

/// Installs the global logger: server logs to standard error or `--log-file`, and script
/// logs with them or to `script_log` when given.
pub(crate) fn init(args: &LogArgs, script_log: Option<&Path>) -> anyhow::Result<LogGuards> {
    let default_filter = if args.quiet {
        "warn"
    } else if args.verbose {
        "info,ferry=debug,ferry_core=debug,ferry_static=debug"
    } else {
        "info"
    };
    let filter =
        EnvFilter::try_from_env(FILTER_ENV).unwrap_or_else(|_| EnvFilter::new(default_filter));
    let mut guards = Vec::new();
    let (server_writer, ansi) = match &args.log_file {
        Some(path) => {
            let (writer, guard) = tracing_appender::non_blocking(rolling_file(path, args)?);
            guards.push(guard);
            (writer, false)
        }
        None => {
            let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
            guards.push(guard);
            let ansi = args.log_format == LogFormat::Human
                && std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            (writer, ansi)
        }
    };
    let scripts_apart = script_log.is_some();
    let mut layers = vec![
        output(server_writer, args.log_format, ansi)
            .with_filter(filter_fn(move |metadata| {
                !(scripts_apart && metadata.target().starts_with(SCRIPT_LOG_TARGET))
            }))
            .boxed(),
    ];
    if let Some(path) = script_log {
        let (writer, guard) = tracing_appender::non_blocking(rolling_file(path, args)?);
        guards.push(guard);
        layers.push(
            output(writer, args.log_format, false)
                .with_filter(filter_fn(|metadata| {
                    metadata.target().starts_with(SCRIPT_LOG_TARGET)
                }))
                .boxed(),
        );
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init()
        .map_err(|error| anyhow!("cannot install the logger: {error}"))?;
    Ok(LogGuards(guards))
}

/// One log output: human lines or JSON objects, written to `writer`.
fn output<S>(writer: NonBlocking, format: LogFormat, ansi: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .boxed(),
        LogFormat::Human => layer.event_format(HumanFormat { ansi }).boxed(),
    }
}

/// A log file rotated as the flags say, in the file's directory (created if missing).
fn rolling_file(path: &Path, args: &LogArgs) -> anyhow::Result<RollingFileAppender> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: a log file needs a file name", path.display()))?;
    let rotation = match args.log_rotation {
        LogRotation::Hourly => Rotation::HOURLY,
        LogRotation::Daily => Rotation::DAILY,
        LogRotation::Never => Rotation::NEVER,
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    RollingFileAppender::builder()
        .rotation(rotation)
        .filename_prefix(name.to_string_lossy())
        .max_log_files(usize::from(args.log_keep))
        .build(dir)
        .with_context(|| format!("cannot open the log file {}", path.display()))
}

/// Request lines as they are (`127.0.0.1 - GET / - 200 OK (0.4ms)`), other events as
/// `LEVEL message key=value`.
struct HumanFormat {
    ansi: bool,
}

impl<S, N> FormatEvent<S, N> for HumanFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        if metadata.target() == ACCESS_LOG_TARGET {
            let mut line = AccessLine::default();
            event.record(&mut line);
            let colour = match line.status {
                200..=299 => "32",
                300..=399 => "36",
                400..=499 => "33",
                _ => "31",
            };
            return if self.ansi {
                writeln!(writer, "\x1b[{colour}m{}\x1b[0m", line.message)
            } else {
                writeln!(writer, "{}", line.message)
            };
        }
        let (label, colour) = match *metadata.level() {
            Level::ERROR => ("error", "31"),
            Level::WARN => ("warning", "33"),
            Level::INFO => ("info", "34"),
            Level::DEBUG => ("debug", "2"),
            Level::TRACE => ("trace", "2"),
        };
        if self.ansi {
            write!(writer, "\x1b[{colour}m{label}\x1b[0m: ")?;
        } else {
            write!(writer, "{label}: ")?;
        }
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Collects the message and status of an access-log event.
#[derive(Default)]
struct AccessLine {
    message: String,
    status: u64,
}

impl Visit for AccessLine {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.status = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}
