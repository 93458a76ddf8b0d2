//! Layout templates: built into the binary, overridable file by file.
//!
//! The built-ins are the files of this repository's `templates/` folder,
//! embedded at compile time. A `--templates DIR` file with the same name
//! replaces one; other files there are added (for `{% include %}`). Only
//! `.html` files are templates; every other file (CSS, a logo, a font) is
//! copied into the site byte for byte.

use std::path::Path;

use tera::Tera;

use crate::error::{Error, Result};
use crate::source::Source;

/// Built-in templates and static files: (name, contents).
pub const BUILT_IN: [(&str, &str); 7] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("page.html", include_str!("../../templates/page.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("model.html", include_str!("../../templates/model.html")),
    ("nav.html", include_str!("../../templates/nav.html")),
    ("style.css", include_str!("../../templates/style.css")),
    ("search.js", include_str!("../../templates/search.js")),
];

/// The templates folder after overrides.
#[derive(Debug, Default)]
pub struct Templates {
    /// `.html` templates: name -> source (with its file path for messages).
    pub html: Vec<(String, Source)>,
    /// Every other file, copied verbatim: name -> bytes.
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

/// Built-ins overridden and extended by the files of `dir`.
pub fn collect(dir: &Path) -> Result<Templates> {
    let mut set = Templates::default();
    for (name, text) in BUILT_IN {
        if name.ends_with(".html") {
            set.html.push((
                name.to_string(),
                Source::new(format!("<built-in templates/{name}>"), text),
            ));
        } else {
            set.files.insert(name.to_string(), text.as_bytes().to_vec());
        }
    }
    if dir.is_dir() {
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::io("read folder", dir, e.into()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            let name = path
                .strip_prefix(dir)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            if !name.ends_with(".html") {
                let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
                set.files.insert(name, bytes);
                continue;
            }
            let source = crate::source::read(path)?;
            match set.html.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = source,
                None => set.html.push((name, source)),
            }
        }
    }
    Ok(set)
}

/// Converts a Tera error into ours, pointing into `source` when Tera gave a span.
pub fn tera_error(
    err: &tera::Error,
    source: Option<&Source>,
    offset: usize,
    context: &str,
) -> Error {
    // The located report may sit anywhere in the chain (e.g. an unknown
    // function is reported as a message wrapping a rendering error).
    let mut located = None;
    let mut chain: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        match e.downcast_ref::<tera::Error>().map(tera::Error::kind) {
            Some(tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r)) => {
                if located.is_none() {
                    located = Some(r.span().range.clone());
                }
                chain.push(r.message().to_string());
            }
            Some(other) => chain.push(other.to_string()),
            None => chain.push(e.to_string()),
        }
        current = e.source();
    }
    let range =
        located.or_else(|| source.and_then(|src| reported_position(&chain, &src.text()[offset..])));
    let mut message = String::new();
    for part in chain {
        let part = part.trim();
        // Keep each cause once, and only its first line (Tera's own reports repeat the source).
        let first = part
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_string();
        if !first.is_empty() && !message.contains(&first) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&first);
        }
    }
    let message = format!("{context}: {}", message.trim());
    match (source, range) {
        (Some(src), Some(r)) => Error::Render {
            message,
            span: Some(src.span(offset + r.start, offset + r.end)),
            location: None,
        },
        (Some(src), None) => Error::Render {
            message,
            span: None,
            location: Some(src.path().display().to_string()),
        },
        (None, _) => Error::Render {
            message,
            span: None,
            location: None,
        },
    }
}

/// Finds a `--> name:LINE:COL` that Tera printed into a message, as a byte range of `text`.
fn reported_position(chain: &[String], text: &str) -> Option<std::ops::Range<usize>> {
    let at = chain.iter().find_map(|m| {
        m.split_once("--> ")
            .map(|(_, rest)| rest.lines().next().unwrap_or(""))
    })?;
    let mut parts = at.rsplitn(3, ':');
    let col: usize = parts.next()?.trim().parse().ok()?;
    let line: usize = parts.next()?.trim().parse().ok()?;
    let line_start = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum::<usize>();
    let line_text = text[line_start..].lines().next().unwrap_or("");
    let col_bytes = line_text
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line_text.len(), |(i, _)| i);
    Some(line_start + col_bytes..line_start + col_bytes + 1)
}

/// The byte range of the first `{% TAG` (or `{%- TAG`) in a template.
fn tag_range(text: &str, tag: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(i) = text[from..].find("{%") {
        let start = from + i;
        let rest = text[start + 2..].trim_start_matches('-').trim_start();
        if rest.starts_with(tag) {
            let end = text[start..]
                .find("%}")
                .map_or(text.len(), |j| start + j + 2);
            return Some(start..end);
        }
        from = start + 2;
    }
    None
}

/// Adds every `.html` template to `tera`; syntax errors point into their file.
pub fn load(tera: &mut Tera, templates: &Templates) -> Result<()> {
    let html: Vec<_> = templates.html.iter().collect();
    tera.add_raw_templates(html.iter().map(|(n, s)| (n.as_str(), s.text())))
        .map_err(|e| {
            // Errors about inheritance carry a template name but no position:
            // point at that template's `extends` tag.
            let (name, tag) = match e.kind() {
                tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => {
                    (r.filename().to_string(), None)
                }
                tera::ErrorKind::CircularExtend { tpl, .. } => (tpl.clone(), Some("extends")),
                tera::ErrorKind::MissingParent { current, .. } => {
                    (current.clone(), Some("extends"))
                }
                tera::ErrorKind::CircularInclude { tpl, .. } => (tpl.clone(), Some("include")),
                _ => (String::new(), None),
            };
            let src = html.iter().find(|(n, _)| *n == name).map(|(_, s)| s);
            match (
                src,
                tag.and_then(|t| src.and_then(|s| tag_range(s.text(), t))),
            ) {
                (Some(src), Some(range)) => Error::Render {
                    message: format!("template error: {}", e.kind()),
                    span: Some(src.span(range.start, range.end)),
                    location: None,
                },
                _ => tera_error(&e, src, 0, "template error"),
            }
        })
}
