//! Log output: human lines (coloured in a terminal) or JSON, written to stderr by a
//! background thread so request handling never waits on the terminal.

use std::fmt;
use std::io::IsTerminal;

use ferry_core::layers::ACCESS_LOG_TARGET;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{LogArgs, LogFormat};

/// Environment variable that overrides the log filter (`tracing` directive syntax).
const FILTER_ENV: &str = "FERRY_LOG";

/// Installs the global logger. Keep the guard alive until exit: dropping it flushes.
pub fn init(args: &LogArgs) -> WorkerGuard {
    let default_filter = if args.quiet {
        "warn"
    } else if args.verbose {
        "info,ferry=debug,ferry_core=debug,ferry_static=debug"
    } else {
        "info"
    };
    let filter =
        EnvFilter::try_from_env(FILTER_ENV).unwrap_or_else(|_| EnvFilter::new(default_filter));
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let ansi = args.log_format == LogFormat::Human
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match args.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
        LogFormat::Human => builder.event_format(HumanFormat { ansi }).init(),
    }
    guard
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
