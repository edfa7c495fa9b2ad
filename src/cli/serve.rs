//! `bifrost serve`: open the app dir, bind, print where it listens, serve.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::engine::tracking::Observer;
use crate::engine::Gateway;
use crate::plugins::logging::Logging;

/// Options of `bifrost serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "APP_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "APP_PORT", default_value_t = 8080)]
    pub port: u16,
    /// debug, info, warn or error.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Process log format.
    #[arg(long, env = "LOG_STYLE", value_enum, default_value_t = LogStyle::Pretty)]
    pub log_style: LogStyle,
    /// Open the dashboard in the default browser once listening.
    #[arg(long)]
    pub open: bool,
}

/// Process log format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogStyle {
    /// One JSON object per line (for containers and log shippers).
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Runs the server until a shutdown signal.
pub fn run(args: ServeArgs, app_dir: &Path) -> anyhow::Result<ExitCode> {
    init_logging(&args.log_level, args.log_style)?;
    let (gateway, report) = Gateway::open(app_dir)?;
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    if let Some(file) = &report.config_file {
        tracing::info!(file = %file.display(), imported = ?report.imported, "loaded config.json");
    }
    // The request log (logs.db) when `client.enable_logging` is on; read once at start, as in
    // Bifrost, so turning it on or off needs a restart.
    let logs = if gateway.snapshot().client.enable_logging {
        Some(Arc::new(Logging::open(app_dir)?))
    } else {
        None
    };
    let gateway = match &logs {
        Some(l) => gateway.with_observers(vec![Arc::clone(&l.writer) as Arc<dyn Observer>]),
        None => gateway,
    };
    let (gateway, observability) =
        crate::plugins::observability::setup(app_dir, gateway, logs.as_deref())?;
    // Governance: virtual keys, budgets, rate limits, cost (the engine's admission hook).
    let (governance, warnings) =
        crate::plugins::governance::Governance::open(Arc::clone(gateway.store()), app_dir)?;
    for w in &warnings {
        tracing::warn!("governance: {w}");
    }
    let governance = Arc::new(governance);
    let gateway = gateway.with_admission(Arc::clone(&governance) as _);
    let gateway = Arc::new(gateway);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = crate::server::bind(&args.host, args.port).await?;
        // Before the address is printed: whoever reads it may stop the server at once.
        let shutdown = crate::server::shutdown_signal();
        let addr = listener.local_addr()?;
        let providers = gateway.snapshot().providers.len();
        println!("bifrost {} listening on http://{addr}", crate::VERSION);
        println!("app dir: {}", app_dir.display());
        println!("providers: {providers}");
        let dashboard = super::open::dashboard_url(&addr.ip().to_string(), addr.port());
        println!("dashboard: {dashboard}");
        use std::io::Write;
        std::io::stdout().flush()?;
        if args.open {
            super::open::browse(&dashboard);
        }
        let (telemetry, spans) = observability.start();
        crate::server::serve(
            listener,
            gateway,
            logs,
            telemetry,
            Some(governance),
            shutdown,
        )
        .await?;
        if let Some(spans) = spans {
            spans
                .shutdown(crate::plugins::observability::OTEL_DRAIN)
                .await;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn init_logging(level: &str, style: LogStyle) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "{level},hyper=warn,reqwest=warn,h2=warn,rustls=warn"
    ))
    .map_err(|e| anyhow::anyhow!("--log-level {level}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match style {
        LogStyle::Json => builder.json().init(),
        LogStyle::Pretty => builder.compact().init(),
    }
    Ok(())
}
