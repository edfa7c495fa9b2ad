//! Binding, serving and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::engine::Gateway;
use crate::error::{Error, Result};
use crate::http::{app, AppState};
use crate::plugins::logging::Logging;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds `host:port` (port 0 picks a free one).
pub async fn bind(host: &str, port: u16) -> Result<TcpListener> {
    TcpListener::bind((host, port))
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {host}:{port}: {e}")))
}

/// Serves until `shutdown` resolves ([`shutdown_signal`]: SIGINT or SIGTERM), then stops
/// accepting and lets in-flight requests finish for up to [`DRAIN_TIMEOUT`]. With request
/// logging, retention runs in the background and the log writer's queue is written out before
/// this returns.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    logs: Option<Arc<Logging>>,
    telemetry: Option<Arc<crate::plugins::telemetry::Telemetry>>,
    governance: Option<Arc<crate::plugins::governance::Governance>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let watcher = gateway.watch_store(Duration::from_secs(1));
    let governance_tasks = governance.as_ref().map(|g| {
        g.attach(&gateway);
        g.spawn_background()
    });
    let retention = logs
        .as_ref()
        .map(|l| l.spawn_retention(Arc::clone(&gateway)));
    let app = app(Arc::new(AppState {
        gateway,
        logs: logs.clone(),
        telemetry,
        governance: governance.clone(),
    }));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Without TCP_NODELAY the small writes of an SSE stream wait for the client's delayed ACK
    // (Nagle): about 40 ms per stream, measured by the benchmark.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let server =
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(app),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = tx.send(());
        });
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    let result = tokio::select! {
        r = &mut server => r,
        () = async {
            let _ = rx.await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } => {
            tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}; exiting");
            Ok(())
        }
    };
    watcher.abort();
    for task in governance_tasks.into_iter().flatten() {
        task.abort();
    }
    if let Some(g) = &governance {
        // Every request has ended and settled: persist the last counter changes.
        if let Err(e) = g.flush().await {
            tracing::warn!(error = %e, "could not persist governance counters at shutdown");
        }
    }
    if let Some(task) = retention {
        task.abort();
    }
    if let Some(logs) = logs {
        // Every request has ended, so every record is queued: write them all out.
        let writer = Arc::clone(&logs.writer);
        let _ = tokio::task::spawn_blocking(move || writer.flush_and_stop()).await;
        let dropped = logs.writer.dropped();
        if dropped > 0 {
            tracing::warn!(dropped, "request log records were dropped while serving");
        }
    }
    result.map_err(|e| Error::Internal(format!("server error: {e}")))
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called (inside the
/// runtime), not when the future is first polled: axum polls its shutdown future on a task of
/// its own, and a signal that arrived before that task ran (a busy machine, a client that
/// stops the server as soon as it says it listens) took the default action and killed the
/// process without draining anything. Call it before announcing the address.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = signal(SignalKind::terminate()).and_then(|term| {
            let interrupt = signal(SignalKind::interrupt())?;
            Ok((term, interrupt))
        });
        async move {
            match handlers {
                Ok((mut term, mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot handle SIGTERM; only Ctrl-C stops the server gracefully");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
