//! The hotspot user table: rows in `.id` order (the order `print` shows) with an index by
//! name and by `.id`, so the lookups clients make (`?name=x`, `add` checking for a duplicate,
//! `set` by id) cost the same with 20,000 users as with one. Benchmarks fill the emulator
//! with thousands of users; a linear scan per lookup would make it the thing measured.

use std::collections::HashMap;

use super::state::UserRecord;

/// Users, indexed. Every change goes through a method that keeps the indexes true.
#[derive(Debug, Default)]
pub(crate) struct UserTable {
    rows: Vec<UserRecord>,
    by_name: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
}

impl UserTable {
    /// Every user, in `.id` order.
    pub fn iter(&self) -> std::slice::Iter<'_, UserRecord> {
        self.rows.iter()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn by_name(&self, name: &str) -> Option<&UserRecord> {
        self.by_name.get(name).map(|&i| &self.rows[i])
    }

    pub fn by_id(&self, id: &str) -> Option<&UserRecord> {
        self.by_id.get(id).map(|&i| &self.rows[i])
    }

    /// Appends a user; its name and `.id` must be free (the menus check the name first).
    pub fn push(&mut self, record: UserRecord) {
        let at = self.rows.len();
        self.by_name.insert(record.row.name.clone(), at);
        self.by_id.insert(record.row.id.clone(), at);
        self.rows.push(record);
    }

    /// Replaces the user with the same `.id` (its name may have changed).
    pub fn replace(&mut self, record: UserRecord) {
        let Some(&at) = self.by_id.get(&record.row.id) else { return };
        let old = std::mem::replace(&mut self.rows[at], record);
        if old.row.name != self.rows[at].row.name {
            self.by_name.remove(&old.row.name);
            self.by_name.insert(self.rows[at].row.name.clone(), at);
        }
    }

    /// Changes the rows as a plain vector (removals), then rebuilds the indexes.
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut Vec<UserRecord>) -> R) -> R {
        let out = change(&mut self.rows);
        self.by_name = self.rows.iter().enumerate().map(|(i, u)| (u.row.name.clone(), i)).collect();
        self.by_id = self.rows.iter().enumerate().map(|(i, u)| (u.row.id.clone(), i)).collect();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routeros_emulator::state::HotspotUserRow;

    fn user(id: &str, name: &str) -> UserRecord {
        let row = HotspotUserRow {
            id: id.into(),
            name: name.into(),
            password: String::new(),
            profile: "default".into(),
            mac_address: None,
            limit_uptime: None,
            limit_bytes_total: None,
            comment: None,
            disabled: false,
            bytes_in: 0,
            bytes_out: 0,
        };
        UserRecord { row, extra: Vec::new() }
    }

    #[test]
    fn indexes_follow_pushes_renames_and_removals() {
        let mut table = UserTable::default();
        table.push(user("*1", "a"));
        table.push(user("*2", "b"));
        table.push(user("*3", "c"));
        table.replace(user("*2", "bee"));
        assert!(table.by_name("b").is_none());
        assert_eq!(table.by_name("bee").unwrap().row.id, "*2");
        table.edit(|rows| rows.retain(|u| u.row.id != "*1"));
        assert!(table.by_id("*1").is_none());
        assert_eq!(table.by_name("c").unwrap().row.id, "*3");
        assert_eq!(table.by_id("*2").unwrap().row.name, "bee");
        let names: Vec<_> = table.iter().map(|u| u.row.name.as_str()).collect();
        assert_eq!(names, ["bee", "c"]);
    }
}
