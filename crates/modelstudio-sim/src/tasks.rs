//! Asynchronous tasks as the provider runs them: a submission
//! (`X-DashScope-Async: enable`) starts a task that is `PENDING`, then
//! `RUNNING`, then `SUCCEEDED` a fixed time after it was submitted; a query
//! (`GET /api/v1/tasks/{id}`) reads its status.
//!
//! Rules, per account: submissions per second and per minute of the row
//! (`submit_rps`, `submit_rpm`: the windows of [`crate::rules`]); tasks in
//! flight (`concurrency`): pending and running tasks of the model (or of
//! its pool) until they end, whether or not anyone queries them; queries:
//! 20 a second per account over every model (the provider's task-query
//! API), and the row's `query_rps`. The provider does not document which
//! 429 a submission gets when too many tasks are in flight: the simulator
//! answers the generic throttling code, `Throttling` with "Requests
//! throttling triggered." (the provider's error-code list has no code of
//! its own for it).

use std::collections::HashMap;

use modelstudio_limits::Limits;
use serde_json::{json, Value};

use crate::rules::{Reason, Windows};

/// The task-query API's limit per account, over every model.
pub const QUERIES_PER_SECOND: u32 = 20;

/// A task's status at a time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Submitted, not started (its first tenth).
    Pending,
    /// Started, not ended.
    Running,
    /// Ended.
    Succeeded,
}

impl Status {
    /// The provider's name of the status.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
        }
    }
}

/// One submitted task.
#[derive(Clone, Debug)]
struct Task {
    account: String,
    /// The model's id (its key of query limits).
    model: String,
    submitted: u64,
    ends: u64,
}

impl Task {
    fn status(&self, now: u64) -> Status {
        if now >= self.ends {
            Status::Succeeded
        } else if now < self.submitted + (self.ends - self.submitted) / 10 {
            Status::Pending
        } else {
            Status::Running
        }
    }
}

/// Every task, the windows of submissions and queries, and the sum of
/// the time tasks spent in flight.
#[derive(Debug)]
pub struct Tasks {
    /// A "minute", in us.
    window: u64,
    /// How long a task runs, in us.
    duration: u64,
    next: u64,
    tasks: HashMap<String, Task>,
    /// Per (account, model or pool): the ends of its tasks in flight.
    in_flight: HashMap<(String, String), Vec<u64>>,
    submissions: HashMap<(String, String), Windows>,
    queries: HashMap<(String, String), Windows>,
    /// Microseconds of tasks in flight, summed over tasks, per (account,
    /// model or pool), counted up to their ends when submitted.
    busy: HashMap<(String, String), u64>,
}

impl Tasks {
    /// No tasks yet; a "minute" of `window` us, tasks of `duration` us.
    pub fn new(window: u64, duration: u64) -> Self {
        Tasks {
            window,
            duration: duration.max(1),
            next: 0,
            tasks: HashMap::new(),
            in_flight: HashMap::new(),
            submissions: HashMap::new(),
            queries: HashMap::new(),
            busy: HashMap::new(),
        }
    }

    /// Accepts a submission of `account` to `model` under `limits` at
    /// `now`, its tasks in flight counted on `key` (the model's id, or
    /// its pool's name), and returns the task's id; or says which rule
    /// refuses it.
    pub fn submit(
        &mut self,
        account: &str,
        model: &str,
        key: &str,
        limits: Limits,
        now: u64,
    ) -> Result<String, Reason> {
        let k = (account.to_string(), key.to_string());
        let flying = self.in_flight.entry(k.clone()).or_default();
        flying.retain(|&ends| ends > now);
        if let Some(limit) = limits.concurrency() {
            if flying.len() as u64 >= u64::from(limit) {
                return Err(Reason::Concurrency);
            }
        }
        let mut rate = Limits::NONE;
        if let Some(n) = limits.submit_rpm() {
            rate = rate.with_rpm(n);
        }
        if let Some(n) = limits.submit_rps() {
            rate = rate.with_rps(n);
        }
        // A task row without submission kinds: its request kinds limit
        // its submissions (the page's video and image tables since 2026-09).
        if rate == Limits::NONE && limits.concurrency().is_some() {
            if let Some(n) = limits.rpm() {
                rate = rate.with_rpm(n);
            }
            if let Some(n) = limits.rps() {
                rate = rate.with_rps(n);
            }
        }
        if rate != Limits::NONE {
            let window = self.window;
            self.submissions
                .entry(k.clone())
                .or_insert_with(|| Windows::new(rate, window))
                .admit(now, 0)
                .map_err(|_| Reason::Submit)?;
        }
        let ends = now + self.duration;
        self.in_flight.entry(k.clone()).or_default().push(ends);
        *self.busy.entry(k).or_default() += self.duration;
        let id = format!("sim-task-{}", self.next);
        self.next += 1;
        self.tasks.insert(
            id.clone(),
            Task {
                account: account.to_string(),
                model: model.to_string(),
                submitted: now,
                ends,
            },
        );
        Ok(id)
    }

    /// Answers a query of `account` for task `id` at `now` (`own`: the
    /// query limit of the model's row, if it has one): the task's status
    /// (`None`: no such task of this account), or the rule that refuses
    /// the query.
    pub fn query(
        &mut self,
        account: &str,
        id: &str,
        own: impl Fn(&str) -> Option<u32>,
        now: u64,
    ) -> Result<Option<Status>, Reason> {
        let window = self.window;
        let mut admit = |key: &str, per_second: u32| {
            self.queries
                .entry((account.to_string(), key.to_string()))
                .or_insert_with(|| Windows::new(Limits::NONE.with_rps(per_second), window))
                .admit(now, 0)
                .map_err(|_| Reason::Query)
        };
        admit("@tasks", QUERIES_PER_SECOND)?;
        let Some(task) = self.tasks.get(id).filter(|t| t.account == account) else {
            return Ok(None);
        };
        let (model, status) = (task.model.clone(), task.status(now));
        if let Some(per_second) = own(&model) {
            admit(&model, per_second)?;
        }
        Ok(Some(status))
    }

    /// Tasks in flight of `account` on `key` at `now`.
    pub fn in_flight(&self, account: &str, key: &str, now: u64) -> usize {
        self.in_flight
            .get(&(account.to_string(), key.to_string()))
            .map_or(0, |ends| ends.iter().filter(|&&e| e > now).count())
    }

    /// Microseconds in flight summed over every task, up to `now`.
    pub fn busy_us(&self, now: u64) -> u64 {
        self.busy_us_where(now, |_| true)
    }

    /// Microseconds in flight summed over the tasks of `account`, up to
    /// `now`.
    pub fn busy_us_of(&self, account: &str, now: u64) -> u64 {
        self.busy_us_where(now, |a| a == account)
    }

    fn busy_us_where(&self, now: u64, of: impl Fn(&str) -> bool) -> u64 {
        let ahead: u64 = self
            .tasks
            .values()
            .filter(|t| of(&t.account))
            .map(|t| t.ends.saturating_sub(now.max(t.submitted)))
            .sum();
        let all: u64 = self
            .busy
            .iter()
            .filter(|((a, _), _)| of(a))
            .map(|(_, us)| us)
            .sum();
        all - ahead
    }

    /// The accounts that submitted tasks.
    pub fn accounts(&self) -> std::collections::BTreeSet<&str> {
        self.busy.keys().map(|(a, _)| a.as_str()).collect()
    }

    /// Tasks submitted so far.
    pub fn submitted(&self) -> u64 {
        self.next
    }
}

/// The answer to an accepted submission.
pub fn submitted(task_id: &str, request_id: &str) -> Value {
    json!({"output": {"task_id": task_id, "task_status": "PENDING"}, "request_id": request_id})
}

/// The answer to a query: the task's status, `UNKNOWN` for no such task.
pub fn queried(task_id: &str, status: Option<Status>, request_id: &str) -> Value {
    let status = status.map_or("UNKNOWN", Status::name);
    let mut output = json!({"task_id": task_id, "task_status": status});
    if status == "SUCCEEDED" {
        output["video_url"] = json!("https://sim.invalid/result.mp4");
    }
    json!({"output": output, "request_id": request_id})
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn tasks_in_flight_and_submissions_are_limited_and_end_on_time() {
        // 2 submissions a second, 3 in flight; tasks of 10 s.
        let limits = Limits::NONE.with_submit_rps(2).with_concurrency(3);
        let mut t = Tasks::new(60 * S, 10 * S);
        let a = t.submit("acct", "m", "m", limits, 0).unwrap();
        t.submit("acct", "m", "m", limits, 1).unwrap();
        assert_eq!(
            t.submit("acct", "m", "m", limits, S / 2),
            Err(Reason::Submit)
        );
        t.submit("acct", "m", "m", limits, S).unwrap();
        assert_eq!(
            t.submit("acct", "m", "m", limits, 2 * S),
            Err(Reason::Concurrency)
        );
        // Another account has its own.
        t.submit("other", "m", "m", limits, 2 * S).unwrap();
        assert_eq!(t.in_flight("acct", "m", 9 * S), 3);
        let status = |t: &mut Tasks, who: &str, at: u64| t.query(who, &a, |_| None, at);
        assert_eq!(status(&mut t, "acct", 0), Ok(Some(Status::Pending)));
        assert_eq!(status(&mut t, "acct", 5 * S), Ok(Some(Status::Running)));
        assert_eq!(status(&mut t, "acct", 10 * S), Ok(Some(Status::Succeeded)));
        assert_eq!(status(&mut t, "other", 11 * S), Ok(None));
        // Two have ended: slots are free.
        t.submit("acct", "m", "m", limits, 10 * S + 1).unwrap();
        assert_eq!(t.in_flight("acct", "m", 10 * S + 1), 2);
        // Accounts' tasks in flight, summed: 3 x 10 s, less what is ahead.
        assert_eq!(t.busy_us(10 * S), 29 * S - 1 + 8 * S);
        assert_eq!(t.busy_us_of("other", 10 * S), 8 * S);
    }

    #[test]
    fn queries_are_twenty_a_second_per_account() {
        let mut t = Tasks::new(60 * S, S);
        for i in 0..20 {
            assert_eq!(t.query("acct", "none", |_| None, i * S / 20), Ok(None));
        }
        assert_eq!(t.query("acct", "none", |_| None, S - 1), Err(Reason::Query));
        assert_eq!(t.query("acct", "none", |_| None, S), Ok(None));
    }
}
