//! The fleet benchmark: a Model Studio simulator on loopback, then, for each
//! strategy in turn, P client processes x T tasks calling one model of one
//! account for S seconds, with token sizes drawn from a fixed, seeded
//! distribution. Prints per strategy what the simulator accepted and
//! refused, the quota used, and how long calls waited.
//!
//! ```text
//! cargo run --release -p limits-fleet --bin fleet -- --processes 4 --tasks 16 \
//!     --seconds 60 --window-seconds 60 --json [--plot fleet.svg]
//! ```
//!
//! Strategies: `none` (no throttle; a 429 is retried with exponential
//! backoff and jitter, as the OpenAI SDKs do: 0.5 s doubling to 8 s, scaled
//! to the window), `governor` (two governor limiters per process, one per
//! dimension, each a process's share of the limit, bursting up to it),
//! `local` (limits-throttle in each process, a process's share each, through
//! the limits-reqwest middleware), `redis` (limits-throttle through Redis at
//! `REDIS_URL`, fleet-wide, through the middleware). Every strategy uses its
//! own account of the simulator, so none inherits another's windows.
//!
//! Utilization is the accepted work over what the binding limit allowed
//! during the run: the larger of accepted requests over `RPM * S / W` and
//! accepted tokens over `TPM * S / W`. A wait is the time from a task
//! wanting to call to its call being accepted (throttle waits, backoffs,
//! retries and the round trip).
//!
//! `--scenario tasks` runs asynchronous tasks instead (see `tasks.rs`):
//! video generation (`wan2.6-t2v` in Mainland China by default), each
//! client submitting a task and polling it to its end, again and again;
//! utilization is then the mean number of tasks in flight, as the
//! simulator counts them, over the limit.

mod tasks;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use governor::{Quota, RateLimiter};
use limits_reqwest::{Options, Resolved, ThrottleMiddleware};
use limits_throttle::redis::{RedisOptions, RedisStore};
use limits_throttle::{Adaptation, Config, Deployment, Limits, Throttle};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_sim::{router, SimConfig};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::{json, Value};

/// What the clients do.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Synchronous chat calls.
    Calls,
    /// Asynchronous tasks, submitted and polled to their end.
    Tasks,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Calls => "calls",
            Scenario::Tasks => "tasks",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Strategy {
    None,
    Governor,
    Local,
    Redis,
    /// `local` with the pacing before the schedule: each request spaced
    /// from the last as it was admitted, no arrival margin.
    LocalSpaced,
    /// `redis` with the pacing before the schedule.
    RedisSpaced,
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Governor => "governor",
            Strategy::Local => "local",
            Strategy::Redis => "redis",
            Strategy::LocalSpaced => "local-spaced",
            Strategy::RedisSpaced => "redis-spaced",
        }
    }

    /// Whether it is a throttle through Redis.
    fn through_redis(self) -> bool {
        matches!(self, Strategy::Redis | Strategy::RedisSpaced)
    }
}

/// The fleet benchmark (see the file's docs).
#[derive(Debug, Parser)]
#[command(name = "fleet")]
struct Args {
    /// Client processes.
    #[arg(long, default_value_t = 4)]
    processes: u32,
    /// Tasks per process.
    #[arg(long, default_value_t = 16)]
    tasks: u32,
    /// How long each strategy runs, in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// The simulator's and the throttles' "minute", in seconds.
    #[arg(long, default_value_t = 60.0)]
    window_seconds: f64,
    /// One JSON object per strategy per line, instead of a table.
    #[arg(long)]
    json: bool,
    /// What the clients do: synchronous calls, or tasks.
    #[arg(long, value_enum, default_value = "calls")]
    scenario: Scenario,
    /// The model called (an id or alias of limits.toml). Default:
    /// qwq-plus for calls, wan2.6-t2v for tasks.
    #[arg(long)]
    model: Option<String>,
    /// The deployment whose limits the simulator serves and the throttles
    /// apply: REGION/SCOPE (e.g. eu-central-1/eu) or a mode (cn, intl,
    /// global, us). Default: intl for calls, cn for tasks.
    #[arg(long)]
    deployment: Option<Deployment>,
    /// How long a task runs, in "seconds" of the window (tasks).
    #[arg(long, default_value_t = 10.0)]
    task_seconds: f64,
    /// The fraction of the table's limits the simulator gives the
    /// accounts (an account whose real limit is lower than the table's:
    /// the throttles apply the table's and learn from 429s). Utilization
    /// is then of the lower limits.
    #[arg(long, default_value_t = 1.0)]
    account_factor: f64,
    /// The strategies, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "none,governor,local,redis"
    )]
    strategies: Vec<Strategy>,
    /// The fraction of the limits the throttles use (local: split between
    /// the processes).
    #[arg(long, default_value_t = 0.97)]
    headroom: f64,
    /// Every request of this many tokens (a short prompt and the rest as
    /// `max_tokens`), instead of the seeded sizes: requests bind, not
    /// tokens.
    #[arg(long)]
    request_tokens: Option<u32>,
    /// The throttles' arrival margin, in ms (default: the throttle's).
    #[arg(long)]
    arrival_margin_ms: Option<f64>,
    /// Seeds the token sizes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Draws admitted requests and tokens per second against the limits
    /// (SVG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Internal: run as client process N of a strategy.
    #[arg(long, hide = true)]
    client: Option<u32>,
    /// Internal: the simulator's URL.
    #[arg(long, hide = true, default_value = "")]
    url: String,
    /// Internal: when the clients start, in ms since 1970.
    #[arg(long, hide = true, default_value_t = 0)]
    epoch_ms: u64,
    /// Internal: the Redis key prefix of this run.
    #[arg(long, hide = true, default_value = "fleet")]
    prefix: String,
}

impl Args {
    /// The model called.
    fn model(&self) -> &str {
        match (&self.model, self.scenario) {
            (Some(model), _) => model,
            (None, Scenario::Calls) => "qwq-plus",
            (None, Scenario::Tasks) => "wan2.6-t2v",
        }
    }

    /// The deployment mode.
    fn deployment(&self) -> Deployment {
        match (self.deployment, self.scenario) {
            (Some(mode), _) => mode,
            (None, Scenario::Calls) => Deployment::INTERNATIONAL,
            (None, Scenario::Tasks) => Deployment::MAINLAND_CHINA,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let result = match args.client {
        Some(index) => rt.block_on(client(&args, index)),
        None => rt.block_on(parent(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The model called, and its limits in the mode.
struct Called {
    resolved: Resolved,
    limits: Limits,
    rpm: u32,
    tpm: u64,
}

fn model_limits(args: &Args) -> Result<Called, Error> {
    let (name, mode) = (args.model(), args.deployment());
    let table = LimitTable::published();
    let entry = table
        .get(name)
        .ok_or_else(|| format!("`{name}` is no model of limits.toml"))?;
    let limits = entry
        .limits_in(mode)
        .ok_or_else(|| format!("`{name}` has no limits in mode `{mode}`"))?;
    let (rpm, tpm) = match args.scenario {
        Scenario::Calls => match (limits.rpm(), limits.tpm()) {
            (Some(rpm), Some(tpm)) => (rpm, tpm),
            _ => {
                return Err(format!(
                    "`{name}` in mode `{mode}` has no requests and tokens per minute, which \
                     the calls scenario needs"
                )
                .into())
            }
        },
        Scenario::Tasks if limits.concurrency().is_none() => {
            return Err(format!(
                "`{name}` in mode `{mode}` has no limit of tasks in flight, which the tasks \
                 scenario needs"
            )
            .into())
        }
        Scenario::Tasks => (0, 0),
    };
    Ok(Called {
        resolved: Resolved {
            id: entry.id.clone(),
            limits: entry.limits.clone(),
            pools: entry.pools.clone(),
        },
        limits,
        rpm,
        tpm,
    })
}

/// What one strategy's run measured.
pub(crate) struct Outcome {
    strategy: Strategy,
    accepted: u64,
    rejected: u64,
    utilization: f64,
    p50_wait_ms: f64,
    p99_wait_ms: f64,
    /// Per second of the run: accepted requests and tokens (as the clients saw them).
    timeline: BTreeMap<u64, (u64, u64)>,
}

async fn stats(base: &str) -> Result<Value, Error> {
    let text = reqwest::get(format!("{base}/sim/stats"))
        .await?
        .text()
        .await?;
    Ok(serde_json::from_str(&text)?)
}

fn rejected(stats: &Value) -> u64 {
    stats["rejected"]
        .as_object()
        .map_or(0, |r| r.values().filter_map(Value::as_u64).sum())
}

async fn parent(args: &Args) -> Result<(), Error> {
    let model = model_limits(args)?;
    let window = Duration::try_from_secs_f64(args.window_seconds)?;
    if args.strategies.iter().any(|s| s.through_redis()) && std::env::var("REDIS_URL").is_err() {
        return Err("strategy `redis` needs REDIS_URL (redis://127.0.0.1:PORT/)".into());
    }
    let keys = args
        .strategies
        .iter()
        .map(|s| (format!("k-{}", s.name()), format!("acct-{}", s.name())))
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut sim = SimConfig::new(LimitTable::published(), keys, window);
    sim.deployment = args.deployment();
    sim.task_seconds = args.task_seconds;
    let real = scaled(&model.limits, args.account_factor);
    if args.account_factor != 1.0 {
        for strategy in &args.strategies {
            let account = format!("acct-{}", strategy.name());
            sim.account_limits
                .insert((account, model.resolved.id.clone()), real);
        }
    }
    tokio::spawn(async move { axum::serve(listener, router(sim)).await });
    let exe = std::env::current_exe()?;
    let mut outcomes = Vec::new();
    for &strategy in &args.strategies {
        let before = stats(&base).await?;
        let epoch_ms = now_ms() + 500;
        let prefix = format!("fleet-{}-{epoch_ms}", std::process::id());
        let mut children = Vec::new();
        for index in 0..args.processes {
            let child = tokio::process::Command::new(&exe)
                .args(["--client", &index.to_string(), "--url", &base])
                .args(["--epoch-ms", &epoch_ms.to_string(), "--prefix", &prefix])
                .args(["--processes", &args.processes.to_string()])
                .args(["--tasks", &args.tasks.to_string()])
                .args(["--seconds", &args.seconds.to_string()])
                .args(["--window-seconds", &args.window_seconds.to_string()])
                .args(["--model", args.model(), "--strategies", strategy.name()])
                .args(["--deployment", &args.deployment().to_string()])
                .args(["--scenario", args.scenario.name()])
                .args(["--task-seconds", &args.task_seconds.to_string()])
                .args(["--headroom", &args.headroom.to_string()])
                .args(["--seed", &args.seed.to_string()])
                .args(
                    args.request_tokens
                        .map(|n| ["--request-tokens".to_string(), n.to_string()])
                        .into_iter()
                        .flatten(),
                )
                .args(
                    args.arrival_margin_ms
                        .map(|ms| ["--arrival-margin-ms".to_string(), ms.to_string()])
                        .into_iter()
                        .flatten(),
                )
                .stdout(Stdio::piped())
                .spawn()?;
            children.push(child);
        }
        // Tasks in flight are measured over the run exactly: the clients
        // poll their last tasks to the end after it.
        let busy = match args.scenario {
            Scenario::Tasks => {
                let account = format!("acct-{}", strategy.name());
                Some(tasks::busy_over(&base, &account, epoch_ms, args.seconds).await?)
            }
            Scenario::Calls => None,
        };
        let mut waits = Vec::new();
        let mut timeline: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for child in children {
            let out = child.wait_with_output().await?;
            if !out.status.success() {
                return Err(format!("a {} client failed: {}", strategy.name(), out.status).into());
            }
            let report: Value = serde_json::from_slice(&out.stdout)?;
            waits.extend(
                report["waits_us"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64),
            );
            for row in report["timeline"].as_array().into_iter().flatten() {
                let n = |i: usize| row[i].as_u64().unwrap_or(0);
                let slot = timeline.entry(n(0)).or_default();
                slot.0 += n(1);
                slot.1 += n(2);
            }
        }
        let after = stats(&base).await?;
        let delta =
            |key: &str| after[key].as_u64().unwrap_or(0) - before[key].as_u64().unwrap_or(0);
        let (accepted, tokens) = (delta("accepted"), delta("tokens"));
        let share = args.seconds / args.window_seconds;
        let utilization = match busy {
            Some(busy_seconds) => {
                let limit = real.concurrency().unwrap_or(1);
                busy_seconds / (args.seconds * f64::from(limit))
            }
            None => {
                let rpm = f64::from(real.rpm().unwrap_or(model.rpm));
                let tpm = real.tpm().unwrap_or(model.tpm) as f64;
                (accepted as f64 / (rpm * share)).max(tokens as f64 / (tpm * share))
            }
        };
        let accepted = match args.scenario {
            Scenario::Tasks => {
                after["tasks"]["submitted"].as_u64().unwrap_or(0)
                    - before["tasks"]["submitted"].as_u64().unwrap_or(0)
            }
            Scenario::Calls => accepted,
        };
        waits.sort_unstable();
        let at = |q: f64| {
            waits
                .get(((waits.len().max(1) - 1) as f64 * q) as usize)
                .map_or(0.0, |&us| us as f64 / 1_000.0)
        };
        let by_rule: Vec<String> = after["rejected"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(rule, n)| {
                let was = before["rejected"][rule].as_u64().unwrap_or(0);
                let n = n.as_u64()? - was;
                (n > 0).then(|| format!("{rule} {n}"))
            })
            .collect();
        if !by_rule.is_empty() {
            eprintln!(
                "{}: rejected by rule: {}",
                strategy.name(),
                by_rule.join(", ")
            );
        }
        let outcome = Outcome {
            strategy,
            accepted,
            rejected: rejected(&after) - rejected(&before),
            utilization,
            p50_wait_ms: at(0.50),
            p99_wait_ms: at(0.99),
            timeline,
        };
        report(args, &outcome);
        outcomes.push(outcome);
    }
    if let Some(path) = &args.plot {
        match args.scenario {
            Scenario::Calls => plot(path, args, (model.rpm, model.tpm), &outcomes)?,
            Scenario::Tasks => tasks::plot(path, args, &model.limits, &outcomes)?,
        }
    }
    Ok(())
}

/// `limits` with every kind multiplied by `factor` (at least 1 each).
fn scaled(limits: &Limits, factor: f64) -> Limits {
    let u32_of = |n: u32| ((f64::from(n) * factor) as u32).max(1);
    let mut out = Limits::NONE;
    if let Some(n) = limits.rpm() {
        out = out.with_rpm(u32_of(n));
    }
    if let Some(n) = limits.tpm() {
        out = out.with_tpm(((n as f64 * factor) as u64).max(1));
    }
    if let Some(n) = limits.rps() {
        out = out.with_rps(u32_of(n));
    }
    if let Some(n) = limits.submit_rps() {
        out = out.with_submit_rps(u32_of(n));
    }
    if let Some(n) = limits.submit_rpm() {
        out = out.with_submit_rpm(u32_of(n));
    }
    if let Some(n) = limits.query_rps() {
        out = out.with_query_rps(u32_of(n));
    }
    if let Some(n) = limits.concurrency() {
        out = out.with_concurrency(u32_of(n));
    }
    if limits.sync_unlimited() {
        out = out.with_sync_unlimited();
    }
    out
}

fn report(args: &Args, o: &Outcome) {
    let round = |x: f64, digits: i32| (x * 10f64.powi(digits)).round() / 10f64.powi(digits);
    if args.json {
        // Written by hand to keep the documented key order (serde_json's
        // map sorts keys unless the whole build turns on preserve_order).
        println!(
            "{{\"strategy\": {}, \"accepted\": {}, \"rejected\": {}, \"utilization\": {}, \
             \"p50_wait_ms\": {}, \"p99_wait_ms\": {}}}",
            json!(o.strategy.name()),
            o.accepted,
            o.rejected,
            json!(round(o.utilization, 4)),
            json!(round(o.p50_wait_ms, 1)),
            json!(round(o.p99_wait_ms, 1))
        );
    } else {
        println!(
            "{:<9} accepted {:>6}  rejected {:>6}  utilization {:>6.1}%  wait p50 {:>8.1} ms  p99 {:>8.1} ms",
            o.strategy.name(),
            o.accepted,
            o.rejected,
            o.utilization * 100.0,
            o.p50_wait_ms,
            o.p99_wait_ms
        );
    }
}

/// A request body with a seeded size: a prompt of 100 to 2,000 characters
/// and a `max_tokens` of 50 (40%), 200 (30%), 500 (20%) or 1,500 (10%);
/// or of `fixed` tokens in all (a prompt of 4 characters).
fn body(rng: &mut fastrand::Rng, model: &str, fixed: Option<u32>) -> (Value, u32) {
    let (prompt, output) = match fixed {
        // 1 token of prompt and 4 of the message: the rest is output.
        Some(n) => ("x".repeat(4), n.saturating_sub(5).max(1)),
        None => (
            "x".repeat(rng.usize(100..=2_000)),
            match rng.u32(0..10) {
                0..=3 => 50,
                4..=6 => 200,
                7..=8 => 500,
                _ => 1_500,
            },
        ),
    };
    // The simulator's count: a quarter of the bytes, 4 a message, the output.
    let tokens = (prompt.len() as u32).div_ceil(4) + 4 + output;
    let body = json!({"model": model, "max_tokens": output,
        "messages": [{"role": "user", "content": prompt}]});
    (body, tokens)
}

/// What one client process saw, printed as one JSON object.
#[derive(Default)]
struct Seen {
    waits_us: Vec<u64>,
    timeline: BTreeMap<u64, (u64, u64)>,
    errors: u64,
}

type Limiter = governor::DefaultDirectRateLimiter;

async fn client(args: &Args, index: u32) -> Result<(), Error> {
    let strategy = *args.strategies.first().ok_or("no strategy")?;
    let model = model_limits(args)?;
    let window = Duration::try_from_secs_f64(args.window_seconds)?;
    let config = Config::default()
        .with_window(window)
        .with_max_wait(Duration::try_from_secs_f64(args.seconds)?)
        .with_adaptation(Adaptation::default().with_cooldown(window / 60));
    let config = match args.arrival_margin_ms {
        Some(ms) => config.with_arrival_margin(Duration::try_from_secs_f64(ms / 1_000.0)?),
        None => config,
    };
    let config = match strategy {
        Strategy::LocalSpaced | Strategy::RedisSpaced => config
            .with_schedule_tolerance(Duration::ZERO)
            .with_arrival_margin(Duration::ZERO),
        _ => config,
    };
    let throttled = |throttle: Throttle| {
        let resolved = model.resolved.clone();
        let middleware = ThrottleMiddleware::new(throttle)
            .with_resolver(move |_| Some(resolved.clone()))
            .with_options(
                Options::default()
                    .with_retries(3)
                    .with_deployment(args.deployment()),
            );
        ClientBuilder::new(reqwest::Client::new())
            .with(middleware)
            .build()
    };
    let http: ClientWithMiddleware = match strategy {
        Strategy::None | Strategy::Governor => ClientBuilder::new(reqwest::Client::new()).build(),
        Strategy::Local | Strategy::LocalSpaced => {
            let share = config.with_headroom(args.headroom / f64::from(args.processes));
            let throttle = Throttle::in_process(share)?;
            if let Some(n) = model.limits.concurrency() {
                // A process's share of the tasks in flight, at least one.
                let own = (n / args.processes).max(1);
                throttle
                    .for_deployment(args.deployment())
                    .set_limits(&model.resolved.id, model.limits.with_concurrency(own));
            }
            throttled(throttle)
        }
        Strategy::Redis | Strategy::RedisSpaced => {
            // `REDIS_URL`: one server, `redis://` or `rediss://` (a
            // private CA's PEM in `REDIS_CA_FILE`); `REDIS_CLUSTER_NODES`:
            // a cluster's nodes, separated by commas.
            let cluster = std::env::var("REDIS_CLUSTER_NODES").ok();
            let url = match &cluster {
                Some(nodes) => nodes.clone(),
                None => std::env::var("REDIS_URL")?,
            };
            let mut options = RedisOptions::default()
                .with_prefix(args.prefix.clone())
                .with_timeout(Duration::from_millis(500))
                .with_task_poll(tasks::poll(window));
            if let (true, Ok(path)) = (url.starts_with("rediss://"), std::env::var("REDIS_CA_FILE"))
            {
                let pem = std::fs::read(path)?;
                options = options.with_tls(limits_throttle::redis::Tls::trusting(pem));
            }
            let store = match &cluster {
                Some(nodes) => {
                    let nodes: Vec<&str> = nodes.split(',').collect();
                    RedisStore::open_cluster(&nodes, options).await?
                }
                None => RedisStore::open(&url, options)?,
            };
            throttled(Throttle::redis(store, config.with_headroom(args.headroom))?)
        }
    };
    if args.scenario == Scenario::Tasks {
        return tasks::client(args, index, strategy, &model, http, window).await;
    }
    // Governor: a process's share of each limit, as a per-minute quota
    // (which lets the whole share go at once).
    let governors = (strategy == Strategy::Governor).then(|| {
        let quota = |limit: u64| {
            let share = u32::try_from(limit / u64::from(args.processes))
                .unwrap_or(u32::MAX)
                .max(1);
            let per = window / share;
            Quota::with_period(per)
                .expect("a positive period")
                .allow_burst(NonZeroU32::new(share).expect("at least one"))
        };
        Arc::new((
            RateLimiter::direct(quota(u64::from(model.rpm))),
            RateLimiter::direct(quota(model.tpm)),
        ))
    });
    let epoch = UNIX_EPOCH + Duration::from_millis(args.epoch_ms);
    let start_in = epoch.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(start_in).await;
    let started = Instant::now();
    let deadline = started + Duration::try_from_secs_f64(args.seconds)?;
    let url = format!("{}/compatible-mode/v1/chat/completions", args.url);
    let key = format!("k-{}", strategy.name());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut tasks = Vec::new();
    for task in 0..args.tasks {
        let (http, url, key, seen, governors) = (
            http.clone(),
            url.clone(),
            key.clone(),
            seen.clone(),
            governors.clone(),
        );
        let mut rng = fastrand::Rng::with_seed(
            args.seed ^ (u64::from(index) << 32) ^ u64::from(task).wrapping_mul(0x9e37_79b9),
        );
        let model_id = model.resolved.id.clone();
        let request_tokens = args.request_tokens;
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let (body, tokens) = body(&mut rng, &model_id, request_tokens);
                let wanted = Instant::now();
                let sent = tokio::time::timeout_at(
                    deadline.into(),
                    call(
                        &http,
                        &url,
                        &key,
                        &body,
                        tokens,
                        governors.as_deref(),
                        window,
                        &mut rng,
                    ),
                )
                .await;
                let mut seen = seen.lock().unwrap();
                match sent {
                    Ok(Some(used)) => {
                        seen.waits_us.push(wanted.elapsed().as_micros() as u64);
                        let slot = seen
                            .timeline
                            .entry(started.elapsed().as_secs())
                            .or_default();
                        slot.0 += 1;
                        slot.1 += used;
                    }
                    Ok(None) => seen.errors += 1,
                    Err(_) => break,
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let timeline: Vec<Value> = seen
        .timeline
        .iter()
        .map(|(s, (r, t))| json!([s, r, t]))
        .collect();
    println!(
        "{}",
        json!({"waits_us": seen.waits_us, "timeline": timeline, "errors": seen.errors})
    );
    Ok(())
}

/// Sends one call until it is accepted: the tokens it used, or `None` on
/// an error that is no rate limit. Without a throttle a 429 is retried
/// after an exponential backoff with jitter (0.5 s doubling to 8 s, in a
/// 60 s window); the throttles' middleware retries by itself first.
#[allow(clippy::too_many_arguments)]
async fn call(
    http: &ClientWithMiddleware,
    url: &str,
    key: &str,
    body: &Value,
    tokens: u32,
    governors: Option<&(Limiter, Limiter)>,
    window: Duration,
    rng: &mut fastrand::Rng,
) -> Option<u64> {
    let mut backoff = Backoff::new(window);
    loop {
        if let Some((requests, token_limiter)) = governors {
            requests.until_ready().await;
            if let Some(n) = NonZeroU32::new(tokens) {
                // A request larger than a process's share cannot pass.
                token_limiter.until_n_ready(n).await.ok()?;
            }
        }
        let request = http.post(url).bearer_auth(key);
        match send_json(request, body).await? {
            (200, json) => return json["usage"]["total_tokens"].as_u64(),
            (429, _) => backoff.wait(rng).await,
            _ => return None,
        }
    }
}

/// Sends `request` with `body` as JSON: the answer's status and its body
/// read as JSON (null if it is none); `None` if it could not be sent or
/// read.
pub(crate) async fn send_json(
    request: reqwest_middleware::RequestBuilder,
    body: &Value,
) -> Option<(u16, Value)> {
    let response = request
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let text = response.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The clients' backoff after a 429 without a throttle, as the OpenAI SDKs
/// do: 0.5 s doubling to 8 s (in a 60 s window; scaled to the run's), plus
/// up to a quarter of it at random.
pub(crate) struct Backoff {
    next: Duration,
    most: Duration,
}

impl Backoff {
    pub(crate) fn new(window: Duration) -> Self {
        let scale = window.as_secs_f64() / 60.0;
        Backoff {
            next: Duration::from_secs_f64(0.5 * scale),
            most: Duration::from_secs_f64(8.0 * scale),
        }
    }

    /// Sleeps the next backoff, and doubles it.
    pub(crate) async fn wait(&mut self, rng: &mut fastrand::Rng) {
        let jitter = self.next.mul_f64(0.25 * rng.f64());
        tokio::time::sleep(self.next + jitter).await;
        self.next = (self.next * 2).min(self.most);
    }
}

/// Two panels, requests and tokens per second, one line per strategy, with
/// the limit as a dashed line.
fn plot(
    path: &PathBuf,
    args: &Args,
    (rpm, tpm): (u32, u64),
    outcomes: &[Outcome],
) -> Result<(), Error> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (960, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 1));
    let per_second = |limit: u64| limit as f64 / args.window_seconds;
    let caption = |what: &str| format!("{what}, {} x {} tasks", args.processes, args.tasks);
    panel(
        &panels[0],
        &caption("requests per second"),
        args.seconds,
        per_second(u64::from(rpm)),
        outcomes,
        |(r, _)| *r as f64,
    )?;
    panel(
        &panels[1],
        &caption("tokens per second"),
        args.seconds,
        per_second(tpm),
        outcomes,
        |(_, t)| *t as f64,
    )?;
    root.present()?;
    Ok(())
}

/// One panel of a plot: `value` of each second of the run, one line per
/// strategy, and the limit as a black line.
fn panel(
    area: &plotters::drawing::DrawingArea<
        plotters::prelude::SVGBackend<'_>,
        plotters::coord::Shift,
    >,
    caption: &str,
    seconds: f64,
    limit: f64,
    outcomes: &[Outcome],
    value: impl Fn(&(u64, u64)) -> f64,
) -> Result<(), Error> {
    use plotters::prelude::*;
    let top = outcomes
        .iter()
        .flat_map(|o| o.timeline.values().map(&value))
        .fold(limit, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..seconds, 0f64..top)?;
    chart.configure_mesh().x_desc("second of the run").draw()?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, limit), (seconds, limit)],
            BLACK.stroke_width(2),
        ))?
        .label("limit")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    for (o, color) in outcomes
        .iter()
        .zip([RED, BLUE, GREEN, MAGENTA].iter().cycle())
    {
        // Every second of the run, with nothing as 0.
        let points = (0..seconds.ceil() as u64).map(|s| {
            let v = o.timeline.get(&s).copied().unwrap_or_default();
            (s as f64 + 0.5, value(&v))
        });
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(o.strategy.name())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    Ok(())
}
