//! The SQLite store on a real file: restart durability, concurrency, retention.

use std::path::Path;
use std::time::Duration;

use guardian::store::sqlite::{Options, SqliteStore};
use guardian::store::{IncidentStore, ListFilter};
use guardian_core::decide::NoticeKind;
use guardian_core::incident::EscalationLevel;
use guardian_core::policy::Policy;
use guardian_core::signal::{Observation, Signal};
use guardian_core::suppression::Suppression;
use guardian_core::{Category, ObjectRef, Severity, Status, fingerprint};

const T0: i64 = 1_796_112_000_000;
const MIN: i64 = 60_000;

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(&Options {
        path: path.to_path_buf(),
        busy_timeout: Duration::from_secs(5),
        read_connections: 4,
    })
    .await
    .unwrap()
}

fn signal(owner: &str, pod: &str) -> Signal {
    Signal {
        detector: "test".into(),
        cluster: "c1".into(),
        namespace: Some("shop".into()),
        object: ObjectRef::new("Pod", pod),
        top_owner: ObjectRef::new("Deployment", owner),
        reason: "CrashLoopBackOff".into(),
        failure_class: Category::CrashLoop,
        severity: Severity::Warning,
        discriminator: None,
        first_seen: T0,
        last_seen: T0,
        message: "back-off restarting failed container".into(),
    }
}

fn all() -> ListFilter {
    ListFilter {
        limit: 1000,
        ..ListFilter::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let policy = Policy::default();
    let store = open(&path).await;
    let fire = |owner: &str| Observation::Firing(signal(owner, &format!("{owner}-1")));

    // incident A: two episodes of a flapping fingerprint (open, resolve, reopen)
    store.observe(&fire("a"), &policy, T0).await.unwrap();
    let a = store.list(&all()).await.unwrap()[0].clone();
    store
        .resolve(&a.id, "alice", "fixed", T0 + MIN)
        .await
        .unwrap();
    store
        .observe(&fire("a"), &policy, T0 + 10 * MIN)
        .await
        .unwrap();
    // incident B: acknowledged with an expiry
    store.observe(&fire("b"), &policy, T0).await.unwrap();
    let b = store
        .list(&all())
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.object.name == "b")
        .unwrap();
    store
        .acknowledge(&b.id, "bob", "on it", Some(30 * MIN), &policy, T0 + MIN)
        .await
        .unwrap();
    let suppression = Suppression {
        id: "s1".into(),
        namespace: Some("other".into()),
        kind: None,
        name: None,
        category: None,
        reason: "maintenance".into(),
        created_by: "carol".into(),
        created_at: T0,
        expires_at: T0 + 600 * MIN,
    };
    store.create_suppression(&suppression, T0).await.unwrap();
    let before_list = store.list(&all()).await.unwrap();
    let before_a = store.get(&a.id).await.unwrap().unwrap();
    let before_pending = store.pending_notifications(100).await.unwrap();
    assert!(!before_pending.is_empty());
    store.close().await;
    drop(store);

    // "process restart": a brand-new store on the same file
    let store = open(&path).await;
    assert_eq!(store.list(&all()).await.unwrap(), before_list);
    assert_eq!(store.get(&a.id).await.unwrap().unwrap(), before_a);
    assert_eq!(
        store.pending_notifications(100).await.unwrap(),
        before_pending
    );
    assert_eq!(
        store.list_suppressions(T0, false).await.unwrap(),
        vec![suppression]
    );

    // timers survive: B's acknowledgement expires after the restart…
    let report = store.tick(&policy, T0 + 40 * MIN).await.unwrap();
    let b_after = report
        .changed
        .iter()
        .find(|c| c.incident.id == b.id)
        .expect("B changed");
    assert_eq!(b_after.incident.status, Status::Open);
    assert!(b_after.notices.contains(&NoticeKind::AckExpired));
    // …and A's episodes count: a third episode after the restart makes it recurring
    let a_now = store.get(&a.id).await.unwrap().unwrap().incident;
    store
        .resolve(&a.id, "alice", "again", T0 + 41 * MIN)
        .await
        .unwrap();
    let third = store
        .observe(&fire("a"), &policy, T0 + 50 * MIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.incident.id, a_now.id);
    assert_eq!(third.incident.escalations, vec![EscalationLevel::Recurring]);
    assert!(
        third
            .notices
            .contains(&NoticeKind::Escalated(EscalationLevel::Recurring))
    );
}

async fn raw(path: &Path) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    sqlx::SqlitePool::connect_with(options).await.unwrap()
}

async fn count(pool: &sqlx::SqlitePool, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn the_file_is_in_wal_mode_with_the_schema_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = open(&path).await;
    store.ping().await.unwrap();
    store.close().await;
    let pool = raw(&path).await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    let applied = count(&pool, "SELECT count(*) FROM _sqlx_migrations WHERE success").await;
    assert_eq!(usize::try_from(applied).unwrap(), shipped);
    // reopening an existing file does not re-run migrations
    drop(pool);
    open(&path).await.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_reads_proceed_while_the_engine_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("g.db")).await;
    let policy = Policy::default();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..300_i64 {
                let owner = format!("w{}", i % 30);
                let obs = Observation::Firing(signal(&owner, &format!("{owner}-{i}")));
                store.observe(&obs, &policy, T0 + i * 1000).await.unwrap();
            }
        })
    };
    let mut readers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        readers.push(tokio::spawn(async move {
            let mut reads = 0;
            loop {
                let list = store.list(&all()).await.unwrap();
                if let Some(first) = list.first() {
                    store.get(&first.id).await.unwrap().unwrap();
                }
                reads += 1;
                if list.len() == 30 && list.iter().map(|i| i.occurrences).sum::<u64>() == 300 {
                    return reads;
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    writer.await.unwrap();
    for r in readers {
        let reads = tokio::time::timeout(Duration::from_secs(30), r)
            .await
            .unwrap()
            .unwrap();
        assert!(reads >= 1);
    }
    let list = store.list(&all()).await.unwrap();
    assert_eq!(list.len(), 30);
    assert!(list.iter().all(|i| i.occurrences == 10));
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_deletes_only_old_resolved_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("g.db")).await;
    let policy = Policy::default();
    let day = 24 * 60 * MIN;
    for owner in ["old", "recent", "still-open"] {
        store
            .observe(&Observation::Firing(signal(owner, "p")), &policy, T0)
            .await
            .unwrap();
    }
    let by_name = |list: &[guardian_core::Incident], n: &str| {
        list.iter().find(|i| i.object.name == n).unwrap().id.clone()
    };
    let list = store.list(&all()).await.unwrap();
    store
        .resolve(&by_name(&list, "old"), "a", "", T0 + MIN)
        .await
        .unwrap();
    store
        .resolve(&by_name(&list, "recent"), "a", "", T0 + 20 * day)
        .await
        .unwrap();
    let report = store.tick(&policy, T0 + 31 * day).await.unwrap();
    assert_eq!(report.purged, 1);
    let names: Vec<String> = store
        .list(&all())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.object.name)
        .collect();
    assert_eq!(names.len(), 2);
    assert!(!names.contains(&"old".to_string()));
    assert!(store.get(&by_name(&list, "old")).await.unwrap().is_none());
    // foreign keys cascade: no audit, occurrence or outbox row outlives its incident
    let pool = raw(store.path()).await;
    for sql in [
        "SELECT count(*) FROM audit WHERE incident_id NOT IN (SELECT id FROM incidents)",
        "SELECT count(*) FROM occurrences WHERE incident_id NOT IN (SELECT id FROM incidents)",
        "SELECT count(*) FROM notifications WHERE incident_id NOT IN (SELECT id FROM incidents)",
    ] {
        assert_eq!(count(&pool, sql).await, 0, "{sql}");
    }
    assert_eq!(
        count(&pool, "SELECT count(*) FROM audit").await,
        4,
        "recent: opened + resolved; still-open: opened + escalated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_live_incident_per_fingerprint_and_reopen_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("g.db")).await;
    let policy = Policy::default();
    let s = signal("api", "api-1");
    let first = store
        .observe(&Observation::Firing(s.clone()), &policy, T0)
        .await
        .unwrap()
        .unwrap();
    store
        .resolve(&first.incident.id, "a", "", T0 + MIN)
        .await
        .unwrap();
    // past the 24 h reopen window: a new incident with the same fingerprint
    let later = T0 + 25 * 60 * MIN;
    let second = store
        .observe(&Observation::Firing(s.clone()), &policy, later)
        .await
        .unwrap()
        .unwrap();
    assert!(second.created);
    assert_ne!(second.incident.id, first.incident.id);
    assert_eq!(second.incident.fingerprint, fingerprint::of(&s));
    let found = store
        .find_by_fingerprint("c1", &fingerprint::of(&s))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, second.incident.id);
    // recovery resolves the live one only
    let rec = Observation::Recovered {
        fingerprint: fingerprint::of(&s),
        detector: "test".into(),
        note: "healthy".into(),
    };
    let applied = store
        .observe(&rec, &policy, later + MIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(applied.incident.id, second.incident.id);
    assert_eq!(applied.incident.status, Status::Resolved);
    assert!(
        store
            .observe(&rec, &policy, later + 2 * MIN)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn occurrence_history_is_bounded_but_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("g.db")).await;
    let policy = Policy::default();
    for i in 0..250_i64 {
        let obs = Observation::Firing(signal("api", &format!("api-{i}")));
        store.observe(&obs, &policy, T0 + i).await.unwrap();
    }
    let inc = &store.list(&all()).await.unwrap()[0];
    assert_eq!(inc.occurrences, 250);
    let detail = store.get(&inc.id).await.unwrap().unwrap();
    assert_eq!(detail.occurrences.len(), 50);
    assert_eq!(detail.occurrences[0].object.name, "api-249", "newest first");
    assert_eq!(
        detail.notifications.len(),
        1,
        "1 opened, no matter how many sightings"
    );
}
