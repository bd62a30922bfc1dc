//! The task APIs through the middleware, against the simulator serving
//! Mainland China's table: submissions hold a slot until a query sees the
//! task end (or the longest task time passes), queries are paced, voice
//! enrollments share their pool's budget, Batch calls pass untouched.

use std::collections::HashMap;
use std::time::Duration;

use limits_reqwest::{Options, ThrottleMiddleware, UnknownModels};
use limits_throttle::{Config, Deployment, HasLimits, Throttle};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::Model;
use modelstudio_sim::{router, SimConfig};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::{json, Value};

const CN: Deployment = Deployment::MAINLAND_CHINA;
const VIDEO: &str = "/api/v1/services/aigc/video-generation/video-synthesis";

/// A simulator of Mainland China with a 6 s "minute" (a "second" of
/// 100 ms) and tasks of `task_seconds` "seconds"; its base URL.
async fn simulator(task_seconds: f64) -> String {
    simulator_of(LimitTable::published(), task_seconds).await
}

/// The same, serving `table`.
async fn simulator_of(table: LimitTable, task_seconds: f64) -> String {
    let keys = HashMap::from([("sk".to_string(), "acct".to_string())]);
    let mut config = SimConfig::new(table, keys, Duration::from_secs(6));
    config.deployment = CN;
    config.task_seconds = task_seconds;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(config)).await });
    format!("http://{addr}")
}

/// A throttle of Mainland China on the simulator's "minute".
fn throttle() -> Throttle {
    let config = Config::default().with_window(Duration::from_secs(6));
    Throttle::in_process(config).unwrap().for_deployment(CN)
}

fn client(middleware: ThrottleMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

/// The first model of the table with tasks in flight in Mainland China.
fn video_model() -> Model {
    *Model::ALL
        .iter()
        .find(|m| {
            m.limits_in(CN)
                .is_some_and(|l| l.concurrency().is_some() && l.submit_rps().is_some())
        })
        .unwrap()
}

async fn submit(client: &ClientWithMiddleware, base: &str, model: &str) -> Value {
    let response = client
        .post(format!("{base}{VIDEO}"))
        .bearer_auth("sk")
        .header("X-DashScope-Async", "enable")
        .header("content-type", "application/json")
        .body(json!({"model": model, "input": {"prompt": "a cat"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

async fn status(client: &ClientWithMiddleware, base: &str, id: &str) -> String {
    let response = client
        .get(format!("{base}/api/v1/tasks/{id}"))
        .bearer_auth("sk")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["output"]["task_status"].as_str().unwrap().to_string()
}

async fn sim_stats(base: &str) -> Value {
    let response = reqwest::get(format!("{base}/sim/stats")).await.unwrap();
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// Three times as many clients as the model has slots, each submitting
/// and polling its task to the end: the provider refuses nothing, and
/// every slot is free at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submissions_hold_slots_until_a_query_sees_the_end() {
    let base = simulator(3.0).await;
    let model = video_model();
    let limit = model.limits_in(CN).unwrap().concurrency().unwrap();
    let throttle = throttle();
    let middleware = ThrottleMiddleware::new(throttle.clone());
    let client = client(middleware.clone());
    let mut all = Vec::new();
    for _ in 0..3 * limit {
        let (client, base) = (client.clone(), base.clone());
        all.push(tokio::spawn(async move {
            let answer = submit(&client, &base, model.id()).await;
            let id = answer["output"]["task_id"].as_str().unwrap().to_string();
            while status(&client, &base, &id).await != "SUCCEEDED" {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    for one in all {
        one.await.unwrap();
    }
    let stats = sim_stats(&base).await;
    assert_eq!(stats["tasks"]["submitted"], 3 * limit, "{stats}");
    for kind in ["submit", "concurrency", "query"] {
        assert_eq!(stats["rejected"][kind], 0, "{kind}: {stats}");
    }
    assert_eq!(middleware.tasks_in_flight(), 0);
    assert_eq!(throttle.tasks_in_flight(&model).await.unwrap(), 0);
}

/// A task no query follows holds its slot for the longest task time.
#[tokio::test]
async fn a_task_nobody_queries_frees_its_slot_after_the_longest_task_time() {
    let base = simulator(3.0).await;
    let model = video_model();
    let throttle = throttle();
    let longest = Duration::from_millis(300);
    let middleware = ThrottleMiddleware::new(throttle.clone())
        .with_options(Options::default().with_max_task_time(longest));
    let client = client(middleware.clone());
    submit(&client, &base, model.id()).await;
    assert_eq!(middleware.tasks_in_flight(), 1);
    assert_eq!(throttle.tasks_in_flight(&model).await.unwrap(), 1);
    // Freed once the longest task time has passed: polled, with a deadline
    // far beyond it.
    let submitted = std::time::Instant::now();
    while middleware.tasks_in_flight() != 0 {
        assert!(
            submitted.elapsed() < longest * 20,
            "the slot was freed within {:?}",
            longest * 20
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(throttle.tasks_in_flight(&model).await.unwrap(), 0);
}

/// A table where voice cloning is one budget of 10 submissions a second
/// for the CosyVoice models, beside their own limits (the page of 2026-02
/// said so; the newest page lists no such pool).
const VOICE_POOL: &str = r#"
schema = 3

[source]
provider = "Alibaba Cloud Model Studio (our account)"
url = "https://example.com/ticket/8"

[[section]]
id = "voice-cloning"
region = "cn-beijing"
scope = "cn"
title = "Voice cloning"

[[section.group]]
rps = 3
models = ["cosyvoice-v2", "cosyvoice-v1"]

[[section.group]]
submit_rps = 10
pool = "voice-cloning"
models = ["cosyvoice-v2", "cosyvoice-v1"]
"#;

/// Voice enrollments of the models of one pool share its budget: sent as
/// fast as the middleware lets them, none is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enrollments_share_their_pools_budget() {
    let table = LimitTable::from_toml_str("voice.toml", VOICE_POOL).unwrap();
    let base = simulator_of(table.clone(), 1.0).await;
    let pooled: Vec<String> = table
        .iter()
        .filter(|e| {
            e.budget_in(CN)
                .is_some_and(|(name, _)| name == "voice-cloning")
        })
        .map(|e| e.id.clone())
        .collect();
    assert!(pooled.len() >= 2, "{pooled:?}");
    let first = table.get(&pooled[0]).unwrap();
    let per_second = first.budget_in(CN).unwrap().1.submit_rps().unwrap();
    let client = client(ThrottleMiddleware::new(throttle()).with_table(table));
    let mut all = Vec::new();
    for i in 0..3 * per_second as usize {
        let (client, base) = (client.clone(), base.clone());
        let target = pooled[i % pooled.len()].clone();
        all.push(tokio::spawn(async move {
            let response = client
                .post(format!("{base}/api/v1/services/audio/tts/customization"))
                .bearer_auth("sk")
                .header("content-type", "application/json")
                .body(
                    json!({"model": "voice-enrollment",
                        "input": {"action": "create_voice", "target_model": target}})
                    .to_string(),
                )
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }));
    }
    for one in all {
        assert_eq!(one.await.unwrap(), 200);
    }
    let stats = sim_stats(&base).await;
    assert_eq!(stats["rejected"]["submit"], 0, "{stats}");
}

/// Batch API calls pass untouched, even where unknown models are refused.
#[tokio::test]
async fn batch_calls_pass_untouched() {
    let base = simulator(1.0).await;
    let middleware = ThrottleMiddleware::new(throttle())
        .with_options(Options::default().with_unknown_models(UnknownModels::Refuse));
    let client = client(middleware);
    let response = client
        .post(format!("{base}/compatible-mode/v1/batches"))
        .bearer_auth("sk")
        .body(json!({"model": "no-such-model", "input_file_id": "f"}).to_string())
        .send()
        .await
        .unwrap();
    // The simulator serves no Batch API: its 404 comes back as it is.
    assert_eq!(response.status(), 404);
}
