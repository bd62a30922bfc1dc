//! The middleware against the simulator on loopback, through plain
//! reqwest: calls are paced, reconciled with their usage (streams too),
//! rate-limit 429s are reported and retried, anything else is handed back
//! untouched.

use std::collections::HashMap;
use std::time::Duration;

use limits_reqwest::{Options, Resolved, ThrottleMiddleware, UnknownModel, UnknownModels};
use limits_throttle::{Config, Deployment, Limits, Pacing, Throttle};
use modelstudio_limits::runtime::LimitTable;
use modelstudio_limits::Model;
use modelstudio_sim::{router, SimConfig};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::{json, Value};

/// A simulator on a free loopback port with one key, `sk`, serving the
/// International table; its base URL.
async fn simulator(window: Duration) -> String {
    simulator_in(window, Deployment::INTERNATIONAL).await
}

/// A simulator serving the table of `deployment`.
async fn simulator_in(window: Duration, deployment: Deployment) -> String {
    let keys = HashMap::from([("sk".to_string(), "acct".to_string())]);
    let mut config = SimConfig::new(LimitTable::published(), keys, window);
    config.deployment = deployment;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(config)).await });
    format!("http://{addr}")
}

/// A model's requests and tokens per minute in International.
fn intl(model: Model) -> (u32, u64) {
    let l = model.limits_in(Deployment::INTERNATIONAL).unwrap();
    (l.rpm().unwrap(), l.tpm().unwrap())
}

/// Limits the same in every mode.
fn everywhere(limits: Limits) -> Vec<(Deployment, Limits)> {
    Deployment::ALL.iter().map(|&d| (d, limits)).collect()
}

fn client(middleware: ThrottleMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

async fn call(client: &ClientWithMiddleware, url: &str, body: Value) -> (u16, String) {
    let response = client
        .post(url)
        .bearer_auth("sk")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

const CHAT: &str = "/compatible-mode/v1/chat/completions";

/// qwen-max as the throttle sees it: 36,000 tokens a minute, 600 a
/// "second" (bursty pacing: no spacing between requests).
fn tight() -> Resolved {
    Resolved {
        id: Model::QwenMax.id().to_string(),
        limits: everywhere(Limits::NONE.with_rpm(6_000).with_tpm(36_000)),
        pools: Vec::new(),
    }
}

fn tight_middleware() -> ThrottleMiddleware {
    let config = Config::default()
        .with_window(Duration::from_secs(600))
        .with_pacing(Pacing::Bursty { burst: 1.0 / 60.0 });
    let throttle = Throttle::in_process(config).unwrap();
    ThrottleMiddleware::new(throttle).with_resolver(|name| {
        Model::from_id(name)
            .filter(|m| *m == Model::QwenMax)
            .map(|_| tight())
    })
}

/// Whether another 520 tokens fit in this "second" of the throttle.
async fn room_for_520(middleware: &ThrottleMiddleware) -> bool {
    middleware
        .throttle()
        .acquire(&tight(), 520, Duration::ZERO)
        .await
        .map(drop)
        .is_ok()
}

#[tokio::test]
async fn calls_are_reconciled_with_the_usage_they_report() {
    let base = simulator(Duration::from_secs(600)).await;
    let middleware = tight_middleware();
    let client = client(middleware.clone());
    // No max_tokens: estimated with 512 output tokens, the simulator
    // answers 16. Two such calls fit in 600 tokens only once reconciled.
    let body = json!({"model": "qwen-max", "messages": [{"role": "user", "content": "hi"}]});
    for _ in 0..2 {
        let (status, text) = call(&client, &format!("{base}{CHAT}"), body.clone()).await;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["usage"]["completion_tokens"], 16);
    }
    assert!(
        room_for_520(&middleware).await,
        "the estimates were not replaced"
    );
}

#[tokio::test]
async fn a_stream_is_reconciled_with_its_last_usage_chunk() {
    let base = simulator(Duration::from_secs(600)).await;
    let middleware = tight_middleware();
    let client = client(middleware.clone());
    let body = json!({"model": "qwen-max", "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}]});
    for _ in 0..2 {
        let (status, text) = call(&client, &format!("{base}{CHAT}"), body.clone()).await;
        assert_eq!(status, 200);
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        assert!(text.contains("\"usage\""), "{text}");
    }
    assert!(
        room_for_520(&middleware).await,
        "the stream's usage was not used"
    );
}

#[tokio::test]
async fn a_rate_limit_429_is_reported_and_retried() {
    // A real minute: the two calls, 60 s / 600 = 100 ms apart by the
    // throttle's wrong table, fall in one second of the simulator's.
    let base = simulator(Duration::from_secs(60)).await;
    let model = *Model::ALL
        .iter()
        .filter(|m| {
            m.limits_in(Deployment::INTERNATIONAL)
                .is_some_and(|l| l.rpm().is_some() && l.tpm().is_some() && !l.has_task_kinds())
        })
        .min_by_key(|m| intl(**m).0)
        .unwrap();
    let (rpm, tpm) = intl(model);
    // The throttle believes in ten times the requests the simulator allows.
    let wrong = Resolved {
        id: model.id().to_string(),
        limits: everywhere(Limits::NONE.with_rpm(rpm * 10).with_tpm(tpm)),
        pools: Vec::new(),
    };
    // The default reaction: a 1 s cool-down, after which the simulator's
    // second has passed and the retry is accepted.
    let throttle = Throttle::in_process(Config::default()).unwrap();
    let resolved = wrong.clone();
    let middleware =
        ThrottleMiddleware::new(throttle).with_resolver(move |_| Some(resolved.clone()));
    let client = client(middleware.clone());
    let body = json!({"model": model.id(), "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}]});
    let url = format!("{base}{CHAT}");
    let (first, second) =
        tokio::join!(call(&client, &url, body.clone()), call(&client, &url, body));
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    let stats = reqwest::get(format!("{base}/sim/stats")).await.unwrap();
    let stats: Value = serde_json::from_str(&stats.text().await.unwrap()).unwrap();
    assert_eq!(stats["accepted"], 2);
    let refused: u64 = ["rps", "burst"]
        .iter()
        .map(|r| stats["rejected"][r].as_u64().unwrap())
        .sum();
    assert!(refused >= 1, "{stats}");
    let effective = middleware
        .throttle()
        .effective(&wrong)
        .await
        .unwrap()
        .unwrap();
    assert!(effective.requests_factor < 1.0, "{effective:?}");
}

#[tokio::test]
async fn other_answers_and_other_requests_are_untouched() {
    let base = simulator(Duration::from_secs(60)).await;
    let throttle = Throttle::in_process(Config::default()).unwrap();
    let client = client(ThrottleMiddleware::new(throttle.clone()));
    // A bad key: 401, handed back as it came.
    let response = client
        .post(format!("{base}{CHAT}"))
        .bearer_auth("wrong")
        .body(json!({"model": "qwen-max", "messages": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("InvalidApiKey"));
    // An unknown model passes unthrottled by default (the simulator: 404)...
    let (status, _) = call(&client, &format!("{base}{CHAT}"), json!({"model": "mine"})).await;
    assert_eq!(status, 404);
    // ... or is refused before sending.
    let refusing = ClientBuilder::new(reqwest::Client::new())
        .with(
            ThrottleMiddleware::new(throttle)
                .with_options(Options::default().with_unknown_models(UnknownModels::Refuse)),
        )
        .build();
    let err = refusing
        .post(format!("{base}{CHAT}"))
        .body(json!({"model": "mine"}).to_string())
        .send()
        .await
        .unwrap_err();
    let reqwest_middleware::Error::Middleware(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.downcast_ref::<UnknownModel>().unwrap().model, "mine");
    // The native endpoint and embeddings are throttled and reconciled too.
    let native = json!({"model": "qwen-max", "input": {"messages": [
        {"role": "user", "content": "hi"}]}, "parameters": {"max_tokens": 3}});
    let path = "/api/v1/services/aigc/text-generation/generation";
    let (status, text) = call(&client, &format!("{base}{path}"), native).await;
    assert_eq!(status, 200, "{text}");
    let embed = json!({"model": "text-embedding-v3", "input": "hello"});
    let (status, text) = call(
        &client,
        &format!("{base}/compatible-mode/v1/embeddings"),
        embed,
    )
    .await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn models_resolve_by_alias_in_a_run_time_table_with_an_accounts_own_limits() {
    let base = simulator(Duration::from_secs(60)).await;
    // The account's own limits for qwen-plus-2025-01-25 (6 a minute: 10 s apart),
    // named by an alias.
    let own = r#"
schema = 1

[source]
provider = "Alibaba Cloud Model Studio (our account)"
url = "https://example.com/ticket/7"

[[section]]
id = "ours"
title = "Our account's limits"

[[section.group]]
qpm = 6
tpm = 10_000_000
models = ["qwen-plus-0125"]
"#;
    let table = LimitTable::published_with_overrides(own).unwrap();
    let entry = table.get("qwen-plus-0125").unwrap().clone();
    let throttle = Throttle::in_process(Config::default()).unwrap();
    let middleware = ThrottleMiddleware::new(throttle).with_table(table);
    let client = client(middleware.clone());
    let body = json!({"model": "qwen-plus-0125", "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}]});
    let (status, text) = call(&client, &format!("{base}{CHAT}"), body).await;
    assert_eq!(status, 200, "{text}");
    // Counted under the canonical id, at the account's limits.
    let key = Resolved {
        id: entry.id.clone(),
        limits: entry.limits.clone(),
        pools: Vec::new(),
    };
    let effective = middleware
        .throttle()
        .effective(&key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(effective.per_window.rpm(), Some(6));
    assert_ne!(entry.id, "qwen-plus-0125", "an alias resolved to its model");
    let spacing = Duration::from_secs(60) / 6;
    match middleware.throttle().acquire(&key, 1, Duration::ZERO).await {
        Err(limits_throttle::Refusal::RetryAfter(wait)) => assert!(wait <= spacing),
        other => panic!("the call was not counted under {}: {other:?}", entry.id),
    }
}

#[tokio::test]
async fn the_mode_of_a_call_comes_from_its_host() {
    // Mainland China's host, resolved to the simulator on loopback (no
    // request leaves the machine), serving Mainland China's table.
    let base = simulator_in(Duration::from_secs(600), Deployment::MAINLAND_CHINA).await;
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let host = "dashscope.aliyuncs.com";
    let http = reqwest::Client::builder()
        .resolve(host, addr)
        .build()
        .unwrap();
    // Each request spaced from the one before (no early places on the
    // schedule), so a second one right after the call is refused.
    let config = Config::default()
        .with_window(Duration::from_secs(600))
        .with_schedule_tolerance(Duration::ZERO);
    let throttle = Throttle::in_process(config).unwrap();
    assert_eq!(throttle.deployment(), Deployment::INTERNATIONAL);
    let middleware = ThrottleMiddleware::new(throttle.clone());
    let client = ClientBuilder::new(http).with(middleware).build();
    // qwen3-max: listed in several modes with other limits in each.
    let model = Model::Qwen3Max;
    let cn = model.limits_in(Deployment::MAINLAND_CHINA).unwrap();
    assert_ne!(Some(cn), model.limits_in(Deployment::INTERNATIONAL));
    let body = json!({"model": model.id(), "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}]});
    let url = format!("http://{host}:{}{CHAT}", addr.port());
    let (status, text) = call(&client, &url, body).await;
    assert_eq!(status, 200, "{text}");
    // Counted in Mainland China's state, at its limits; International's
    // state of the model is untouched.
    let in_cn = throttle.for_deployment(Deployment::MAINLAND_CHINA);
    let effective = in_cn.effective(&model).await.unwrap().unwrap();
    assert_eq!(effective.per_window.rpm(), cn.rpm());
    assert!(
        in_cn.acquire(&model, 1, Duration::ZERO).await.is_err(),
        "the call was counted in cn"
    );
    assert!(
        throttle.acquire(&model, 1, Duration::ZERO).await.is_ok(),
        "intl has its own state"
    );
}

#[tokio::test]
async fn a_synchronous_call_to_a_row_of_task_limits_only_takes_nothing() {
    let base = simulator(Duration::from_secs(60)).await;
    // An image model whose row limits only its task APIs.
    let model = *Model::ALL
        .iter()
        .find(|m| {
            m.limits_in(Deployment::INTERNATIONAL).is_some_and(|l| {
                l.has_task_kinds() && l.rpm().is_none() && l.tpm().is_none() && l.rps().is_none()
            })
        })
        .unwrap();
    let throttle = Throttle::in_process(Config::default()).unwrap();
    let client = client(ThrottleMiddleware::new(throttle.clone()));
    let response = client
        .post(format!("{base}{CHAT}"))
        .body(json!({"model": model.id(), "messages": []}).to_string())
        .send()
        .await
        .unwrap();
    // Sent, whatever the simulator answers; nothing was counted.
    assert_ne!(response.status(), 429);
    assert_eq!(throttle.effective(&model).await.unwrap(), None);
    assert_eq!(throttle.tasks_in_flight(&model).await.unwrap(), 0);
}

/// Makes a thread's capture see its events while other tests run. tracing
/// caches each callsite's interest for the whole process, and while at most
/// one dispatcher is registered it takes a callsite's interest from the
/// registering thread alone: a callsite first hit by a test without a
/// subscriber is then cached as never, and a capture on another thread
/// misses its events. Two inert dispatchers pinned for the process make
/// every registration ask every live dispatcher, under tracing's lock; the
/// capture then rebuilds the cache with itself in it.
fn pin_dispatchers() {
    static PINNED: std::sync::OnceLock<[tracing::Dispatch; 2]> = std::sync::OnceLock::new();
    PINNED.get_or_init(|| {
        let inert = || tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        [inert(), inert()]
    });
}

/// A `tracing` subscriber that writes to a buffer; install it, then call
/// `tracing::callsite::rebuild_interest_cache()`.
fn captured() -> (
    impl tracing::Subscriber,
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
) {
    #[derive(Clone)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    pin_dispatchers();
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = Buffer(std::sync::Arc::clone(&out));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (subscriber, out)
}

#[tokio::test]
async fn an_unknown_model_is_warned_once_and_a_429_is_traced() {
    let (subscriber, out) = captured();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    let base = simulator(Duration::from_secs(60)).await;
    let throttle = Throttle::in_process(Config::default()).unwrap();
    let plain = client(ThrottleMiddleware::new(throttle));
    for _ in 0..3 {
        let (status, _) = call(&plain, &format!("{base}{CHAT}"), json!({"model": "mine"})).await;
        assert_eq!(status, 404);
    }
    // The throttle believes in more than the simulator allows: a 429.
    let model = Model::QwenMax;
    let wrong = Resolved {
        id: model.id().to_string(),
        limits: everywhere(Limits::NONE.with_rpm(60_000).with_tpm(100_000_000)),
        pools: Vec::new(),
    };
    let throttle = Throttle::in_process(Config::default()).unwrap();
    let middleware = ThrottleMiddleware::new(throttle)
        .with_resolver(move |_| Some(wrong.clone()))
        .with_options(Options::default().with_retries(0));
    let wrong_client = client(middleware);
    let body = json!({"model": model.id(), "max_tokens": 1,
        "messages": [{"role": "user", "content": "hi"}]});
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(
            call(&wrong_client, &format!("{base}{CHAT}"), body.clone())
                .await
                .0,
        );
        if statuses.last() == Some(&429) {
            break;
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    let unknown = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("model=\"mine\""))
        .count();
    assert_eq!(unknown, 1, "{text}");
    assert!(
        text.contains("the provider answered 429") && text.contains("limits_request"),
        "{text}"
    );
}
