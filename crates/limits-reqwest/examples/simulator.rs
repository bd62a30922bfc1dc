//! Plain reqwest with the throttle's middleware, calling Model Studio's
//! simulator on loopback: 20 concurrent calls to a model limited to 60
//! requests a minute, paced so that none is refused (the simulator's
//! stats at the end say so).
//!
//! `cargo run -p limits-reqwest --example simulator`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use limits_reqwest::ThrottleMiddleware;
use limits_throttle::{Config, Throttle};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::{Deployment, Model};
use modelstudio_sim::{router, SimConfig};
use reqwest_middleware::ClientBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A "minute" of 6 s, so the example runs in seconds.
    let window = Duration::from_secs(6);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let keys = HashMap::from([("sk-example".to_string(), "my-account".to_string())]);
    let mut sim = SimConfig::new(LimitTable::published(), keys, window);
    // The simulator on loopback serves International's table, the
    // throttle's default mode for hosts that are not DashScope's.
    sim.deployment = Deployment::INTERNATIONAL;
    tokio::spawn(async move { axum::serve(listener, router(sim)).await });

    // 90% of the limit: calls paced exactly at the limit reach the provider
    // a little closer together or further apart than they were sent, and
    // the provider counts arrivals.
    let throttle = Throttle::in_process(Config::default().with_window(window).with_headroom(0.9))?;
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(ThrottleMiddleware::new(throttle))
        .build();
    let model = Model::QwqPlus;
    let rpm = model
        .limits_in(Deployment::INTERNATIONAL)
        .and_then(|l| l.rpm())
        .ok_or("qwq-plus has an RPM in International")?;
    println!("{model}: {rpm} requests a minute ({window:?} here)");
    let started = Instant::now();
    let calls = (0..20).map(|i| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let body = serde_json::json!({"model": model.id(), "max_tokens": 50,
                "messages": [{"role": "user", "content": format!("question {i}")}]});
            let response = client
                .post(format!("{base}/compatible-mode/v1/chat/completions"))
                .bearer_auth("sk-example")
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await?;
            Ok::<_, reqwest_middleware::Error>((i, response.status(), started.elapsed()))
        }
    });
    for result in futures_util::future::join_all(calls).await {
        let (i, status, at) = result?;
        println!(
            "call {i:2}: {status} after {:.0} ms",
            at.as_secs_f64() * 1e3
        );
    }
    let stats = reqwest::get(format!("{base}/sim/stats"))
        .await?
        .text()
        .await?;
    println!("simulator: {stats}");
    Ok(())
}
