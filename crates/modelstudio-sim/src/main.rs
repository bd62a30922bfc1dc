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
use modelstudio_limits::{Deployment, Limits};
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
    /// The deployment whose limits to serve: REGION/SCOPE (e.g.
    /// `cn-beijing/cn`, `eu-central-1/eu`) or a mode: cn, intl, global, us.
    #[arg(long, default_value = "intl")]
    deployment: Deployment,
    /// How long a task runs, in "seconds" (scaled with the window).
    #[arg(long, default_value_t = 10.0)]
    task_seconds: f64,
    /// Limits of one account for one model instead of the table's (an
    /// account whose real limit is lower): `ACCOUNT:MODEL:KIND=N[,KIND=N]`,
    /// kinds rpm, tpm, rps, submit_rps, submit_rpm, query_rps, concurrency;
    /// repeatable.
    #[arg(long = "account-limit", value_parser = account_limit)]
    account_limits: Vec<(String, String, Limits)>,
}

fn account_limit(s: &str) -> Result<(String, String, Limits), String> {
    let mut parts = s.splitn(3, ':');
    let (Some(account), Some(model), Some(kinds)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("`{s}` is not ACCOUNT:MODEL:KIND=N[,KIND=N]"));
    };
    let mut limits = Limits::NONE;
    for kind in kinds.split(',') {
        let (name, n) = kind
            .split_once('=')
            .ok_or_else(|| format!("`{kind}` is not KIND=N"))?;
        let bad = |e: std::num::ParseIntError| format!("`{kind}`: {e}");
        limits = match name {
            "rpm" => limits.with_rpm(n.parse().map_err(bad)?),
            "tpm" => limits.with_tpm(n.parse().map_err(bad)?),
            "rps" => limits.with_rps(n.parse().map_err(bad)?),
            "submit_rps" => limits.with_submit_rps(n.parse().map_err(bad)?),
            "submit_rpm" => limits.with_submit_rpm(n.parse().map_err(bad)?),
            "query_rps" => limits.with_query_rps(n.parse().map_err(bad)?),
            "concurrency" => limits.with_concurrency(n.parse().map_err(bad)?),
            other => return Err(format!("`{other}` is not a kind of limit")),
        };
    }
    Ok((account.to_string(), model.to_string(), limits))
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
    let mut config = SimConfig::new(table, keys, window);
    config.deployment = args.deployment;
    config.task_seconds = args.task_seconds;
    for (account, model, limits) in args.account_limits {
        // Keyed by the canonical id, so an alias names the model too.
        let Some(entry) = config.table.get(&model) else {
            eprintln!("error: --account-limit: `{model}` is in no row of the table");
            return ExitCode::FAILURE;
        };
        let id = entry.id.clone();
        config.account_limits.insert((account, id), limits);
    }
    let app = router(config);
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
