//! A model as the middleware resolved it: its id, limits and pools.

use limits_throttle::{Deployment, HasLimits, Limits};
use modelstudio_limits::runtime::Budget;
use modelstudio_limits::Model;

/// A model the middleware resolved from a request's `model` field: its
/// canonical id and its limits in each mode that lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The canonical id (the throttle's key).
    pub id: String,
    /// Its limits, per deployment mode.
    pub limits: Vec<(Deployment, Limits)>,
    /// The pooled budgets it takes part in, one per mode at most.
    pub pools: Vec<Budget>,
}

impl Resolved {
    /// The modes that list the model.
    pub fn deployments(&self) -> Vec<Deployment> {
        self.limits.iter().map(|(d, _)| *d).collect()
    }
}

impl HasLimits for Resolved {
    fn id(&self) -> &str {
        &self.id
    }
    fn limits_in(&self, deployment: Deployment) -> Option<Limits> {
        self.limits
            .iter()
            .find(|(d, _)| *d == deployment)
            .map(|(_, l)| *l)
    }
    fn budget_in(&self, deployment: Deployment) -> Option<(&str, Limits)> {
        Budget::find(&self.pools, deployment)
    }
    fn pooled_per_api_key_in(&self, deployment: Deployment) -> bool {
        Budget::per_api_key(&self.pools, deployment)
    }
}

impl From<Model> for Resolved {
    /// A published model, with its limits in every mode.
    fn from(m: Model) -> Resolved {
        Resolved {
            id: m.id().to_string(),
            limits: m
                .deployments()
                .iter()
                .filter_map(|&d| m.limits_in(d).map(|l| (d, l)))
                .collect(),
            pools: Budget::of(m),
        }
    }
}
