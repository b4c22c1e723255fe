//! A passed-through upgrade (Vite's HMR WebSocket): once both sides switched protocols, bytes
//! are copied both ways as they come, counted in `/metrics`, until either side closes or nothing
//! moved for the idle timeout.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use studio_sandbox::PreviewMetrics;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Joins the client's and the renderer's upgraded connections; `hold` (the sandbox's place at
/// the gate) is kept until the tunnel closes.
pub(crate) async fn run(
    client: OnUpgrade,
    renderer: OnUpgrade,
    upgrade_timeout: Duration,
    idle_timeout: Duration,
    metrics: PreviewMetrics,
    hold: impl Send + 'static,
) {
    let _hold = hold;
    let both = async { tokio::try_join!(client, renderer) };
    let (client, renderer) = match tokio::time::timeout(upgrade_timeout, both).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => {
            tracing::debug!("a preview upgrade failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("a preview upgrade did not complete within {upgrade_timeout:?}");
            return;
        }
    };
    let started = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let mut client = Counted {
        inner: TokioIo::new(client),
        metrics: metrics.clone(),
        to_renderer: true,
        started,
        activity: Arc::clone(&activity),
    };
    let mut renderer = Counted {
        inner: TokioIo::new(renderer),
        metrics,
        to_renderer: false,
        started,
        activity: Arc::clone(&activity),
    };
    let copy = tokio::io::copy_bidirectional(&mut client, &mut renderer);
    tokio::select! {
        result = copy => {
            if let Err(e) = result {
                tracing::debug!("a preview WebSocket ended: {e}");
            }
        }
        () = idle(started, &activity, idle_timeout) => {
            tracing::debug!("closed a preview WebSocket idle for {idle_timeout:?}");
        }
    }
}

/// Resolves once no byte moved for `limit`. Each wake-up is at the earliest moment the limit
/// could be reached, so it wakes once per quiet period, not in a polling loop.
async fn idle(started: Instant, activity: &AtomicU64, limit: Duration) {
    loop {
        let last = started + Duration::from_millis(activity.load(Ordering::Relaxed));
        let deadline = last + limit;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// One side of a tunnel: counts what is read from it (client → renderer or renderer → client)
/// and notes when anything last moved.
struct Counted<T> {
    inner: T,
    metrics: PreviewMetrics,
    to_renderer: bool,
    started: Instant,
    activity: Arc<AtomicU64>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            if self.to_renderer {
                self.metrics.bytes_to_renderer(n);
            } else {
                self.metrics.bytes_to_client(n);
            }
            let now = self.started.elapsed().as_millis() as u64;
            self.activity.store(now, Ordering::Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
