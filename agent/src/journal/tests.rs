//! Unit tests of the journal: durability, duplicates, order, damage, tombstones.

use jasiyo_shared::{Command, CommandId, Delivery, Outcome, Seq};
use tempfile::TempDir;

use super::*;

fn delivery(seq: u64) -> Delivery {
    Delivery { seq: Seq(seq), id: command_id(seq), command: Command::RemoveHotspotUser { name: format!("user{seq}") } }
}

/// The same command id for the same number every time: a command delivered again is the
/// same command.
fn command_id(seq: u64) -> CommandId {
    format!("00000000-0000-4000-8000-{seq:012x}").parse().expect("a well-formed id")
}

fn applied() -> Outcome {
    Outcome::Applied { note: None }
}

fn open(dir: &TempDir) -> (Journal, bool) {
    Journal::open(dir.path()).expect("journal opens")
}

#[test]
fn a_new_journal_is_reset_and_a_reopened_one_is_not() {
    let dir = TempDir::new().unwrap();
    let (journal, reset) = open(&dir);
    assert!(reset);
    journal.record(&delivery(1)).unwrap();
    drop(journal);
    let (journal, reset) = open(&dir);
    assert!(!reset);
    assert_eq!(journal.high().unwrap(), Some(Seq(1)));
}

#[test]
fn commands_and_outcomes_survive_reopening() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    let (one, two) = (delivery(1), delivery(2));
    assert_eq!(journal.record(&one).unwrap(), Recorded::New);
    assert_eq!(journal.record(&two).unwrap(), Recorded::New);
    journal.set_outcome(Seq(1), &applied()).unwrap();
    drop(journal);

    let (journal, _) = open(&dir);
    assert_eq!(journal.next_pending().unwrap(), Some(two));
    assert_eq!(journal.unacked_results().unwrap(), vec![(Seq(1), applied())]);
    assert_eq!(journal.high().unwrap(), Some(Seq(2)));
    assert_eq!(journal.depth(), 2);
}

#[test]
fn duplicates_report_what_is_known() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    let one = delivery(1);
    assert_eq!(journal.record(&one).unwrap(), Recorded::New);
    assert_eq!(journal.record(&one).unwrap(), Recorded::Duplicate(Existing::Pending));
    journal.set_outcome(Seq(1), &applied()).unwrap();
    assert_eq!(journal.record(&one).unwrap(), Recorded::Duplicate(Existing::Done(applied())));
    assert!(journal.ack_result(Seq(1)).unwrap());
    assert_eq!(journal.record(&one).unwrap(), Recorded::Duplicate(Existing::Acknowledged));
    assert_eq!(journal.depth(), 0);
    assert_eq!(journal.next_pending().unwrap(), None);
    assert!(journal.unacked_results().unwrap().is_empty());
    assert_eq!(journal.high().unwrap(), Some(Seq(1)), "an acknowledged command still counts");
}

#[test]
fn acks_for_unknown_or_unapplied_commands_change_nothing() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    journal.record(&delivery(1)).unwrap();
    assert!(!journal.ack_result(Seq(1)).unwrap());
    assert!(!journal.ack_result(Seq(9)).unwrap());
    assert_eq!(journal.record(&delivery(1)).unwrap(), Recorded::Duplicate(Existing::Pending));
    assert!(matches!(journal.set_outcome(Seq(9), &applied()), Err(JournalError::UnknownSeq(Seq(9)))));
}

#[test]
fn pending_commands_come_out_in_sequence_order() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    // 256 sorts before 3 as a little-endian or decimal key; big-endian keeps number order.
    for seq in [256, 3, 1, 2] {
        journal.record(&delivery(seq)).unwrap();
    }
    let mut order = Vec::new();
    while let Some(next) = journal.next_pending().unwrap() {
        order.push(next.seq.0);
        journal.set_outcome(next.seq, &applied()).unwrap();
    }
    assert_eq!(order, vec![1, 2, 3, 256]);
    let acked: Vec<u64> = journal.unacked_results().unwrap().iter().map(|(s, _)| s.0).collect();
    assert_eq!(acked, vec![1, 2, 3, 256]);
}

#[test]
fn a_damaged_journal_is_moved_aside_and_replaced() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    for seq in 1..=5 {
        journal.record(&delivery(seq)).unwrap();
    }
    drop(journal);
    scribble_over(&dir.path().join("journal"));

    let (journal, reset) = open(&dir);
    assert!(reset);
    assert_eq!(journal.high().unwrap(), None);
    assert_eq!(journal.depth(), 0);
    let aside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("journal.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "one quarantined journal in {:?}", dir.path());
    // The fresh journal works.
    assert_eq!(journal.record(&delivery(1)).unwrap(), Recorded::New);
}

/// Overwrites every file under `path` with garbage, as a power cut mid-write might.
fn scribble_over(path: &Path) {
    for entry in std::fs::read_dir(path).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            scribble_over(&entry.path());
        } else {
            let len = entry.metadata().unwrap().len().max(64) as usize;
            let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
            std::fs::write(entry.path(), garbage).unwrap();
        }
    }
}

#[test]
fn a_journal_in_use_is_refused_not_quarantined() {
    let dir = TempDir::new().unwrap();
    let (_journal, _) = open(&dir);
    let second = Journal::open(dir.path());
    assert!(matches!(second, Err(JournalError::Locked(_))), "got {second:?}");
    assert!(dir.path().join("journal").exists());
}

#[test]
fn only_the_newest_tombstones_are_kept() {
    let dir = TempDir::new().unwrap();
    let (mut journal, _) = open(&dir);
    journal.tombstones_kept = 3;
    for seq in 1..=5 {
        journal.record(&delivery(seq)).unwrap();
        journal.set_outcome(Seq(seq), &applied()).unwrap();
        journal.ack_result(Seq(seq)).unwrap();
    }
    assert_eq!(journal.tombstones(), 3);
    // The oldest were pruned: seq 1 and 2 look new again, 3..=5 are still known.
    assert_eq!(journal.record(&delivery(5)).unwrap(), Recorded::Duplicate(Existing::Acknowledged));
    assert_eq!(journal.record(&delivery(3)).unwrap(), Recorded::Duplicate(Existing::Acknowledged));
    assert_eq!(journal.record(&delivery(2)).unwrap(), Recorded::New);
    assert_eq!(journal.high().unwrap(), Some(Seq(5)));
}

#[test]
fn the_default_limit_is_ten_thousand() {
    assert_eq!(TOMBSTONES_KEPT, 10_000);
}

#[test]
fn deliveries_recorded_together_answer_in_order_and_survive() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    journal.record(&delivery(1)).unwrap();
    journal.set_outcome(Seq(1), &applied()).unwrap();
    let (two, three) = (delivery(2), delivery(3));
    let batch = [delivery(1), two.clone(), three.clone(), two.clone()];
    let answers = journal.record_all(&batch).unwrap();
    assert_eq!(
        answers,
        vec![Recorded::Duplicate(Existing::Done(applied())), Recorded::New, Recorded::New, Recorded::Duplicate(Existing::Pending)]
    );
    drop(journal);
    let (journal, _) = open(&dir);
    assert_eq!(journal.next_pending().unwrap(), Some(two));
    assert_eq!(journal.high().unwrap(), Some(Seq(3)));
}

#[test]
fn another_command_under_a_known_number_is_a_conflict_not_a_duplicate() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    let mut other = delivery(1);
    other.id = command_id(99);
    journal.record(&delivery(1)).unwrap();
    assert_eq!(journal.record(&other).unwrap(), Recorded::Conflict { journalled: command_id(1) }, "pending");
    journal.set_outcome(Seq(1), &applied()).unwrap();
    assert_eq!(journal.record(&other).unwrap(), Recorded::Conflict { journalled: command_id(1) }, "done");
    journal.ack_result(Seq(1)).unwrap();
    assert_eq!(journal.record(&other).unwrap(), Recorded::Conflict { journalled: command_id(1) }, "acknowledged");
    assert_eq!(journal.pending(10).unwrap(), vec![], "the refused command is not journalled");
}

/// Damage as power cuts and worn flash leave it. sled 0.34 answers each with an error (the
/// journal is moved aside) or by recovering what it can; none of these makes it panic, which
/// on the router (panic = "abort") would kill the agent instead: that case is
/// [`super::opening::Opening`]'s (a start that dies opening the journal is counted).
#[test]
fn known_damage_is_an_error_or_a_recovery_never_a_panic() {
    fn each_file(path: &Path, only_db: bool, change: &dyn Fn(&mut Vec<u8>)) {
        for entry in std::fs::read_dir(path).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                each_file(&entry.path(), only_db, change);
            } else if !only_db || entry.file_name() == "db" {
                let mut bytes = std::fs::read(entry.path()).unwrap();
                change(&mut bytes);
                std::fs::write(entry.path(), bytes).unwrap();
            }
        }
    }
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let kinds: Vec<(&str, bool, Damage)> = vec![
        ("every file truncated to half", false, Box::new(|b| b.truncate(b.len() / 2))),
        ("a torn last write", false, Box::new(|b| b.truncate(b.len().saturating_sub(37)))),
        ("the first page zeroed", false, Box::new(|b| b.iter_mut().take(4096).for_each(|x| *x = 0))),
        (
            "the last 512 bytes zeroed",
            false,
            Box::new(|b| {
                let from = b.len().saturating_sub(512);
                b[from..].iter_mut().for_each(|x| *x = 0)
            }),
        ),
        (
            "bits flipped in the middle",
            false,
            Box::new(|b| {
                let from = b.len() / 3;
                b.iter_mut().skip(from).take(64).for_each(|x| *x ^= 0xff)
            }),
        ),
        ("the data file truncated to 100 bytes", true, Box::new(|b| b.truncate(100))),
        (
            "the data file's second half zeroed",
            true,
            Box::new(|b| {
                let from = b.len() / 2;
                b[from..].iter_mut().for_each(|x| *x = 0)
            }),
        ),
        (
            "a bit flipped in every 4 KiB of the data file",
            true,
            Box::new(|b| b.iter_mut().skip(100).step_by(4096).for_each(|x| *x ^= 0x5a)),
        ),
    ];
    for (name, only_db, damage) in kinds {
        let dir = TempDir::new().unwrap();
        let (journal, _) = open(&dir);
        for seq in 1..=200 {
            journal.record(&delivery(seq)).unwrap();
        }
        drop(journal);
        each_file(&dir.path().join("journal"), only_db, &*damage);
        let path = dir.path().join("journal");
        let direct = std::panic::catch_unwind(|| super::opening::open_sled(&path).map(|_| ()));
        assert!(direct.is_ok(), "{name}: sled panicked");
        assert!(Journal::open(dir.path()).is_ok(), "{name}: the agent starts (on a recovered or a fresh journal)");
    }
}

/// Starts that die opening the journal (sled aborting the process, on the router's build)
/// are counted; after [`super::opening::DIED_OPENING_LIMIT`] of them the journal is moved aside.
/// A death is what `mem::forget` of the start's counter leaves behind: the counter's `Drop`
/// never runs, as in an aborted process.
#[test]
fn starts_that_die_opening_the_journal_move_it_aside() {
    let dir = TempDir::new().unwrap();
    let (journal, _) = open(&dir);
    journal.record(&delivery(1)).unwrap();
    drop(journal);
    let marker = dir.path().join("journal.opening");

    std::mem::forget(super::opening::Opening::begin(dir.path()));
    let (journal, reset) = open(&dir);
    assert!(!reset && journal.high().unwrap().is_some(), "one death may be a power cut: the journal is kept");
    assert!(!marker.exists(), "a start that opened it clears the count");
    drop(journal);

    for _ in 0..super::opening::DIED_OPENING_LIMIT {
        std::mem::forget(super::opening::Opening::begin(dir.path()));
    }
    let (journal, reset) = open(&dir);
    assert!(reset, "a fresh journal");
    assert_eq!(journal.high().unwrap(), None);
    assert!(std::fs::read_dir(dir.path()).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with("journal.corrupt-")));
    assert!(!marker.exists());
}

#[test]
fn the_last_clock_skew_survives_reopening() {
    let dir = TempDir::new().unwrap();
    {
        let (journal, _) = open(&dir);
        assert_eq!(journal.clock_skew_ms().unwrap(), None, "unknown until measured");
        journal.set_clock_skew_ms(-10_800_000).unwrap();
        journal.set_clock_skew_ms(10_800_123).unwrap();
    }
    let (journal, reset) = open(&dir);
    assert!(!reset);
    assert_eq!(journal.clock_skew_ms().unwrap(), Some(10_800_123));
}
