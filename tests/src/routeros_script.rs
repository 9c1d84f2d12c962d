//! A syntax check of the RouterOS scripts we hand to owners (the hotspot install script, the
//! container install script): every command path and every named argument they use must
//! exist in the RouterOS versions they are meant for, as RouterOS's own `/console/inspect`
//! lists them. RouterOS parses a whole script before running any of it, so one misspelt or
//! version-specific argument name makes the whole install fail with a bare "syntax error".
//!
//! The lists are in `tests/data/routeros/<version>.txt` (see the README there for their source
//! and how they are made): one command per line, its path then its argument names.
//!
//! What is parsed, enough for scripts we write ourselves: comments, commands separated by
//! new lines or `;`, `{ }` blocks (a block whose entries are only values is an array), `[ ]`
//! command substitutions (resolved from the menu of the command around them), `( )`
//! expressions, strings with escapes, `\` line continuations, `:`-commands at the root, and
//! a line that is only a menu path changing the menu for the lines after it.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// The versions whose command lists are kept.
pub const VERSIONS: [&str; 7] = ["7.15.2", "7.17", "7.19", "7.20", "7.21", "7.22", "7.24"];

/// The commands of one RouterOS version: path (`ip/hotspot/profile/set`) → argument names.
#[derive(Debug)]
pub struct Catalog {
    /// The version.
    pub version: String,
    commands: HashMap<String, HashSet<String>>,
    /// Every menu on the way to a command (`ip`, `ip/hotspot`, ...).
    menus: HashSet<String>,
}

impl Catalog {
    /// The list kept for `version`.
    pub fn load(version: &str) -> Catalog {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/routeros").join(format!("{version}.txt"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut commands = HashMap::new();
        let mut menus = HashSet::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut words = line.split(' ');
            let path = words.next().expect("a path").to_string();
            let mut prefix = String::new();
            for part in path.split('/').collect::<Vec<_>>().split_last().expect("a verb").1 {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                menus.insert(prefix.clone());
            }
            commands.insert(path, words.map(str::to_string).collect());
        }
        Catalog { version: version.to_string(), commands, menus }
    }
}

/// One problem found, with the line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the script.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// Checks `script` against `catalog`: every problem found.
pub fn check(script: &str, catalog: &Catalog) -> Vec<Problem> {
    let tokens = tokenize(script);
    let mut checker = Checker { catalog, problems: Vec::new() };
    checker.block(&tokens, &[]);
    checker.problems
}

/// A piece of script.
#[derive(Clone, Debug)]
enum Token {
    /// A word (may hold `name=value`; `value` may continue in the next token when it is a group).
    Word(String, usize),
    /// A string literal.
    Str,
    /// `[ ... ]`.
    Subst(Vec<Token>),
    /// `{ ... }`.
    Block(Vec<Token>),
    /// `( ... )`.
    Expr(Vec<Token>),
    /// The end of a command: a new line or `;`.
    End,
}

fn tokenize(script: &str) -> Vec<Token> {
    let chars: Vec<char> = script.chars().collect();
    let mut at = 0;
    let mut line = 1;
    group(&chars, &mut at, &mut line, None)
}

/// Tokens up to `close` (or the end).
fn group(chars: &[char], at: &mut usize, line: &mut usize, close: Option<char>) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start_of_line = true;
    while *at < chars.len() {
        let c = chars[*at];
        if Some(c) == close {
            *at += 1;
            return out;
        }
        match c {
            '\n' => {
                *line += 1;
                *at += 1;
                out.push(Token::End);
                start_of_line = true;
                continue;
            }
            ';' => {
                *at += 1;
                out.push(Token::End);
            }
            '\\' if chars.get(*at + 1) == Some(&'\n') => {
                *at += 2;
                *line += 1;
            }
            c if c.is_whitespace() => *at += 1,
            '#' if start_of_line => {
                while *at < chars.len() && chars[*at] != '\n' {
                    *at += 1;
                }
            }
            '"' => {
                *at += 1;
                while *at < chars.len() && chars[*at] != '"' {
                    if chars[*at] == '\\' {
                        *at += 1;
                    }
                    if chars.get(*at) == Some(&'\n') {
                        *line += 1;
                    }
                    *at += 1;
                }
                *at += 1;
                out.push(Token::Str);
            }
            '[' | '{' | '(' => {
                *at += 1;
                let inner = group(chars, at, line, Some(matching(c)));
                out.push(match c {
                    '[' => Token::Subst(inner),
                    '{' => Token::Block(inner),
                    _ => Token::Expr(inner),
                });
            }
            _ => {
                let begin = *at;
                while *at < chars.len() && !chars[*at].is_whitespace() && !"[{(\";]})".contains(chars[*at]) {
                    *at += 1;
                }
                if *at == begin {
                    *at += 1; // a stray closer: skip it
                    continue;
                }
                out.push(Token::Word(chars[begin..*at].iter().collect(), *line));
            }
        }
        start_of_line = false;
    }
    out
}

fn matching(open: char) -> char {
    match open {
        '[' => ']',
        '{' => '}',
        _ => ')',
    }
}

struct Checker<'a> {
    catalog: &'a Catalog,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    /// The commands of a block, run in `menu`.
    fn block(&mut self, tokens: &[Token], menu: &[String]) {
        let mut menu = menu.to_vec();
        for command in tokens.split(|t| matches!(t, Token::End)).filter(|c| !c.is_empty()) {
            if let Some(next) = self.command(command, &menu) {
                menu = next;
            }
        }
    }

    /// Checks one command; `Some(menu)` when it only names a menu (the menu for what follows).
    fn command(&mut self, tokens: &[Token], menu: &[String]) -> Option<Vec<String>> {
        let (first, line) = match &tokens[0] {
            Token::Word(word, line) => (word.as_str(), *line),
            // A value on its own (an array's entries): not a command.
            Token::Str | Token::Expr(_) => return None,
            Token::Block(inner) => {
                self.block(inner, menu);
                return None;
            }
            Token::Subst(inner) => {
                self.command_list(inner, menu);
                return None;
            }
            Token::End => return None,
        };
        if first.starts_with('$') || first.parse::<f64>().is_ok() {
            return None;
        }
        if let Some(name) = first.strip_prefix(':') {
            if !self.catalog.commands.contains_key(name) {
                self.problem(line, format!("no scripting command :{name}"));
                return None;
            }
            self.arguments(name, &tokens[1..], menu);
            return None;
        }
        // A path: `/ip hotspot profile set`, `/ip/hotspot/profile/set`, or relative words.
        let mut path: Vec<String> = if first.starts_with('/') { Vec::new() } else { menu.to_vec() };
        let mut rest = tokens;
        while let Some(Token::Word(word, line)) = rest.first() {
            if word.contains('=') || word.starts_with('$') {
                break;
            }
            let parts: Vec<&str> = word.split('/').filter(|p| !p.is_empty()).collect();
            let mut candidate = path.clone();
            candidate.extend(parts.iter().map(|p| p.to_string()));
            let joined = candidate.join("/");
            if self.catalog.commands.contains_key(&joined) && !self.catalog.menus.contains(&joined) {
                self.arguments(&joined, &rest[1..], &path_menu(&candidate));
                return None;
            }
            if !self.catalog.menus.contains(&joined) {
                self.problem(*line, format!("no command or menu /{joined}"));
                return None;
            }
            path = candidate;
            rest = &rest[1..];
        }
        if rest.is_empty() {
            return Some(path); // a menu on its own: the menu for what follows
        }
        self.problem(line, format!("/{} is a menu, not a command", path.join("/")));
        None
    }

    /// A `[ ]` substitution: one command (or several) in `menu`.
    fn command_list(&mut self, tokens: &[Token], menu: &[String]) {
        for command in tokens.split(|t| matches!(t, Token::End)).filter(|c| !c.is_empty()) {
            self.command(command, menu);
        }
    }

    /// The arguments of command `path`, whose `[ ]` and `{ }` run in `menu`.
    fn arguments(&mut self, path: &str, tokens: &[Token], menu: &[String]) {
        let known = &self.catalog.commands[path];
        let mut condition = false;
        for token in tokens {
            match token {
                Token::Word(word, line) => {
                    if condition {
                        continue; // after `where`: property names of the items, not arguments
                    }
                    if word == "where" && known.contains("where") {
                        condition = true;
                        continue;
                    }
                    if let Some((name, _)) = word.split_once('=') {
                        let name = name.trim_start_matches('!');
                        if !name.is_empty() && !known.contains(name) {
                            self.problem(*line, format!("/{path} has no argument {name}"));
                        }
                    }
                }
                Token::Subst(inner) => self.command_list(inner, menu),
                Token::Expr(inner) => self.expression(inner, menu),
                Token::Block(inner) => self.block(inner, menu),
                Token::Str | Token::End => {}
            }
        }
    }

    /// An expression: only its `[ ]` substitutions are commands.
    fn expression(&mut self, tokens: &[Token], menu: &[String]) {
        for token in tokens {
            match token {
                Token::Subst(inner) => self.command_list(inner, menu),
                Token::Expr(inner) => self.expression(inner, menu),
                _ => {}
            }
        }
    }

    fn problem(&mut self, line: usize, what: String) {
        self.problems.push(Problem { line, what });
    }
}

/// The menu a command runs in (its path without the verb).
fn path_menu(path: &[String]) -> Vec<String> {
    path[..path.len().saturating_sub(1)].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(script: &str) -> Vec<String> {
        check(script, &Catalog::load("7.24")).into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn commands_arguments_and_menus_are_checked() {
        let ok = "# a comment\n/ip hotspot profile set [find] html-directory=$dir html-directory-override=\"\"\n\
                  /ip/hotspot/walled-garden/add dst-host=a.example comment=\"x\"\n\
                  :local dir \"jasiyo\"\n\
                  :if ([:len [/file find where name=\"flash\"]] > 0) do={ :set dir \"flash/jasiyo\" }\n\
                  :foreach page in={\"a.html\";\"b.html\"} do={\n  /tool fetch url=(\"x\" . $page) dst-path=$page\n}\n\
                  /ip hotspot walled-garden\nremove [find where comment=\"x\"]\n";
        assert_eq!(problems(ok), Vec::<String>::new());
        assert_eq!(problems("/ip hotspot profile set [find] html-dir=x\n"), ["line 1: /ip/hotspot/profile/set has no argument html-dir"]);
        assert_eq!(problems("/ip hotspt profile print\n"), ["line 1: no command or menu /ip/hotspt"]);
        assert_eq!(problems(":pt \"x\"\n"), ["line 1: no scripting command :pt"]);
        assert_eq!(problems("{\n:do { /tool fetch ur=x } on-error={ :put \"no\" }\n}\n"), ["line 2: /tool/fetch has no argument ur"]);
        assert_eq!(problems("/ip hotspot profile\nset [find] bogus=1\n"), ["line 2: /ip/hotspot/profile/set has no argument bogus"]);
    }
}
