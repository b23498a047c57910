//! The batched step commit against a real PostgreSQL: each commit in a batch applies only where
//! its run is unchanged and its claim still holds, and the others are not held back by it.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;
use weft_store::runs::{self, RunRow};
use weft_store::step_commit::{self, Committed, StepCommit};
use weft_store::work::{self, NewWork};
use weft_store::{StoreError, definitions, history, tenants};

const OWNER: &str = "worker-a";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn call(step: &str) -> NewWork {
    NewWork {
        kind: weft_concepts::WorkKind::Call,
        step_id: step.into(),
        attempt: 1,
        available_at: now(),
        deadline: None,
    }
}

/// A run with one history event and its first item, claimed by [`OWNER`].
async fn claimed_run(pool: &PgPool, key: &str) -> StepCommit {
    let mut conn = pool.acquire().await.unwrap();
    let row = RunRow {
        id: Uuid::new_v4(),
        tenant_id: "acme".into(),
        definition: "d".into(),
        definition_version: 1,
        business_key: key.into(),
        status: "pending".into(),
        input: json!({}),
        plugins: json!({}),
        outputs: json!({}),
        completed: json!([]),
        compensated: json!([]),
        reason: None,
        next_seq: 2,
        created_at: now(),
        updated_at: now(),
    };
    assert!(runs::insert_if_new(&mut conn, &row).await.unwrap());
    history::append(
        &mut conn,
        "acme",
        row.id,
        1,
        &[(now(), json!({"type": "run-started"}))],
    )
    .await
    .unwrap();
    work::enqueue(&mut conn, "acme", row.id, &[call("s0")], now())
        .await
        .unwrap();
    let claimed = work::claim(&mut conn, OWNER, now(), Duration::from_secs(60), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.run.id == row.id)
        .unwrap();
    let mut next = claimed.run.clone();
    next.status = "running".into();
    next.outputs = json!({"s0": {"key": key}});
    next.next_seq = 4;
    StepCommit {
        item: claimed.item,
        expected_seq: 2,
        run: next,
        events: vec![
            (now(), json!({"type": "step-completed", "step": "s0"})),
            (now(), json!({"type": "step-scheduled", "step": "s1"})),
        ],
        work: vec![call("s1")],
        audit: Vec::new(),
    }
}

async fn setup(pool: &PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    tenants::ensure(&mut conn, "acme", "Acme", now())
        .await
        .unwrap();
    definitions::apply(&mut conn, "acme", "d", "src", "sha", &json!({}), now())
        .await
        .unwrap();
}

async fn commit(pool: &PgPool, batch: &[StepCommit]) -> Result<Vec<Committed>, StoreError> {
    let mut conn = pool.acquire().await.unwrap();
    step_commit::commit(&mut conn, OWNER, now(), None, batch).await
}

async fn state(pool: &PgPool, run: Uuid) -> (String, usize, Vec<String>) {
    let mut conn = pool.acquire().await.unwrap();
    let row = runs::get(&mut conn, "acme", run).await.unwrap();
    let events = history::list(&mut conn, run).await.unwrap().len();
    let steps: Vec<(String,)> =
        sqlx::query_as("select step_id from work_items where run_id = $1 order by id")
            .bind(run)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    (row.status, events, steps.into_iter().map(|s| s.0).collect())
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn each_commit_of_a_batch_applies_only_where_its_run_and_claim_are_unchanged(pool: PgPool) {
    setup(&pool).await;
    let ok = claimed_run(&pool, "ok").await;
    let mut changed = claimed_run(&pool, "changed").await;
    let mut lost = claimed_run(&pool, "lost").await;
    // Something else wrote to the second run since the claim; the third was claimed again.
    changed.expected_seq = 1;
    lost.item.claims += 1;

    let outcomes = commit(&pool, &[ok.clone(), changed.clone(), lost.clone()])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        [
            Committed::Done(vec![]),
            Committed::RunChanged,
            Committed::LeaseLost
        ]
    );
    assert_eq!(
        state(&pool, ok.run.id).await,
        ("running".into(), 3, vec!["s1".into()])
    );
    for untouched in [&changed, &lost] {
        assert_eq!(
            state(&pool, untouched.run.id).await,
            ("pending".into(), 1, vec!["s0".into()]),
            "nothing of a refused commit is written"
        );
    }
    // The same commit again finds its item gone: it cannot apply twice.
    assert_eq!(
        commit(&pool, std::slice::from_ref(&ok)).await.unwrap(),
        [Committed::RunChanged]
    );
    assert_eq!(state(&pool, ok.run.id).await.1, 3);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_batch_is_written_whole_or_not_at_all(pool: PgPool) {
    setup(&pool).await;
    let ok = claimed_run(&pool, "ok").await;
    let mut refused = claimed_run(&pool, "refused").await;
    // PostgreSQL's jsonb cannot hold U+0000: the statement fails, and with it the whole batch.
    refused.events[0].1 = json!({"type": "step-completed", "note": "\u{0}"});
    assert!(commit(&pool, &[ok.clone(), refused]).await.is_err());
    assert_eq!(
        state(&pool, ok.run.id).await,
        ("pending".into(), 1, vec!["s0".into()])
    );
    assert_eq!(
        commit(&pool, std::slice::from_ref(&ok)).await.unwrap(),
        [Committed::Done(vec![])]
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn two_commits_of_one_run_in_a_batch_are_refused(pool: PgPool) {
    setup(&pool).await;
    let ok = claimed_run(&pool, "ok").await;
    match commit(&pool, &[ok.clone(), ok]).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("two results"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn work_due_at_once_can_be_leased_to_the_committing_worker(pool: PgPool) {
    setup(&pool).await;
    let mut next_now = claimed_run(&pool, "now").await;
    let mut next_later = claimed_run(&pool, "later").await;
    next_now.work = vec![call("s1")];
    next_later.work = vec![NewWork {
        available_at: now() + chrono::Duration::minutes(5),
        ..call("s1")
    }];
    let until = now() + chrono::Duration::minutes(1);
    let mut conn = pool.acquire().await.unwrap();
    let outcomes = step_commit::commit(
        &mut conn,
        OWNER,
        now(),
        Some(until),
        &[next_now.clone(), next_later.clone()],
    )
    .await
    .unwrap();
    let leased = match &outcomes[..] {
        [Committed::Done(leased), Committed::Done(none)] => {
            assert!(none.is_empty(), "work due later is not leased: {none:?}");
            leased.clone()
        }
        other => panic!("{other:?}"),
    };
    match &leased[..] {
        [item] => {
            assert_eq!(
                (item.run_id, item.step_id.as_str(), item.claims),
                (next_now.run.id, "s1", 1)
            );
            assert_eq!(item.previous_owner, None);
        }
        other => panic!("{other:?}"),
    }
    // Leased: no other worker can claim it before the lease ends, and then it can.
    let other = work::claim(&mut conn, "worker-b", now(), Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert!(other.is_empty(), "{other:?}");
    let later = until + chrono::Duration::seconds(1);
    let taken = work::claim(&mut conn, "worker-b", later, Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        (taken[0].item.id, taken[0].item.previous_owner.as_deref()),
        (leased[0].id, Some(OWNER))
    );
}
