//! Unit tests of the apply loop's single step and of its retrying run loop.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use jasiyo_shared::{Command, CommandId, Delivery};
use tempfile::TempDir;

use super::*;

/// Answers from a script (then `Applied`), recording every call.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<Outcome, ExecError>>>,
    calls: Mutex<Vec<Seq>>,
}

impl Executor for Scripted {
    fn apply<'a>(&'a self, seq: Seq, _command: &'a Command) -> ApplyFuture<'a> {
        self.calls.lock().unwrap().push(seq);
        let answer = self.answers.lock().unwrap().pop_front().unwrap_or(Ok(Outcome::Applied { note: None }));
        Box::pin(async move { answer })
    }
}

struct Fixture {
    _dir: TempDir,
    journal: Journal,
    executor: Arc<Scripted>,
    work: Arc<Notify>,
    results: Arc<Notify>,
    last_error: watch::Receiver<Option<String>>,
    applier: Applier,
}

fn fixture(answers: Vec<Result<Outcome, ExecError>>) -> Fixture {
    let dir = TempDir::new().unwrap();
    let (journal, _) = Journal::open(dir.path()).unwrap();
    let executor = Arc::new(Scripted { answers: Mutex::new(answers.into()), ..Default::default() });
    let (work, results) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (tx, last_error) = watch::channel(None);
    let applier = Applier::new(journal.clone(), executor.clone(), work.clone(), results.clone(), &ReconnectPolicy::fast_for_tests(), tx);
    Fixture { _dir: dir, journal, executor, work, results, last_error, applier }
}

fn remove(seq: u64, name: &str) -> Delivery {
    Delivery { seq: Seq(seq), id: CommandId::new(), command: Command::RemoveHotspotUser { name: name.into() } }
}

#[tokio::test]
async fn nothing_pending_is_idle() {
    let mut f = fixture(vec![]);
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Idle);
}

#[tokio::test]
async fn commands_apply_in_order_and_outcomes_are_stored() {
    let mut f = fixture(vec![]);
    for seq in [2, 1] {
        f.journal.record(&remove(seq, "u")).unwrap();
    }
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Applied(Seq(1)));
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Applied(Seq(2)));
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Idle);
    assert_eq!(*f.executor.calls.lock().unwrap(), vec![Seq(1), Seq(2)]);
    assert_eq!(f.journal.unacked_results().unwrap().len(), 2);
    // The link was told there are results to send.
    tokio::time::timeout(Duration::from_secs(1), f.results.notified()).await.unwrap();
}

#[tokio::test]
async fn a_transient_failure_stores_nothing() {
    let mut f = fixture(vec![Err(ExecError::Transient("router away".into()))]);
    f.journal.record(&remove(1, "u")).unwrap();
    assert!(matches!(f.applier.apply_once().await.unwrap(), Step::Retry(Seq(1), _)));
    assert!(f.journal.unacked_results().unwrap().is_empty());
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Applied(Seq(1)));
}

#[tokio::test]
async fn an_invalid_command_fails_without_reaching_the_executor() {
    let mut f = fixture(vec![]);
    f.journal.record(&remove(1, "has space")).unwrap();
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Applied(Seq(1)));
    assert!(f.executor.calls.lock().unwrap().is_empty());
    let results = f.journal.unacked_results().unwrap();
    assert!(matches!(&results[0], (Seq(1), Outcome::Failed { .. })), "{results:?}");
}

#[tokio::test]
async fn the_loop_retries_until_applied_and_reports_the_error_meanwhile() {
    let failures = (0..3).map(|_| Err(ExecError::Transient("router away".into()))).collect();
    let f = fixture(failures);
    let shutdown = CancellationToken::new();
    let mut last_error = f.last_error.clone();
    let running = tokio::spawn(f.applier.run(shutdown.clone()));

    f.journal.record(&remove(1, "u")).unwrap();
    f.work.notify_one();
    let reported = tokio::time::timeout(Duration::from_secs(5), last_error.wait_for(|e| e.is_some())).await;
    assert!(reported.unwrap().unwrap().as_ref().unwrap().contains("router away"));
    tokio::time::timeout(Duration::from_secs(5), async {
        while f.journal.unacked_results().unwrap().is_empty() {
            f.results.notified().await;
        }
    })
    .await
    .expect("applied after the retries");
    assert_eq!(f.executor.calls.lock().unwrap().len(), 4);
    tokio::time::timeout(Duration::from_secs(5), last_error.wait_for(|e| e.is_none())).await.unwrap().unwrap();

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), running).await.unwrap().unwrap();
}

#[tokio::test]
async fn independent_commands_are_applied_together_and_conflicting_ones_in_order() {
    let mut f = fixture(vec![]);
    for (seq, name) in [(1, "a"), (2, "b"), (3, "a"), (4, "c")] {
        f.journal.record(&remove(seq, name)).unwrap();
    }
    // 1 and 2 are independent; 3 touches the same user as 1, so the batch stops before it.
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Applied(Seq(1)));
    assert_eq!(f.journal.unacked_results().unwrap().len(), 2);
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Applied(Seq(3)));
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Idle);
    let mut calls = f.executor.calls.lock().unwrap().clone();
    calls[..2].sort();
    assert_eq!(calls, vec![Seq(1), Seq(2), Seq(3), Seq(4)]);
}

#[tokio::test]
async fn a_transient_failure_in_a_batch_keeps_the_others_outcomes() {
    let mut f = fixture(vec![Err(ExecError::Transient("router away".into()))]);
    f.journal.record(&remove(1, "a")).unwrap();
    f.journal.record(&remove(2, "b")).unwrap();
    assert!(matches!(f.applier.apply_once().await.unwrap(), Step::Retry(Seq(1), _)));
    let stored: Vec<Seq> = f.journal.unacked_results().unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(stored, vec![Seq(2)]);
    assert_eq!(f.applier.apply_once().await.unwrap(), Step::Applied(Seq(1)));
}
