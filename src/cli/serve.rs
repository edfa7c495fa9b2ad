//! `bifrost serve`: open the app dir, bind, print where it listens, serve.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::engine::Gateway;

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
    let gateway = Arc::new(gateway);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = crate::server::bind(&args.host, args.port).await?;
        let addr = listener.local_addr()?;
        let providers = gateway.snapshot().providers.len();
        println!("bifrost {} listening on http://{addr}", crate::VERSION);
        println!("app dir: {}", app_dir.display());
        println!("providers: {providers}");
        use std::io::Write;
        std::io::stdout().flush()?;
        crate::server::serve(listener, gateway).await?;
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
