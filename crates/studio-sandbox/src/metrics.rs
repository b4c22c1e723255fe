//! Prometheus metrics of the manager (rendered by the API at `/metrics`).
//!
//! Gauges that are cheap to compute at scrape time (sandboxes by status, connected clients) are
//! filled in by [`Metrics::render`]; counters and histograms are updated where things happen.
//! The front door's counters ([`PreviewMetrics`]) live in the same registry and are updated by
//! the API crate, which proxies previews.

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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The front door's counters: requests and WebSocket upgrades proxied to renderers, bytes each
/// way, and requests refused (by reason, e.g. `misdirected`, `unknown_sandbox`, `not_running`,
/// `too_many_requests`). Cheap to clone; every clone counts into the same registry.
#[derive(Debug, Clone, Default)]
pub struct PreviewMetrics {
    requests: Counter,
    upgrades: Counter,
    bytes: Family<DirectionLabel, Counter>,
    refusals: Family<ReasonLabel, Counter>,
}

impl PreviewMetrics {
    fn register(&self, registry: &mut Registry) {
        // Both directions show from the start (as 0), so a dashboard's rate() has a series.
        for direction in ["to_renderer", "to_client"] {
            let _ = self.bytes.get_or_create(&DirectionLabel { direction });
        }
        registry.register(
            "preview_requests",
            "Requests proxied by the front door to a renderer (upgrades included)",
            self.requests.clone(),
        );
        registry.register(
            "preview_upgrades",
            "WebSocket upgrades passed through by the front door",
            self.upgrades.clone(),
        );
        registry.register(
            "preview_bytes",
            "Body and tunnel bytes through the front door, by direction (to_renderer, to_client)",
            self.bytes.clone(),
        );
        registry.register(
            "preview_refusals",
            "Requests the front door answered itself instead of proxying, by reason",
            self.refusals.clone(),
        );
    }

    /// These counters alone, in the text exposition format (for tests and debugging; `/metrics`
    /// shows them with the rest).
    pub fn text(&self) -> String {
        let mut registry = Registry::with_prefix("studio");
        self.register(&mut registry);
        let mut out = String::new();
        // Encoding into a String cannot fail (fmt::Write for String is infallible).
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    /// One request was handed to a renderer.
    pub fn request(&self) {
        self.requests.inc();
    }

    /// One WebSocket upgrade was passed through.
    pub fn upgrade(&self) {
        self.upgrades.inc();
    }

    /// `n` bytes went from the client to the renderer.
    pub fn bytes_to_renderer(&self, n: u64) {
        self.bytes
            .get_or_create(&DirectionLabel {
                direction: "to_renderer",
            })
            .inc_by(n);
    }

    /// `n` bytes went from the renderer to the client.
    pub fn bytes_to_client(&self, n: u64) {
        self.bytes
            .get_or_create(&DirectionLabel {
                direction: "to_client",
            })
            .inc_by(n);
    }

    /// The door answered a request itself, for `reason` (a short snake_case word).
    pub fn refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabel { reason }).inc();
    }
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
    preview: PreviewMetrics,
    pool: PoolMetrics,
}

/// The renderer pool's gauges and counters (`pool`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PoolMetrics {
    idle: Gauge,
    target: Gauge,
    claims: Counter,
    misses: Counter,
    refills: Counter,
}

impl PoolMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "renderer_pool_idle",
            "Pre-started renderers waiting to be claimed",
            self.idle.clone(),
        );
        registry.register(
            "renderer_pool_target",
            "Pre-started renderers the pool keeps (--renderer-pool)",
            self.target.clone(),
        );
        registry.register(
            "renderer_pool_claims",
            "Renderer starts served by a pre-started renderer",
            self.claims.clone(),
        );
        registry.register(
            "renderer_pool_misses",
            "Renderer starts that found the pool empty (or its renderer unusable) and started cold",
            self.misses.clone(),
        );
        registry.register(
            "renderer_pool_refills",
            "Pre-started renderers started to fill the pool",
            self.refills.clone(),
        );
    }

    pub fn set_idle(&self, n: usize) {
        self.idle.set(n as i64);
    }

    pub fn set_target(&self, n: usize) {
        self.target.set(n as i64);
    }

    pub fn claimed(&self) {
        self.claims.inc();
    }

    pub fn missed(&self) {
        self.misses.inc();
    }

    pub fn refilled(&self) {
        self.refills.inc();
    }
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
        let preview = PreviewMetrics::default();
        preview.register(&mut registry);
        let pool = PoolMetrics::default();
        pool.register(&mut registry);
        Self {
            inner: Arc::new(Inner {
                registry,
                sandboxes,
                restarts,
                setup_seconds,
                execute_seconds,
                ws_clients,
                events_sent,
                preview,
                pool,
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

    /// The front door's counters.
    pub fn preview(&self) -> PreviewMetrics {
        self.inner.preview.clone()
    }

    /// The renderer pool's metrics.
    pub(crate) fn pool(&self) -> &PoolMetrics {
        &self.inner.pool
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
