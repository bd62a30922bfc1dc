//! The simulator as a process, driven with plain HTTP requests: keys and
//! accounts, each rule's 429 in both API styles (read back with the
//! throttle's classifier), usage, streams and `/sim/stats`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use limits_throttle::{classify, Tripped};
use modelstudio_limits::{Deployment, Model};
use serde_json::{json, Value};

/// A simulator process, stopped when dropped.
struct Sim {
    child: Child,
    base: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A "minute" of 600 s: a "second" is 10 s, so requests sent one after the
/// other fall in one "second" however slow the machine.
fn start() -> Sim {
    start_in(None)
}

/// [`start`], serving the limits of `mode` (default: International).
fn start_in(mode: Option<&str>) -> Sim {
    match mode {
        Some(mode) => start_with(&["--deployment", mode, "--window-seconds", "600"]),
        None => start_with(&["--window-seconds", "600"]),
    }
}

/// A simulator with `args`, the table and three keys of two accounts.
fn start_with(args: &[&str]) -> Sim {
    let table = concat!(env!("CARGO_MANIFEST_DIR"), "/../../limits.toml");
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelstudio-sim"));
    let mut child = command
        .args(args)
        .args(["--table", table])
        .args([
            "--key",
            "k1=acct-a",
            "--key",
            "k2=acct-a",
            "--key",
            "k3=acct-b",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    Sim { child, base }
}

const CHAT: &str = "/compatible-mode/v1/chat/completions";
const EMBED: &str = "/compatible-mode/v1/embeddings";
const NATIVE: &str = "/api/v1/services/aigc/text-generation/generation";

async fn post(sim: &Sim, path: &str, key: &str, body: Value) -> (u16, Value, String) {
    post_to(sim, None, path, key, body).await
}

/// `post`, under the host name `host` if given (what a client that sent
/// it to the provider's domain, resolved to the simulator, says).
async fn post_to(
    sim: &Sim,
    host: Option<&str>,
    path: &str,
    key: &str,
    body: Value,
) -> (u16, Value, String) {
    let mut request = reqwest::Client::new().post(format!("{}{path}", sim.base));
    if let Some(host) = host {
        request = request.header(reqwest::header::HOST, host);
    }
    let response = request.bearer_auth(key).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, text)
}

async fn stats(sim: &Sim) -> Value {
    reqwest::get(format!("{}/sim/stats", sim.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

const PROMPT: &str = "How many tokens is this?";

fn chat(model: &str, max_tokens: u64) -> Value {
    json!({"model": model, "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": PROMPT}]})
}

/// The published models with requests and tokens per minute in
/// International (the simulator's default mode), with those limits.
fn intl() -> Vec<(Model, u64, u64)> {
    Model::ALL
        .iter()
        .filter_map(|&m| {
            let l = m.limits_in(Deployment::INTERNATIONAL)?;
            Some((m, u64::from(l.rpm()?), l.tpm()?))
        })
        .collect()
}

/// The published model with the fewest requests per minute.
fn slowest() -> (Model, u64, u64) {
    *intl().iter().min_by_key(|m| m.1).unwrap()
}

#[tokio::test]
async fn keys_of_one_account_share_its_limits_and_other_accounts_do_not() {
    let sim = start();
    let (model, rpm, _) = slowest();
    assert!(rpm <= 60, "a second's share of one request");
    let (status, body, _) = post(&sim, CHAT, "k1", chat(model.id(), 10)).await;
    assert_eq!(status, 200, "{body}");
    // The account's other key: the same "second", refused.
    let (status, body, text) = post(&sim, CHAT, "k2", chat(model.id(), 10)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "limit_requests");
    assert_eq!(classify(429, text.as_bytes()), Some(Tripped::Requests));
    // Another account is not affected.
    assert_eq!(post(&sim, CHAT, "k3", chat(model.id(), 10)).await.0, 200);
    // A key of no account.
    let (status, body, _) = post(&sim, CHAT, "unknown", chat(model.id(), 10)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidApiKey");
    let s = stats(&sim).await;
    assert_eq!(s["accepted"], 2);
    assert_eq!(s["rejected"]["rps"], 1);
    let prompt = (PROMPT.len() as u64).div_ceil(4) + 4;
    assert_eq!(s["tokens"], 2 * (prompt + 10));
}

#[tokio::test]
async fn token_limits_refuse_in_both_styles() {
    let sim = start();
    let (model, _, tpm) = slowest();
    // More than a minute's tokens: refused, the request limit untouched.
    let (status, body, text) = post(&sim, CHAT, "k1", chat(model.id(), tpm)).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "insufficient_quota");
    assert_eq!(classify(429, text.as_bytes()), Some(Tripped::Tokens));
    let native = json!({"model": model.id(), "input": {"messages": [
        {"role": "user", "content": "hi"}]}, "parameters": {"max_tokens": tpm}});
    let (status, body, text) = post(&sim, NATIVE, "k1", native).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], "Throttling.AllocationQuota");
    assert!(body["request_id"].is_string());
    assert_eq!(classify(429, text.as_bytes()), Some(Tripped::Tokens));
    // More than a second's share goes alone: the next request in the
    // "second" is refused for its tokens.
    let (fast, _, fast_tpm) = *intl()
        .iter()
        .filter(|m| m.1 >= 120)
        .min_by_key(|m| m.2)
        .unwrap();
    let share = fast_tpm.div_ceil(60);
    assert_eq!(post(&sim, CHAT, "k1", chat(fast.id(), share)).await.0, 200);
    let (status, body, _) = post(&sim, CHAT, "k2", chat(fast.id(), 1)).await;
    assert_eq!(status, 429, "{body}");
    let s = stats(&sim).await;
    assert_eq!(s["rejected"]["tpm"], 2);
    assert_eq!(s["rejected"]["tps"], 1);
}

#[tokio::test]
async fn a_burst_trips_burst_protection() {
    let sim = start();
    let (model, rpm, _) = *intl().iter().max_by_key(|m| m.1).unwrap();
    let rps = rpm.div_ceil(60);
    let cap = 2 * rps.div_ceil(10);
    let mut tripped = None;
    for i in 0..=cap {
        let (status, body, text) = post(
            &sim,
            EMBED,
            "k1",
            json!({"model": model.id(), "input": "x"}),
        )
        .await;
        if status == 429 {
            assert_eq!(body["error"]["code"], "limit_burst_rate", "{body}");
            assert_eq!(classify(429, text.as_bytes()), Some(Tripped::Burst));
            tripped = Some(i);
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        tripped,
        Some(cap),
        "{rps} a second, {cap} in a tenth of one"
    );
    assert_eq!(stats(&sim).await["rejected"]["burst"], 1);
}

#[tokio::test]
async fn usage_is_computed_from_the_request_and_streams_end_with_it() {
    let sim = start();
    let model = Model::QwenMax;
    let (status, body, _) = post(&sim, CHAT, "k1", chat(model.id(), 7)).await;
    assert_eq!(status, 200, "{body}");
    let prompt = PROMPT.len() as u64;
    assert_eq!(body["usage"]["prompt_tokens"], prompt.div_ceil(4) + 4);
    assert_eq!(body["usage"]["completion_tokens"], 7);
    assert_eq!(body["usage"]["total_tokens"], prompt.div_ceil(4) + 4 + 7);
    let mut streamed = chat(model.id(), 7);
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let (status, _, text) = post(&sim, CHAT, "k3", streamed).await;
    assert_eq!(status, 200);
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let usage: Value = serde_json::from_str(events[events.len() - 2]).unwrap();
    assert_eq!(usage["usage"]["completion_tokens"], 7);
    let (status, body, _) = post(&sim, CHAT, "k1", json!({"model": "no-such-model"})).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn each_mode_serves_its_own_table() {
    // A model that only Mainland China lists, and one with requests per
    // second there (text embeddings: RPS and TPM).
    let cn_only = *Model::ALL
        .iter()
        .find(|m| {
            m.deployments() == [Deployment::MAINLAND_CHINA]
                && m.limits_in(Deployment::MAINLAND_CHINA)
                    .is_some_and(|l| l.rpm().is_some_and(|r| r >= 60) && l.tpm().is_some())
        })
        .unwrap();
    let (per_second, rps) = Model::ALL
        .iter()
        .find_map(|&m| {
            let l = m.limits_in(Deployment::MAINLAND_CHINA)?;
            Some((
                m,
                l.rps()
                    .filter(|_| l.rpm().is_none() && l.concurrency().is_none())?,
            ))
        })
        .unwrap();
    let intl_sim = start();
    let (status, body, _) = post(&intl_sim, CHAT, "k1", chat(cn_only.id(), 1)).await;
    assert_eq!(status, 404, "{cn_only} is not International's: {body}");
    let cn = start_in(Some("cn"));
    let (status, body, _) = post(&cn, CHAT, "k1", chat(cn_only.id(), 1)).await;
    assert_eq!(status, 200, "{body}");
    // Requests per second: `rps` in one "second", the next refused.
    let embed = json!({"model": per_second.id(), "input": "x"});
    let mut statuses = Vec::new();
    for _ in 0..=rps {
        statuses.push(post(&cn, EMBED, "k3", embed.clone()).await.0);
    }
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert!(refused >= 1, "{statuses:?}");
    let s = stats(&cn).await;
    let by_rule = s["rejected"]["rps"].as_u64().unwrap() + s["rejected"]["burst"].as_u64().unwrap();
    assert_eq!(by_rule as usize, refused, "{s}");
}

/// A model of Mainland China's table with tasks in flight.
fn video_model() -> Model {
    *Model::ALL
        .iter()
        .find(|m| {
            m.limits_in(Deployment::MAINLAND_CHINA)
                .is_some_and(|l| l.concurrency().is_some() && l.submit_rps().is_some())
        })
        .unwrap()
}

async fn submit(sim: &Sim, key: &str, model: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/services/aigc/video-generation/video-synthesis",
            sim.base
        ))
        .bearer_auth(key)
        .header("X-DashScope-Async", "enable")
        .json(&json!({"model": model, "input": {"prompt": "a cat"}}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn task_status(sim: &Sim, key: &str, id: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/tasks/{id}", sim.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Tasks: an account's lower limit (`--account-limit`), tasks in flight
/// refused with the generic throttling code, statuses over a task's life,
/// a slot free once the task ended, queries limited per account.
#[tokio::test]
async fn tasks_run_their_course_within_their_limits() {
    let model = video_model();
    let lowered = format!("acct-a:{}:submit_rps=1000,concurrency=2", model.id());
    let sim = start_with(&[
        "--deployment",
        "cn",
        "--window-seconds",
        "60",
        "--task-seconds",
        "0.5",
        "--account-limit",
        &lowered,
    ]);
    let (s1, first) = submit(&sim, "k1", model.id()).await;
    let (s2, _) = submit(&sim, "k2", model.id()).await;
    assert_eq!((s1, s2), (200, 200), "{first}");
    assert_eq!(first["output"]["task_status"], "PENDING");
    let id = first["output"]["task_id"].as_str().unwrap().to_string();
    let (status, body) = submit(&sim, "k1", model.id()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "Throttling", "{body}");
    let text = body.to_string();
    assert_eq!(classify(429, text.as_bytes()), Some(Tripped::Unspecified));
    // Another account has the table's limits.
    assert_eq!(submit(&sim, "k3", model.id()).await.0, 200);
    let (status, body) = task_status(&sim, "k1", &id).await;
    assert_eq!(status, 200);
    assert!(["PENDING", "RUNNING"].contains(&body["output"]["task_status"].as_str().unwrap()));
    assert_eq!(
        task_status(&sim, "k3", &id).await.1["output"]["task_status"],
        "UNKNOWN"
    );
    // The task ends after its 0.5 s: polled (10 queries a second, under
    // the account's 20), with a deadline far beyond it.
    let asked = std::time::Instant::now();
    loop {
        let (_, body) = task_status(&sim, "k2", &id).await;
        let status = body["output"]["task_status"].as_str().unwrap().to_string();
        if status == "SUCCEEDED" {
            break;
        }
        assert!(["PENDING", "RUNNING"].contains(&status.as_str()), "{body}");
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(10),
            "{body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        submit(&sim, "k1", model.id()).await.0,
        200,
        "a slot is free"
    );
    // A synchronous call to an asynchronous-only model is refused.
    let sync = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/services/aigc/video-generation/video-synthesis",
            sim.base
        ))
        .bearer_auth("k1")
        .json(&json!({"model": model.id(), "input": {"prompt": "a cat"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status().as_u16(), 403);
    // Queries: 20 a second per account, evenly (4 in a tenth at most).
    let mut refused = 0;
    for _ in 0..8 {
        let (status, body) = task_status(&sim, "k1", &id).await;
        if status == 429 {
            let text = body.to_string();
            assert_eq!(classify(429, text.as_bytes()), Some(Tripped::Requests));
            refused += 1;
        }
    }
    assert!(refused >= 1);
    let stats = stats(&sim).await;
    assert_eq!(stats["rejected"]["concurrency"], 1, "{stats}");
    assert_eq!(stats["rejected"]["query"], refused, "{stats}");
    assert_eq!(stats["tasks"]["submitted"], 4, "{stats}");
    assert!(
        stats["tasks"]["in_flight_seconds"].as_f64().unwrap() > 1.0,
        "{stats}"
    );
}

/// Reached under a provider's host, the simulator serves that region's
/// table (Beijing's for `dashscope.aliyuncs.com`), whatever its own
/// deployment; under its loopback address, its own.
#[tokio::test]
async fn the_host_picks_the_region_served() {
    let cn = Deployment::MAINLAND_CHINA;
    let cn_only = *Model::ALL
        .iter()
        .find(|m| m.deployments() == [cn] && m.limits_in(cn).is_some_and(|l| l.rpm().is_some()))
        .unwrap();
    let sim = start();
    let (status, body, _) = post(&sim, CHAT, "k1", chat(cn_only.id(), 1)).await;
    assert_eq!(status, 404, "{cn_only} is not International's: {body}");
    let host = "dashscope.aliyuncs.com";
    assert_eq!(modelstudio_limits::Region::of_host(host), Some(cn.region));
    let (status, body, _) = post_to(&sim, Some(host), CHAT, "k1", chat(cn_only.id(), 1)).await;
    assert_eq!(status, 200, "{body}");
}

/// The models of a pool of requests (Kimi's in Beijing) share its
/// windows: sent one after the other to different models of the pool,
/// the pool's burst allowance is refused at its first request beyond.
#[tokio::test]
async fn the_models_of_a_pool_share_its_windows() {
    let cn = Deployment::MAINLAND_CHINA;
    let mut members: Vec<Model> = Vec::new();
    let mut pool = None;
    for &m in Model::ALL {
        let Some(p) = m.pool_in(cn).filter(|p| p.limits.rpm().is_some()) else {
            continue;
        };
        if pool.is_none_or(|q| q == p) {
            pool = Some(p);
            members.push(m);
        }
    }
    let pool = pool.expect("Beijing's table has a pool of requests");
    // The burst rule: twice a tenth of the second's share in any tenth.
    let burst = 2 * u64::from(pool.limits.rpm().unwrap())
        .div_ceil(60)
        .div_ceil(10);
    assert!(members.len() as u64 > burst, "{pool:?}: {members:?}");
    let sim = start_in(Some("cn"));
    let mut statuses = Vec::new();
    for m in &members[..=burst as usize] {
        statuses.push(post(&sim, CHAT, "k1", chat(m.id(), 1)).await.0);
    }
    let admitted = statuses.iter().filter(|&&s| s == 200).count() as u64;
    assert_eq!(admitted, burst, "{statuses:?}");
    // Shared per API key: another key of the account has its own budget.
    if pool.per == modelstudio_limits::Per::ApiKey {
        let (status, body, _) = post(&sim, CHAT, "k2", chat(members[0].id(), 1)).await;
        assert_eq!(status, 200, "{body}");
    }
}
