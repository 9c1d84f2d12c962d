//! What the fuzz targets share: a reader of RouterOS script lines, to check that whatever
//! the cloud puts into a script (names, tokens, passwords, URLs) cannot change what the
//! script does.
//!
//! The reader follows the RouterOS scripting manual: inside double quotes `\"`, `\\`, `\$`,
//! `\?`, `\_`, `\a`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v` and `\` with two hex digits are
//! escapes, and an unescaped `$` substitutes a variable (or, as `$[...]` and `$(...)`, a
//! command or an expression). It is stricter than RouterOS: an escape it does not know, a
//! `$`, a `?` (the terminal's help) or a line break inside a literal is an error, since the
//! cloud never means to write one.

/// Why a RouterOS string literal does not read back as plain text.
#[derive(Debug, PartialEq, Eq)]
pub enum LiteralError {
    /// The text does not start with `"`.
    NoOpeningQuote,
    /// No closing `"`.
    Unterminated,
    /// An unescaped `$`, `?` or line break at this byte.
    Special(usize),
    /// An unknown escape at this byte.
    BadEscape(usize),
}

/// Reads the string literal at the start of `text`: its value and what follows the closing
/// quote.
pub fn read_literal(text: &str) -> Result<(String, &str), LiteralError> {
    let body = text.strip_prefix('"').ok_or(LiteralError::NoOpeningQuote)?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &body[at + 1..])),
            '$' | '?' | '\n' | '\r' => return Err(LiteralError::Special(at)),
            '\\' => {
                let (_, escaped) = chars.next().ok_or(LiteralError::Unterminated)?;
                let plain = match escaped {
                    '"' | '\\' | '$' | '?' => escaped,
                    '_' => ' ',
                    'a' => '\x07',
                    'b' => '\x08',
                    'f' => '\x0c',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\x0b',
                    high if high.is_ascii_hexdigit() => {
                        let (_, low) = chars.next().ok_or(LiteralError::Unterminated)?;
                        let byte = low.to_digit(16).ok_or(LiteralError::BadEscape(at))? + 16 * high.to_digit(16).unwrap_or(0);
                        char::from(byte as u8)
                    }
                    _ => return Err(LiteralError::BadEscape(at)),
                };
                value.push(plain);
            }
            c => value.push(c),
        }
    }
    Err(LiteralError::Unterminated)
}

/// A script line cut into the text outside string literals and the literals' values.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// Script text (commands, names, `$variables`).
    Text(String),
    /// A string literal's value.
    Literal(String),
}

/// Cuts a line into [`Piece`]s; comment lines (`#` first) are one text piece, "comment".
pub fn pieces(line: &str) -> Result<Vec<Piece>, LiteralError> {
    if line.starts_with('#') {
        return Ok(vec![Piece::Text("#comment".to_string())]);
    }
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        match rest.find('"') {
            Some(0) => {
                let (value, after) = read_literal(rest)?;
                out.push(Piece::Literal(value));
                rest = after;
            }
            Some(at) => {
                out.push(Piece::Text(rest[..at].to_string()));
                rest = &rest[at..];
            }
            None => {
                out.push(Piece::Text(rest.to_string()));
                rest = "";
            }
        }
    }
    Ok(out)
}

/// `text` with each marker replaced by its value, in one pass (a value that contains another
/// marker is not replaced again).
pub fn substitute(text: &str, markers: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let first = markers.iter().filter_map(|(m, v)| rest.find(m).map(|at| (at, *m, *v))).min_by_key(|(at, _, _)| *at);
        match first {
            Some((at, marker, value)) => {
                out.push_str(&rest[..at]);
                out.push_str(value);
                rest = &rest[at + marker.len()..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// What a value becomes in a script: line breaks are spaces (a literal cannot hold one).
pub fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// Checks that `script`, made from the fuzzed values, does exactly what `reference` (the same
/// script made from the markers) does: as many lines, the same text outside literals and
/// comments, and each literal the reference's with the markers replaced by the values.
/// Panics with the first difference.
pub fn assert_same_meaning(script: &str, reference: &str, markers: &[(&str, &str)]) {
    let lines: Vec<&str> = script.split('\n').collect();
    let expected: Vec<&str> = reference.split('\n').collect();
    assert_eq!(lines.len(), expected.len(), "the values changed the number of lines:\n{script}");
    for (line, model) in lines.iter().zip(&expected) {
        let got = pieces(line).unwrap_or_else(|e| panic!("{e:?} in {line:?}"));
        let want: Vec<Piece> = pieces(model)
            .expect("the reference reads")
            .into_iter()
            .map(|piece| match piece {
                Piece::Literal(value) => Piece::Literal(substitute(&value, markers)),
                text => text,
            })
            .collect();
        assert_eq!(got, want, "line {line:?} does not mean what {model:?} means");
    }
}

/// Splits fuzz input into `n` text fields at `0xff` bytes (never in UTF-8), the last taking
/// the rest.
pub fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data.splitn(n, |b| *b == 0xff).map(|part| String::from_utf8_lossy(part).into_owned()).collect();
    out.resize(n, String::new());
    out
}
