//! The hotspot's web side as RouterOS serves it, for tests of the pages we install: which
//! page a request gets (a logged-out device asking for any address gets `rlogin.html`,
//! falling back to `redirect.html`, then a 404; `/login` gets `login.html`; `/logout`
//! `logout.html`), and the page's `$(...)` variables and `$(if ...)...$(elif ...)...
//! $(else)...$(endif)` blocks filled in, with the `http-status` / `http-header` directives
//! of a redirect page turned into the answer's status and header.
//!
//! Variables a page names that the request does not have render empty, as RouterOS renders
//! an unknown one. A `-esc` variable is the URL-escaped form of its base variable.

use std::collections::HashMap;

/// What the servlet answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, if the page set one.
    pub location: Option<String>,
    /// The page, rendered, without its directive lines.
    pub body: String,
}

/// The page a path gets (`None`: a 404) from the pages in the html directory `files`.
pub fn serve(files: &HashMap<String, String>, path: &str, logged_in: bool, vars: &HashMap<String, String>) -> Served {
    let candidates: &[&str] = match path {
        "/login" => &["login.html"],
        "/logout" => &["logout.html"],
        "/status" if logged_in => &["status.html"],
        "/api" | "/api.json" => &["api.json"],
        _ if !logged_in => &["rlogin.html", "redirect.html"],
        _ => &[],
    };
    let Some(page) = candidates.iter().find_map(|name| files.get(*name)) else {
        return Served { status: 404, location: None, body: "404 Not Found".into() };
    };
    let mut vars = vars.clone();
    vars.insert("logged-in".into(), if logged_in { "yes" } else { "no" }.into());
    render_page(page, &vars)
}

/// Renders a page; a redirect page's directive lines (`$(if http-status == 302)`,
/// `$(if http-header == "Location")`) set the status and `Location`.
pub fn render_page(page: &str, vars: &HashMap<String, String>) -> Served {
    let mut status = 200;
    let mut location = None;
    let mut body = String::new();
    for line in page.split_inclusive('\n') {
        if let Some(code) = line.strip_prefix("$(if http-status == ") {
            status = code.split(')').next().and_then(|s| s.trim().parse().ok()).unwrap_or(200);
        } else if line.starts_with("$(if http-header == \"Location\")") {
            let inner = line.trim_end().trim_start_matches("$(if http-header == \"Location\")").trim_end_matches("$(endif)");
            location = Some(render(inner, vars));
        } else {
            body.push_str(line);
        }
    }
    Served { status, location, body: render(&body, vars) }
}

/// Fills `$(name)` and the conditional blocks.
pub fn render(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    // Each level: (this branch shows, some branch of this block has shown).
    let mut levels: Vec<(bool, bool)> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        let shown = levels.iter().all(|(on, _)| *on);
        if shown {
            out.push_str(&rest[..start]);
        }
        let Some(end) = rest[start..].find(')') else { break };
        let inner = &rest[start + 2..start + end];
        rest = &rest[start + end + 1..];
        if let Some(condition) = inner.strip_prefix("if ") {
            let on = holds(condition, vars);
            levels.push((on, on));
        } else if let Some(condition) = inner.strip_prefix("elif ") {
            if let Some(level) = levels.last_mut() {
                let on = !level.1 && holds(condition, vars);
                *level = (on, level.1 || on);
            }
        } else if inner == "else" {
            if let Some(level) = levels.last_mut() {
                *level = (!level.1, true);
            }
        } else if inner == "endif" {
            levels.pop();
        } else if shown {
            out.push_str(&value(inner, vars));
        }
    }
    if levels.iter().all(|(on, _)| *on) {
        out.push_str(rest);
    }
    out
}

fn value(name: &str, vars: &HashMap<String, String>) -> String {
    match name.strip_suffix("-esc") {
        Some(base) if !vars.contains_key(name) => escape(vars.get(base).map(String::as_str).unwrap_or("")),
        _ => vars.get(name).cloned().unwrap_or_default(),
    }
}

/// RouterOS's `-esc`: everything but letters, digits and `-_.~` percent-encoded.
fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `name`, `name == 'x'`, `name == "x"`, `name != 0`: true when it holds.
fn holds(condition: &str, vars: &HashMap<String, String>) -> bool {
    let condition = condition.trim();
    let (name, op, expected) = if let Some((n, v)) = condition.split_once("!=") {
        (n.trim(), "!=", v.trim())
    } else if let Some((n, v)) = condition.split_once("==") {
        (n.trim(), "==", v.trim())
    } else {
        return vars.get(condition).is_some_and(|v| !v.is_empty());
    };
    let expected = expected.trim_matches(|c| c == '\'' || c == '"');
    let actual = vars.get(name).map(String::as_str).unwrap_or("");
    match op {
        "==" => actual == expected,
        _ => actual != expected && !(expected == "0" && actual.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditionals_and_variables_render_as_routeros_does() {
        let vars: HashMap<String, String> =
            [("a", "1"), ("mode", "x"), ("url", "http://h/p?q=1")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(render("$(if a)A$(else)B$(endif)", &vars), "A");
        assert_eq!(render("$(if b)A$(elif mode == 'x')X$(else)B$(endif)", &vars), "X");
        assert_eq!(render("$(if b)A$(elif mode == 'y')X$(else)B$(endif)", &vars), "B");
        assert_eq!(render("<$(url-esc)>", &vars), "<http%3A%2F%2Fh%2Fp%3Fq%3D1>");
        assert_eq!(render("$(if n != 0)N$(endif).", &vars), ".");
    }
}
