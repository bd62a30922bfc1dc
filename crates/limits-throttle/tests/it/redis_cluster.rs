//! The Redis store on a Redis Cluster (feature `cluster`): 3 masters and 3
//! replicas this test starts on loopback (`redis-server --cluster-enabled
//! yes`, `redis-cli --cluster create`). Without `redis-server` on the PATH
//! the test fails under CI and is skipped elsewhere.

use std::time::Duration;

use limits_throttle::redis::{RedisOptions, RedisStore};
use limits_throttle::{Config, Deployment, Refusal, Throttle, Tripped};
use modelstudio_limits::Model;

use crate::common;
use common::servers::{self, ask, is_master};
use common::{cn_video_model, fresh_prefix};

/// One `open_cluster` from a seed node: admissions, refusals, a reported
/// 429 seen by a second process, a pooled budget and task slots, for keys
/// spread over the masters; every call is one script on one slot (a key
/// in another slot would fail with CROSSSLOT).
#[test]
fn the_store_works_on_a_cluster() {
    let Some(cluster) = servers::cluster() else {
        return;
    };
    let seed = format!("redis://127.0.0.1:{}/", cluster.ports()[0]);
    common::runtime(2).block_on(async {
        let options = RedisOptions::default()
            .with_prefix(fresh_prefix("cluster"))
            .with_timeout(Duration::from_secs(2));
        let open = || async {
            let store = RedisStore::open_cluster(&[seed.as_str()], options.clone())
                .await
                .unwrap();
            Throttle::redis(store, Config::default()).unwrap()
        };
        let (a, b) = (open().await, open().await);
        // Many keys, so that they land on every master.
        for account in 0..12 {
            let a = a.for_account(&format!("acct-{account}"));
            let b = b.for_account(&format!("acct-{account}"));
            let permit = a
                .acquire(&Model::QwqPlus, 10, Duration::ZERO)
                .await
                .unwrap();
            permit.reconcile(5).await.unwrap();
            assert!(matches!(
                b.acquire(&Model::QwqPlus, 10, Duration::ZERO).await,
                Err(Refusal::RetryAfter(_))
            ));
        }
        a.report(&Model::QwenMax, Tripped::Tokens).await.unwrap();
        let seen = b.effective(&Model::QwenMax).await.unwrap().unwrap();
        assert!(seen.cooldown > Duration::ZERO);

        let (a, b) = (
            a.for_deployment(Deployment::MAINLAND_CHINA),
            b.for_deployment(Deployment::MAINLAND_CHINA),
        );
        let video = cn_video_model();
        let limit = video
            .limits_in(Deployment::MAINLAND_CHINA)
            .unwrap()
            .concurrency()
            .unwrap();
        let mut held = Vec::new();
        for i in 0..limit {
            let throttle = if i % 2 == 0 { &a } else { &b };
            held.push(
                throttle
                    .submit(&video, throttle.config().max_wait)
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(b.tasks_in_flight(&video).await.unwrap(), limit);
        assert!(matches!(
            a.submit(&video, Duration::ZERO).await,
            Err(Refusal::TasksInFlight { .. })
        ));
        held.pop().unwrap().finish().await.unwrap();
        assert_eq!(a.tasks_in_flight(&video).await.unwrap(), limit - 1);

        let pooled = Model::ALL
            .iter()
            .find(|m| m.pool_in(Deployment::MAINLAND_CHINA).is_some())
            .unwrap();
        drop(
            a.acquire_pooled(pooled, 0, a.config().max_wait)
                .await
                .unwrap(),
        );

        // A node opened as one server: a key another node serves is an
        // error that says what to do.
        let single = Throttle::redis(
            RedisStore::open(&seed, options.clone()).unwrap(),
            Config::default(),
        )
        .unwrap();
        let mut moved = None;
        for n in 0..100 {
            let throttle = single.for_account(&format!("elsewhere-{n}"));
            match throttle.acquire(&Model::QwqPlus, 1, Duration::ZERO).await {
                Ok(_) => {}
                Err(Refusal::Unavailable(e)) => {
                    moved = Some(e.to_string());
                    break;
                }
                Err(other) => panic!("{other}"),
            }
        }
        let moved = moved.expect("a key another node serves");
        assert!(
            moved.contains("node of a Redis Cluster") && moved.contains("open_cluster"),
            "{moved}"
        );
    });
    // The keys are spread: every master holds some.
    let masters: Vec<u16> = cluster
        .ports()
        .into_iter()
        .filter(|&port| is_master(port))
        .collect();
    assert_eq!(masters.len(), 3);
    for port in masters {
        assert_ne!(ask(port, &["dbsize"]), "0", "master {port} holds keys");
    }
}
