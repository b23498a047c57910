//! What a crash test checks once every run has ended: each request the ledger received is
//! accounted for by the run's history and by the audit; kills did interrupt steps; nothing is
//! left queued or leased.
//!
//! The ledger keeps one record per key whatever it is sent, so records alone cannot show a step
//! executed twice: the creates it counts per key can. Each one must come from an attempt whose
//! result the history holds (completed or failed), or from one whose host lost its lease: a host
//! that stalled (its taker records `LeaseExpired`) or died (its call stays in the audit as
//! in-flight; when an item is taken over several times before a commit, only the last takeover
//! reaches the history, so the in-flight rows count the others).

use std::collections::HashMap;

use weft_engine::{Engine, Event};
use weft_test_support::{LedgerServer, TENANT};

/// What the accounting saw across runs.
#[derive(Debug, Default)]
pub struct Tally {
    /// Leases that ran out (a host died or stalled holding an item).
    pub expired: u64,
    /// Creates the ledger received for a key it had a record for already, beyond the failures a
    /// step plans: requests whose result a dead host never committed.
    pub repeats: u64,
}

/// The history split where compensation starts: the forward steps' events, then the undo's.
fn split(mut history: Vec<Event>) -> (Vec<Event>, Vec<Event>) {
    let at = history
        .iter()
        .position(|e| matches!(e, Event::CompensationStarted { .. }))
        .unwrap_or(history.len());
    let compensation = history.split_off(at);
    (history, compensation)
}

/// Events of `step` of kind `kind`.
fn count(events: &[Event], step: &str, kind: Kind) -> u64 {
    events
        .iter()
        .filter(|e| match (kind, e) {
            (Kind::Completed, Event::StepCompleted { step: s, .. })
            | (Kind::Failed, Event::AttemptFailed { step: s, .. })
            | (Kind::Expired, Event::LeaseExpired { step: s, .. })
            | (Kind::Undone, Event::CompensationCompleted { step: s, .. }) => s == step,
            _ => false,
        })
        .count() as u64
}

#[derive(Clone, Copy)]
enum Kind {
    Completed,
    Failed,
    Expired,
    Undone,
}

/// Calls of `run`'s `step` whose URL matches `url_like` that the audit holds: (sent or in
/// flight, in flight), leaving out refused ones (they never left the host).
async fn audited(pool: &sqlx::PgPool, run: uuid::Uuid, step: &str, url_like: &str) -> (u64, u64) {
    let (sent, in_flight): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where outcome->>'kind' <> 'refused'),
                count(*) filter (where outcome->>'kind' = 'in-flight')
         from outbound_calls where run_id = $1 and step_id = $2 and url like $3",
    )
    .bind(run.to_string())
    .bind(step)
    .bind(url_like)
    .fetch_one(pool)
    .await
    .unwrap();
    (sent as u64, in_flight as u64)
}

/// Checks that `asked` requests of one step (or one compensation) are all accounted for.
fn assert_accounted(
    what: &str,
    asked: u64,
    history: &[Event],
    step: &str,
    done: Kind,
    audit: (u64, u64),
) {
    let (recorded, in_flight) = audit;
    let committed = count(history, step, done) + count(history, step, Kind::Failed);
    let expired = count(history, step, Kind::Expired);
    assert!(
        recorded >= asked,
        "{what}: {asked} requests reached the ledger, {recorded} are audited"
    );
    assert!(
        asked <= committed + expired + in_flight,
        "{what}: the ledger received {asked} requests; the history holds {committed} attempts' \
         results and {expired} expired leases, the audit {in_flight} calls in flight: a step \
         ran again with no sign of why: {history:#?}"
    );
    assert!(
        asked <= committed || expired > 0,
        "{what}: {asked} requests for {committed} attempts' results, and no lease expired: \
         {history:#?}"
    );
}

/// Checks that every create the ledger received for `steps` of `runs`, and every cancel of
/// their records, is matched by an attempt in the run's history and by an audit row. `planned`
/// is how many failures (503) the ledger answers a step's key by design.
pub async fn assert_requests_accounted(
    engine: &Engine,
    pool: &sqlx::PgPool,
    runs: &[uuid::Uuid],
    steps: &[&str],
    planned: impl Fn(&str) -> u64,
    ledger: &LedgerServer,
) -> Tally {
    let creates = ledger.creates_by_key();
    let cancels = ledger.cancels_by_id();
    let records: HashMap<String, u64> = ledger
        .records()
        .into_iter()
        .map(|r| (r.key, r.id))
        .collect();
    let mut tally = Tally::default();
    for run in runs {
        let (forward, compensation) = split(engine.history(TENANT, *run).await.unwrap());
        tally.expired += [&forward, &compensation]
            .iter()
            .flat_map(|events| events.iter())
            .filter(|e| matches!(e, Event::LeaseExpired { .. }))
            .count() as u64;
        for step in steps {
            let key = format!("{TENANT}/{run}/{step}");
            let asked = creates.get(&key).copied().unwrap_or(0);
            let audit = audited(pool, *run, step, "%/records?%").await;
            let what = format!("run {run} step {step}");
            assert_accounted(&what, asked, &forward, step, Kind::Completed, audit);
            let Some(id) = records.get(&key) else {
                continue;
            };
            tally.repeats += asked.saturating_sub(1 + planned(step));
            let cancelled = cancels.get(id).copied().unwrap_or(0);
            let audit = audited(pool, *run, step, &format!("%/records/{id}/cancel")).await;
            let what = format!("run {run} compensation of {step}");
            assert_accounted(&what, cancelled, &compensation, step, Kind::Undone, audit);
        }
    }
    tally
}

/// Kills interrupted steps: leases ran out and requests were sent again for a record the ledger
/// had already made.
pub fn assert_takeovers_happened(tally: &Tally) {
    assert!(
        tally.expired > 0,
        "no lease expired: no kill interrupted a step"
    );
    assert!(
        tally.repeats > 0,
        "no request was sent again after its host died: the takeover path was not exercised"
    );
}

/// No work item (and so no lease) is left once every run has ended.
pub async fn assert_nothing_queued(pool: &sqlx::PgPool) {
    let left: Vec<(String, String, Option<String>)> =
        sqlx::query_as("select kind, step_id, lease_owner from work_items")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(left.is_empty(), "work left after every run ended: {left:?}");
}
