//! The site's search index, built from the rendered pages.
//!
//! One entry per page: its title, its headings with their anchors, its
//! prose (for snippets) and the distinct words of its tables (layer paths,
//! model names), so that `fc6` finds the layer. The index is a JavaScript
//! file (`search-index.js`) rather than JSON, because browsers refuse to
//! `fetch` a local file under `file://`; it is written in page order with
//! no timestamps, so two builds give the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// The index file's name in the site.
pub const FILE: &str = "search-index.js";

/// Prose kept per page for snippets: enough for every chapter here, and a
/// bound on the index for long pages.
const MAX_TEXT: usize = 60_000;

#[derive(Serialize)]
struct Entry {
    /// Page address.
    u: String,
    /// Title.
    t: String,
    /// Headings: (anchor, text).
    h: Vec<(String, String)>,
    /// Prose, whitespace collapsed.
    x: String,
    /// Distinct table words, space-separated.
    w: String,
}

/// The index over every `.html` page of `files` (in name order).
pub fn index(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let entries: Vec<Entry> = files
        .iter()
        .filter(|(name, _)| name.ends_with(".html") && !name.contains('/'))
        .filter_map(|(name, bytes)| entry(name, std::str::from_utf8(bytes).ok()?))
        .collect();
    let json = serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into());
    format!("window.NETLEDGER_SEARCH = {json};\n").into_bytes()
}

fn entry(url: &str, html: &str) -> Option<Entry> {
    let title = between(html, "<title>", "</title>")
        .map(|t| decode(t.split(" · ").next().unwrap_or(t)))
        .unwrap_or_else(|| url.to_string());
    let main = between(html, "<main id=\"main\">", "</main>")?;
    let mut text = String::new();
    let mut words = BTreeSet::new();
    let mut headings = Vec::new();
    let mut table_depth = 0usize;
    let mut skip_depth = 0usize;
    let mut heading: Option<(String, String)> = None;
    let mut rest = main;
    while let Some(lt) = rest.find('<') {
        let chunk = decode(&rest[..lt]);
        if skip_depth == 0 {
            if let Some((_, h)) = heading.as_mut() {
                h.push_str(&chunk);
            }
            if table_depth > 0 {
                for w in chunk.split(|c: char| c.is_whitespace() || ",;()".contains(c)) {
                    let w = w.trim_matches(|c: char| ".:".contains(c));
                    // Names, not figures: `fc6` and `stage3/block0`, not `19.63g`.
                    if w.len() > 1 && w.starts_with(|c: char| c.is_alphabetic()) {
                        words.insert(w.to_lowercase());
                    }
                }
            } else {
                text.push_str(&chunk);
            }
        }
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closing = tag.starts_with('/');
        match (name.as_str(), closing) {
            ("table", false) => table_depth += 1,
            ("table", true) => table_depth = table_depth.saturating_sub(1),
            ("script" | "style" | "svg" | "math", _) => {
                if closing {
                    skip_depth = skip_depth.saturating_sub(1);
                } else {
                    skip_depth += 1;
                }
            }
            ("h2" | "h3", false) => {
                let id = tag
                    .split("id=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("")
                    .to_string();
                heading = Some((id, String::new()));
            }
            ("h2" | "h3", true) => {
                if let Some((id, h)) = heading.take() {
                    let h = collapse(&h);
                    if !h.is_empty() {
                        headings.push((id, h));
                    }
                }
            }
            _ => {}
        }
        // Block ends separate words.
        if matches!(
            name.as_str(),
            "p" | "li" | "td" | "th" | "tr" | "h1" | "h2" | "h3" | "br" | "div" | "figcaption"
        ) {
            text.push(' ');
        }
        rest = &rest[lt + gt + 1..];
    }
    let mut x = collapse(&text);
    if x.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !x.is_char_boundary(cut) {
            cut -= 1;
        }
        x.truncate(cut);
    }
    Some(Entry {
        u: url.to_string(),
        t: title,
        h: headings,
        x,
        w: words.into_iter().collect::<Vec<_>>().join(" "),
    })
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The entities our pages use (pulldown-cmark and Tera escape these).
fn decode(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_give_titles_headings_prose_and_table_words() {
        let page = "<html><head><title>VGG-19 · Site</title></head><body><nav>Contents</nav>\
            <main id=\"main\"><h1>VGG-19</h1><p>The head holds &amp; most weights.</p>\
            <h2 id=\"layers\">Every layer</h2><table><tr><td><code>head/fc6</code></td><td>102,764,544</td></tr></table>\
            <script>var x = 1;</script></main></body></html>";
        let files: BTreeMap<String, Vec<u8>> = [
            ("model-vgg19.html".to_string(), page.as_bytes().to_vec()),
            ("style.css".to_string(), b"body{}".to_vec()),
        ]
        .into();
        let js = String::from_utf8(index(&files)).unwrap();
        assert_eq!(
            js,
            "window.NETLEDGER_SEARCH = [{\"u\":\"model-vgg19.html\",\"t\":\"VGG-19\",\"h\":[[\"layers\",\"Every layer\"]],\"x\":\"VGG-19 The head holds & most weights. Every layer\",\"w\":\"head/fc6\"}];\n"
        );
    }
}
