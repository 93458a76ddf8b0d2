//! Checking a built site's internal links: every relative link and image a
//! page wrote must reach a file of the site, and a `#fragment` an element
//! with that `id`. Links are collected while Markdown is rendered
//! (`markdown::LocalRef`); this module only judges them.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::report::markdown;
use crate::report::page::Page;

/// Every link and image of every page must reach a file of the site and,
/// with a `#fragment`, an element with that `id` in it; all that do not are
/// reported together.
pub fn check_links(
    refs: &[(&Page, markdown::LocalRef, usize)],
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<()> {
    let mut anchors: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut broken = Vec::new();
    for (page, r, at) in refs {
        let (path, fragment) = r
            .url
            .split_once('#')
            .map_or((r.url.as_str(), None), |(p, f)| (p, Some(f)));
        let target = match path.trim_start_matches("./") {
            "" => format!("{}.html", page.slug),
            other => other.to_string(),
        };
        let span = page.source.span(*at, *at + 1);
        let Some(bytes) = files.get(&target) else {
            let hint = if target.ends_with(".md") {
                "link to a page by its file name, e.g. `[x](05-input-resolution.md)`, or to `NAME.html` / `model-NAME.html`"
            } else {
                "files under content/static/ are in the site as `static/...`"
            };
            broken.push(Error::syntax_hint(
                span,
                format!("broken link `{}`: the site has no `{target}`", r.written),
                hint,
            ));
            continue;
        };
        let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
            continue;
        };
        if !target.ends_with(".html") {
            continue;
        }
        let ids = anchors
            .entry(target.clone())
            .or_insert_with(|| element_ids(bytes));
        if !ids.contains(fragment) {
            broken.push(Error::syntax(
                span,
                format!(
                    "broken link `{}`: `{target}` has no element with id `{fragment}`",
                    r.written
                ),
            ));
        }
    }
    Error::all(broken)
}

/// The values of every `id="..."` attribute in an HTML file.
fn element_ids(html: &[u8]) -> BTreeSet<String> {
    let text = String::from_utf8_lossy(html);
    text.match_indices(" id=\"")
        .filter_map(|(i, m)| {
            let rest = &text[i + m.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}
