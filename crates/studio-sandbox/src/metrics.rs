//! Prometheus metrics of the manager (rendered by the API at `/metrics`).
//!
//! Gauges that are cheap to compute at scrape time (sandboxes by status, connected clients) are
//! filled in by [`Metrics::render`]; counters and histograms are updated where things happen.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use studio_core::SandboxStatus;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

/// Handles to every metric; cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    sandboxes: Family<StatusLabel, Gauge>,
    restarts: Counter,
    setup_seconds: Histogram,
    execute_seconds: Histogram,
    ws_clients: Gauge<i64, AtomicI64>,
    events_sent: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("studio");
        let sandboxes = Family::<StatusLabel, Gauge>::default();
        registry.register("sandboxes", "Sandboxes by status", sandboxes.clone());
        let restarts = Counter::default();
        registry.register(
            "renderer_restarts",
            "Renderer restarts after a crash",
            restarts.clone(),
        );
        let setup_seconds = Histogram::new([0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0]);
        registry.register(
            "setup_duration_seconds",
            "Sandbox setup, request to renderer ready",
            setup_seconds.clone(),
        );
        let execute_seconds =
            Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]);
        registry.register(
            "execute_duration_seconds",
            "Execute: write, commit, announce",
            execute_seconds.clone(),
        );
        let ws_clients = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "websocket_clients",
            "Connected WebSocket clients",
            ws_clients.clone(),
        );
        let events_sent = Counter::default();
        registry.register(
            "events_sent",
            "Events delivered to WebSocket client queues",
            events_sent.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                sandboxes,
                restarts,
                setup_seconds,
                execute_seconds,
                ws_clients,
                events_sent,
            }),
        }
    }

    pub fn renderer_restarted(&self, n: u64) {
        self.inner.restarts.inc_by(n);
    }

    pub fn setup_took(&self, secs: f64) {
        self.inner.setup_seconds.observe(secs);
    }

    pub fn execute_took(&self, secs: f64) {
        self.inner.execute_seconds.observe(secs);
    }

    pub fn events_sent(&self, deliveries: usize) {
        self.inner.events_sent.inc_by(deliveries as u64);
    }

    /// Renders the text exposition format, after refreshing the scrape-time gauges.
    pub fn render(&self, by_status: &[(SandboxStatus, usize)], ws_clients: usize) -> String {
        for status in SandboxStatus::ALL {
            let n = by_status
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            self.inner
                .sandboxes
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .set(n as i64);
        }
        self.inner.ws_clients.set(ws_clients as i64);
        let mut out = String::new();
        // Encoding into a String cannot fail (fmt::Write for String is infallible).
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}
