//! The Redis store over TLS (feature `tls`), against a `redis-server
//! --tls-port` this test starts with certificates it makes: a private CA,
//! a server certificate for 127.0.0.1, a client certificate. Without
//! `redis-server` on the PATH the tests fail under CI and are skipped
//! elsewhere.

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use limits_throttle::redis::{RedisOptions, RedisStore, Tls};
use limits_throttle::{Config, Deployment, Refusal, StoreErrorKind, Throttle};
use modelstudio_limits::Model;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};

use crate::common;
use common::servers;
use common::{cn_video_model, fresh_prefix};

/// PEM files of a CA, a certificate it signed for 127.0.0.1, and a client
/// certificate it signed.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Names of their own: OpenSSL takes a certificate whose subject is its
    // issuer's name for self-signed.
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "limits-throttle test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let signed = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca.pem(),
        server: signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]),
        client: signed(vec!["limits-throttle-test".to_string()]),
    }
}

/// A redis-server listening on TLS only, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A TLS server with `pki`'s certificates; `clients` is
/// `--tls-auth-clients` (`yes`: a client certificate is required).
fn start(pki: &Pki, clients: &str) -> Option<Server> {
    if !common::redis_server_on_path() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", &pki.ca);
    let cert = write(dir.path(), "server.pem", &pki.server.0);
    let key = write(dir.path(), "server.key", &pki.server.1);
    let (port, child) = servers::start_redis(dir.path(), false, |port| {
        let tls = [
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            clients,
            "--dir",
            dir.path().to_str().unwrap(),
        ];
        tls.iter()
            .chain(&servers::LOOPBACK_IN_MEMORY)
            .map(|a| a.to_string())
            .collect()
    });
    let server = Server {
        child,
        port,
        _dir: dir,
    };
    Some(server)
}

/// A throttle on `server` through TLS, trusting and presenting what `tls`
/// says (`None`: the system's CAs, no client certificate).
fn on_tls(server: &Server, tls: Option<Tls>) -> Throttle {
    let options = RedisOptions::default()
        .with_prefix(fresh_prefix("tls"))
        .with_timeout(Duration::from_secs(2));
    let options = match tls {
        Some(tls) => options.with_tls(tls),
        None => options,
    };
    let url = format!("rediss://127.0.0.1:{}/", server.port);
    Throttle::redis(RedisStore::open(&url, options).unwrap(), Config::default()).unwrap()
}

/// Admissions, refusals and task slots work through TLS with the private
/// CA trusted; a client that does not trust it gets a TLS error that says
/// so, not a timeout.
#[test]
fn the_store_works_over_tls_and_an_untrusted_certificate_says_so() {
    let pki = pki();
    let Some(server) = start(&pki, "no") else {
        return;
    };
    common::runtime(2).block_on(async {
        let throttle = on_tls(&server, Some(Tls::trusting(pki.ca.clone())));
        let model = Model::QwqPlus;
        let permit = throttle.acquire(&model, 10, Duration::ZERO).await.unwrap();
        assert!(permit.unchecked().is_none());
        permit.reconcile(5).await.unwrap();
        assert!(matches!(
            throttle.acquire(&model, 10, Duration::ZERO).await,
            Err(Refusal::RetryAfter(_))
        ));
        let video = cn_video_model();
        let task = throttle
            .for_deployment(Deployment::MAINLAND_CHINA)
            .submit(&video, Duration::ZERO)
            .await
            .unwrap();
        assert!(task.holds_slot());
        task.finish().await.unwrap();

        // The system's CAs do not know the test's CA.
        let throttle = on_tls(&server, None);
        let Err(Refusal::Unavailable(e)) = throttle.acquire(&model, 10, Duration::ZERO).await
        else {
            panic!("admitted through an untrusted certificate")
        };
        assert_eq!(e.kind(), StoreErrorKind::Tls, "{e}");
        assert!(e.to_string().contains("RedisOptions::with_tls"), "{e}");
    });
}

/// A server that requires client certificates admits a client that
/// presents one signed by its CA, and refuses one that presents none.
#[test]
fn a_client_certificate_is_presented_when_the_server_asks() {
    let pki = pki();
    let Some(server) = start(&pki, "yes") else {
        return;
    };
    common::runtime(2).block_on(async {
        let with_cert = Tls::trusting(pki.ca.clone())
            .with_client_cert(pki.client.0.clone(), pki.client.1.clone());
        let throttle = on_tls(&server, Some(with_cert));
        let admitted = throttle.acquire(&Model::QwqPlus, 1, Duration::ZERO).await;
        assert!(admitted.is_ok(), "{admitted:?}");

        let throttle = on_tls(&server, Some(Tls::trusting(pki.ca.clone())));
        let Err(Refusal::Unavailable(e)) =
            throttle.acquire(&Model::QwqPlus, 1, Duration::ZERO).await
        else {
            panic!("admitted without the client certificate the server requires")
        };
        assert!(
            matches!(e.kind(), StoreErrorKind::Tls | StoreErrorKind::Connection),
            "{e}"
        );
        assert_ne!(e.kind(), StoreErrorKind::Timeout, "{e}");
    });
}
