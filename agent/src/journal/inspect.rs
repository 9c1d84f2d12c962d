//! A read-only view of the commands the journal still holds, for whoever inspects a
//! stopped agent's journal (the chaos run compares it with the router).

use jasiyo_shared::{Delivery, Outcome};

use super::{Journal, JournalError, Record, decode, seq_of};

impl Journal {
    /// Every command the journal still holds (the cloud has not acknowledged its outcome),
    /// in sequence order, with its outcome once applied. Changes nothing.
    pub fn unacknowledged(&self) -> Result<Vec<(Delivery, Option<Outcome>)>, JournalError> {
        self.commands
            .iter()
            .map(|entry| {
                let (key, bytes) = entry?;
                let record: Record = decode(seq_of(&key), &bytes)?;
                Ok((record.delivery, record.outcome))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use jasiyo_shared::{Command, Seq};
    use tempfile::TempDir;

    use super::*;

    fn delivery(seq: u64) -> Delivery {
        let id = format!("00000000-0000-4000-8000-{seq:012x}").parse().expect("a well-formed id");
        Delivery { seq: Seq(seq), id, command: Command::RemoveHotspotUser { name: format!("user{seq}") } }
    }

    #[test]
    fn unacknowledged_lists_pending_and_applied_commands_not_acknowledged_ones() {
        let dir = TempDir::new().unwrap();
        let (journal, _) = Journal::open(dir.path()).unwrap();
        for seq in 1..=3 {
            journal.record(&delivery(seq)).unwrap();
        }
        let applied = Outcome::Applied { note: None };
        journal.set_outcomes(&[(Seq(1), applied.clone()), (Seq(2), applied.clone())]).unwrap();
        assert!(journal.ack_result(Seq(1)).unwrap());
        drop(journal);

        let (journal, reset) = Journal::open(dir.path()).unwrap();
        assert!(!reset);
        let held = journal.unacknowledged().unwrap();
        assert_eq!(held, vec![(delivery(2), Some(applied)), (delivery(3), None)]);
        assert_eq!(journal.unacknowledged().unwrap(), held, "reading changes nothing");
    }
}
