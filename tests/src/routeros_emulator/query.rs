//! `print` queries: each `?` word pushes a true/false per row onto a stack, `?#` words
//! combine stack items, and whatever is left is ANDed. Also `=.proplist=` column limits.

use std::cmp::Ordering;

/// One row of a print: `(name, value)` in the router's column order.
pub(crate) type Row = Vec<(String, String)>;

/// A query word, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Word {
    /// `?name`: the row has the property.
    Has(String),
    /// `?-name`: the row lacks it.
    Lacks(String),
    /// `?name=x` or `?=name=x`.
    Equals(String, String),
    /// `?<name=x`.
    Less(String, String),
    /// `?>name=x`.
    Greater(String, String),
    /// `?#ops`: `|`, `&`, `!`, `.` and digits.
    Ops(String),
}

/// A query the emulator cannot evaluate (stack underflow, bad index, unknown operator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadQuery;

/// A parsed list of query words, evaluated in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query(Vec<Word>);

impl Query {
    /// Parses the query words of a request (each without its leading `?`).
    pub fn parse(words: &[String]) -> Query {
        Query(words.iter().map(|w| parse_word(w)).collect())
    }

    /// Whether `row` passes.
    pub fn matches(&self, row: &Row) -> Result<bool, BadQuery> {
        let mut stack: Vec<bool> = Vec::new();
        for word in &self.0 {
            match word {
                Word::Has(name) => stack.push(get(row, name).is_some()),
                Word::Lacks(name) => stack.push(get(row, name).is_none()),
                // A missing property compares as empty (unverified).
                Word::Equals(name, value) => stack.push(get(row, name).unwrap_or("") == value),
                Word::Less(name, value) => stack.push(get(row, name).is_some_and(|v| compare(v, value) == Ordering::Less)),
                Word::Greater(name, value) => stack.push(get(row, name).is_some_and(|v| compare(v, value) == Ordering::Greater)),
                Word::Ops(ops) => apply_ops(&mut stack, ops)?,
            }
        }
        Ok(stack.into_iter().all(|b| b))
    }

    /// The rows that pass, in order.
    pub fn filter(&self, rows: Vec<Row>) -> Result<Vec<Row>, BadQuery> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if self.matches(&row)? {
                out.push(row);
            }
        }
        Ok(out)
    }
}

fn parse_word(word: &str) -> Word {
    let split = |rest: &str| match rest.split_once('=') {
        Some((name, value)) => (name.to_string(), value.to_string()),
        None => (rest.to_string(), String::new()),
    };
    if let Some(ops) = word.strip_prefix('#') {
        return Word::Ops(ops.to_string());
    }
    if let Some(name) = word.strip_prefix('-') {
        return Word::Lacks(name.to_string());
    }
    if let Some(rest) = word.strip_prefix('<') {
        let (name, value) = split(rest);
        return Word::Less(name, value);
    }
    if let Some(rest) = word.strip_prefix('>') {
        let (name, value) = split(rest);
        return Word::Greater(name, value);
    }
    let rest = word.strip_prefix('=').unwrap_or(word);
    match rest.split_once('=') {
        Some((name, value)) => Word::Equals(name.to_string(), value.to_string()),
        None => Word::Has(rest.to_string()),
    }
}

/// Runs `?#` operators on the stack. `.` is a no-op, a digit pushes a copy of the item at
/// that index counted from the bottom.
fn apply_ops(stack: &mut Vec<bool>, ops: &str) -> Result<(), BadQuery> {
    for op in ops.chars() {
        match op {
            '|' | '&' => {
                let b = stack.pop().ok_or(BadQuery)?;
                let a = stack.pop().ok_or(BadQuery)?;
                stack.push(if op == '|' { a || b } else { a && b });
            }
            '!' => {
                let a = stack.pop().ok_or(BadQuery)?;
                stack.push(!a);
            }
            '.' => {}
            d if d.is_ascii_digit() => {
                let index = d.to_digit(10).unwrap_or(0) as usize;
                let copy = *stack.get(index).ok_or(BadQuery)?;
                stack.push(copy);
            }
            _ => return Err(BadQuery),
        }
    }
    Ok(())
}

/// Numbers compare as numbers when both sides parse, anything else as strings.
fn compare(left: &str, right: &str) -> Ordering {
    match (left.parse::<i128>(), right.parse::<i128>()) {
        (Ok(l), Ok(r)) => l.cmp(&r),
        _ => left.cmp(right),
    }
}

fn get<'a>(row: &'a Row, name: &str) -> Option<&'a str> {
    row.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Keeps only the columns named in a `.proplist` value (comma-separated), in that order.
pub(crate) fn project(row: Row, proplist: Option<&str>) -> Row {
    let Some(list) = proplist else { return row };
    list.split(',').filter(|name| !name.is_empty()).filter_map(|name| row.iter().find(|(n, _)| n == name).cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    fn q(words: &[&str]) -> Query {
        Query::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn both_equality_forms_and_presence() {
        let r = row(&[("name", "a"), ("comment", "x")]);
        assert!(q(&["name=a"]).matches(&r).unwrap());
        assert!(q(&["=name=a"]).matches(&r).unwrap());
        assert!(!q(&["=name=b"]).matches(&r).unwrap());
        assert!(q(&["comment"]).matches(&r).unwrap());
        assert!(!q(&["-comment"]).matches(&r).unwrap());
        assert!(q(&["-mac-address"]).matches(&r).unwrap());
    }

    #[test]
    fn comparisons_are_numeric_when_both_sides_are_numbers() {
        let r = row(&[("bytes", "9"), ("name", "b")]);
        assert!(q(&["<bytes=10"]).matches(&r).unwrap(), "9 < 10 as numbers, not strings");
        assert!(q(&[">bytes=8"]).matches(&r).unwrap());
        assert!(q(&[">name=a"]).matches(&r).unwrap());
        assert!(!q(&["<missing=5"]).matches(&r).unwrap());
    }

    #[test]
    fn stack_operators() {
        let ether = row(&[("type", "ether")]);
        let wlan = row(&[("type", "wlan")]);
        let neither = q(&["type=ether", "type=vlan", "#|!"]);
        assert!(!neither.matches(&ether).unwrap());
        assert!(neither.matches(&wlan).unwrap());
        assert!(q(&["type=ether", "type=wlan", "#|"]).matches(&wlan).unwrap());
        assert!(!q(&["type=ether", "type=wlan", "#&"]).matches(&wlan).unwrap());
        // `0` copies the bottom item; the leftover stack is ANDed.
        assert!(q(&["type=wlan", "#0&."]).matches(&wlan).unwrap());
        assert!(!q(&["type=ether", "type", "#0"]).matches(&wlan).unwrap());
        assert_eq!(q(&["#|"]).matches(&wlan), Err(BadQuery));
        assert_eq!(q(&["type", "#5"]).matches(&wlan), Err(BadQuery));
    }

    #[test]
    fn proplist_keeps_the_named_columns_in_order() {
        let r = row(&[(".id", "*1"), ("name", "a"), ("password", "p")]);
        assert_eq!(project(r.clone(), Some("name,.id,nope")), row(&[("name", "a"), (".id", "*1")]));
        assert_eq!(project(r.clone(), None), r);
    }
}
