//! What every connection of one server shares: the protocol builders, the app's service,
//! the settings, TLS, the readiness signal and the connection metrics.

use std::sync::Arc;

use metrics::{Counter, Gauge};
use tokio::sync::watch;

use super::memory::BusyConnections;
use super::protocol::Builders;
use crate::{BoxService, ServerConfig};

/// What every connection of one server shares.
pub(crate) struct ConnectionContext {
    pub builders: Builders,
    pub service: BoxService,
    pub config: Arc<ServerConfig>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Set once shutdown has been asked for (readiness).
    pub draining: watch::Receiver<bool>,
    pub metrics: ConnectionMetrics,
    /// Connections holding hyper's state, to give memory back after a burst.
    pub busy: BusyConnections,
}

/// Connection-level metrics, looked up once per server (see
/// [`HttpMetricsLayer`](crate::layers::HttpMetricsLayer) for request metrics). Without an
/// installed recorder these are no-ops.
pub(crate) struct ConnectionMetrics {
    pub open: Gauge,
    pub accepted: Counter,
    pub refused_per_ip: Counter,
    pub tls_ok: Counter,
    pub tls_failed: Counter,
    pub header_timeouts: Counter,
    pub send_timeouts: Counter,
    pub received_bytes: Counter,
    pub sent_bytes: Counter,
}

impl ConnectionMetrics {
    pub(crate) fn new() -> Self {
        ConnectionMetrics {
            open: metrics::gauge!("ferry_connections_open"),
            accepted: metrics::counter!("ferry_connections_total"),
            refused_per_ip: metrics::counter!("ferry_connections_refused_total", "reason" => "per_ip_limit"),
            tls_ok: metrics::counter!("ferry_tls_handshakes_total", "result" => "ok"),
            tls_failed: metrics::counter!("ferry_tls_handshakes_total", "result" => "failed"),
            header_timeouts: metrics::counter!("ferry_request_header_timeouts_total"),
            send_timeouts: metrics::counter!("ferry_send_timeouts_total"),
            received_bytes: metrics::counter!("ferry_received_bytes_total"),
            sent_bytes: metrics::counter!("ferry_sent_bytes_total"),
        }
    }
}
