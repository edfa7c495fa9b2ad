//! `bifrost open`: open the dashboard of a running gateway in the default browser; also what
//! `bifrost serve --open` calls once it listens.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Options of `bifrost open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Host the gateway listens on.
    #[arg(long, env = "APP_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port the gateway listens on.
    #[arg(long, env = "APP_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Print the URL without starting a browser.
    #[arg(long)]
    pub print: bool,
}

/// The dashboard's URL for a listening address; a wildcard address is reached on loopback.
pub fn dashboard_url(host: &str, port: u16) -> String {
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "[::1]",
        h if h.contains(':') && !h.starts_with('[') => return format!("http://[{h}]:{port}/"),
        h => h,
    };
    format!("http://{host}:{port}/")
}

/// Starts the default browser on `url` without waiting for it; says so when none starts.
pub fn browse(url: &str) {
    if let Err(e) = open::that_detached(url) {
        eprintln!("bifrost: could not start a browser ({e}); open {url} yourself");
    }
}

/// Runs `bifrost open`.
pub fn run(args: OpenArgs) -> anyhow::Result<ExitCode> {
    let url = dashboard_url(&args.host, args.port);
    println!("{url}");
    if !answers(&args.host, args.port) {
        eprintln!(
            "bifrost: nothing answers on {}:{}; start the gateway with `bifrost serve`",
            args.host, args.port
        );
    }
    if !args.print {
        browse(&url);
    }
    Ok(ExitCode::SUCCESS)
}

fn answers(host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map(Iterator::collect)
        .unwrap_or_default();
    addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_millis(500)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::dashboard_url;

    #[test]
    fn wildcard_addresses_open_on_loopback() {
        assert_eq!(dashboard_url("0.0.0.0", 80), "http://127.0.0.1:80/");
        assert_eq!(dashboard_url("::", 8080), "http://[::1]:8080/");
        assert_eq!(dashboard_url("::1", 8080), "http://[::1]:8080/");
        assert_eq!(dashboard_url("example.test", 9), "http://example.test:9/");
    }
}
