//! The Redis that the store's tests run against: a cluster when
//! `REDIS_CLUSTER_NODES` names its seed nodes (separated by commas), else
//! the one server of `REDIS_URL`; a `rediss://` URL trusts the CA
//! certificate in the file `REDIS_CA_FILE`. `.ci/run` runs these tests on a
//! plaintext server, on a TLS server and on a cluster.

use limits_throttle::redis::{RedisOptions, RedisStore};

/// Where the tests' Redis is, and the CA it is trusted by.
#[derive(Clone, Debug)]
pub struct Target {
    /// The server's URL, or the cluster's seed nodes.
    nodes: Vec<String>,
    cluster: bool,
    ca: Option<Vec<u8>>,
}

/// The target of `REDIS_URL`: `None` (the tests skip) when it is unset
/// outside CI; under CI its absence fails the test.
pub fn redis_target() -> Option<Target> {
    if let Some(nodes) = std::env::var("REDIS_CLUSTER_NODES")
        .ok()
        .filter(|n| !n.is_empty())
    {
        let nodes = nodes.split(',').map(str::trim).filter(|u| !u.is_empty());
        return Some(Target::of(nodes.map(String::from).collect(), true));
    }
    super::redis_url().map(|url| Target::of(vec![url], false))
}

impl Target {
    /// The one server at `url`.
    pub fn server(url: &str) -> Target {
        Target::of(vec![url.to_string()], false)
    }

    /// The target of `nodes` (a server's URL, or a cluster's seeds),
    /// trusting `REDIS_CA_FILE` if they are `rediss://`.
    fn of(nodes: Vec<String>, cluster: bool) -> Target {
        let ca = nodes[0].starts_with("rediss://").then(|| {
            let file = std::env::var("REDIS_CA_FILE")
                .expect("REDIS_CA_FILE names the CA certificate of a rediss:// REDIS_URL");
            std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
        });
        Target { nodes, cluster, ca }
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

    /// A store on the target: [`RedisStore::open`] for a server,
    /// `RedisStore::open_cluster` for a cluster.
    pub async fn store(&self, options: RedisOptions) -> RedisStore {
        let options = self.options(options);
        if self.cluster {
            #[cfg(feature = "cluster")]
            {
                let nodes: Vec<&str> = self.nodes.iter().map(String::as_str).collect();
                return RedisStore::open_cluster(&nodes, options).await.unwrap();
            }
            #[cfg(not(feature = "cluster"))]
            panic!("REDIS_CLUSTER_NODES needs limits-throttle's feature `cluster`");
        }
        RedisStore::open(&self.nodes[0], options).unwrap()
    }

    /// A blocking connection for a test's own commands: one routed by key
    /// on a cluster (commands of no key go to every master).
    pub fn admin(&self) -> Box<dyn redis::ConnectionLike> {
        if self.cluster {
            #[cfg(feature = "cluster")]
            {
                #[allow(unused_mut)]
                let mut builder = redis::cluster::ClusterClientBuilder::new(self.nodes.clone());
                #[cfg(feature = "tls")]
                if let Some(ca) = &self.ca {
                    builder = builder.certs(certificates(ca));
                }
                return Box::new(builder.build().unwrap().get_connection().unwrap());
            }
            #[cfg(not(feature = "cluster"))]
            panic!("REDIS_CLUSTER_NODES needs limits-throttle's feature `cluster`");
        }
        let client = match &self.ca {
            #[cfg(feature = "tls")]
            Some(ca) => redis::Client::build_with_tls(self.nodes[0].as_str(), certificates(ca)),
            _ => redis::Client::open(self.nodes[0].as_str()),
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
