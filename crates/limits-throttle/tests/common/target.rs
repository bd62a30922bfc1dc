//! The Redis that the store's tests run against, given as a deployment
//! gives it: `REDIS_URL` is one server's URL, or a cluster's seed nodes
//! separated by commas; a `rediss://` URL trusts the CA certificate in the
//! file `REDIS_CA_FILE`. `.ci/run` runs these tests on a plaintext server,
//! on a TLS server and on a cluster.

use limits_throttle::redis::{RedisOptions, RedisStore};

/// Where the tests' Redis is, and the CA it is trusted by.
#[derive(Clone, Debug)]
pub struct Target {
    /// `REDIS_URL` as given.
    pub url: String,
    ca: Option<Vec<u8>>,
}

/// The target of `REDIS_URL`: `None` (the tests skip) when it is unset
/// outside CI; under CI its absence fails the test.
pub fn redis_target() -> Option<Target> {
    super::redis_url().map(|url| Target::of(&url))
}

impl Target {
    /// The target of `url`, trusting `REDIS_CA_FILE` if it is `rediss://`.
    pub fn of(url: &str) -> Target {
        let ca = url.starts_with("rediss://").then(|| {
            let file = std::env::var("REDIS_CA_FILE")
                .expect("REDIS_CA_FILE names the CA certificate of a rediss:// REDIS_URL");
            std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
        });
        Target {
            url: url.to_string(),
            ca,
        }
    }

    /// Whether the URL names a cluster's seed nodes.
    pub fn is_cluster(&self) -> bool {
        self.url.contains(',')
    }

    /// `options`, trusting the target's CA.
    pub fn options(&self, options: RedisOptions) -> RedisOptions {
        match &self.ca {
            #[cfg(feature = "tls")]
            Some(ca) => options.with_tls(limits_throttle::redis::Tls::trusting(ca.clone())),
            #[cfg(not(feature = "tls"))]
            Some(_) => panic!("a rediss:// REDIS_URL needs limits-throttle's feature `tls`"),
            None => options,
        }
    }

    /// A store on the target, as [`RedisStore::connect`] opens one.
    pub async fn store(&self, options: RedisOptions) -> RedisStore {
        RedisStore::connect(&self.url, self.options(options))
            .await
            .unwrap()
    }

    /// A blocking connection for a test's own commands: one routed by key
    /// on a cluster (commands of no key go to every master).
    pub fn admin(&self) -> Box<dyn redis::ConnectionLike> {
        if self.is_cluster() {
            #[cfg(feature = "cluster")]
            {
                let seeds = self.url.split(',').map(str::trim).filter(|u| !u.is_empty());
                #[allow(unused_mut)]
                let mut builder = redis::cluster::ClusterClientBuilder::new(seeds);
                #[cfg(feature = "tls")]
                if let Some(ca) = &self.ca {
                    builder = builder.certs(certificates(ca));
                }
                return Box::new(builder.build().unwrap().get_connection().unwrap());
            }
            #[cfg(not(feature = "cluster"))]
            panic!("a cluster's REDIS_URL needs limits-throttle's feature `cluster`");
        }
        let client = match &self.ca {
            #[cfg(feature = "tls")]
            Some(ca) => redis::Client::build_with_tls(self.url.as_str(), certificates(ca)),
            _ => redis::Client::open(self.url.as_str()),
        };
        Box::new(client.unwrap().get_connection().unwrap())
    }
}

#[cfg(feature = "tls")]
fn certificates(ca: &[u8]) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(ca.to_vec()),
    }
}
