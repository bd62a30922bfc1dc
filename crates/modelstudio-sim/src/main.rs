//! `modelstudio-sim`: serves Model Studio's endpoints on loopback with the
//! limits of a table, printing `listening on http://ADDR` first.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::Deployment;
use modelstudio_sim::{router, SimConfig};

/// A simulator of Model Studio's rate limits.
#[derive(Debug, Parser)]
#[command(name = "modelstudio-sim", version)]
struct Args {
    /// The limits table.
    #[arg(long, default_value = "limits.toml")]
    table: PathBuf,
    /// An API key and its account, `KEY=ACCOUNT`; repeatable. Limits apply per
    /// account, over all of its keys.
    #[arg(long = "key", value_parser = key_account, required = true)]
    keys: Vec<(String, String)>,
    /// The length of a "minute" in seconds; every window scales with it.
    #[arg(long, default_value_t = 60.0)]
    window_seconds: f64,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The deployment mode whose limits to serve: cn, intl, global or us.
    #[arg(long, default_value = "intl", value_parser = deployment)]
    deployment: Deployment,
}

fn deployment(s: &str) -> Result<Deployment, String> {
    Deployment::from_id(s).ok_or_else(|| format!("`{s}` is not a mode: cn, intl, global or us"))
}

fn key_account(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, account)) if !key.is_empty() && !account.is_empty() => {
            Ok((key.to_string(), account.to_string()))
        }
        _ => Err(format!("`{s}` is not KEY=ACCOUNT")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let table = match LimitTable::read(&args.table) {
        Ok(table) => table,
        Err(e) => {
            eprintln!("error: {}: {e}", args.table.display());
            return ExitCode::FAILURE;
        }
    };
    let window = match Duration::try_from_secs_f64(args.window_seconds) {
        Ok(w) if w >= Duration::from_millis(60) => w,
        _ => {
            eprintln!("error: --window-seconds must be at least 0.06");
            return ExitCode::FAILURE;
        }
    };
    let keys: HashMap<String, String> = args.keys.into_iter().collect();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    let app = router(SimConfig {
        table,
        keys,
        window,
        deployment: args.deployment,
    });
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
