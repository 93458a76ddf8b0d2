//! Pages: `content/*.md` files with TOML front matter between `+++` lines.
//!
//! ```text
//! +++
//! title = "Where VGG's parameters live"
//! weight = 2
//! +++
//! Markdown with {{ params(model="vgg19") | num }} computed values...
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::source::Source;

/// The front matter of a page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    /// Page title (the `<h1>` and the navigation label).
    pub title: String,
    /// One sentence for the index and `<meta name="description">`.
    #[serde(default)]
    pub description: String,
    /// Order in the navigation: lower first, ties by file name; pages
    /// without a weight come after all weighted ones, by file name.
    pub weight: Option<i64>,
    /// Output file name without `.html` (default: the file stem).
    pub slug: Option<String>,
    /// Show a table of contents (default yes).
    #[serde(default = "yes")]
    pub toc: bool,
    /// Starts a part of the book under this heading, e.g. `"Appendix"`: the
    /// navigation lists this page and the ones after it (until the next
    /// `part`) in a list of their own.
    pub part: Option<String>,
}

fn yes() -> bool {
    true
}

/// A page read from disk: its front matter and its Markdown body.
#[derive(Debug, Clone)]
pub struct Page {
    /// The whole file.
    pub source: Source,
    /// Parsed front matter.
    pub front: FrontMatter,
    /// Byte offset of the body in the file.
    pub body_start: usize,
    /// Output name without `.html`.
    pub slug: String,
}

const FENCE: &str = "+++";

impl Page {
    /// Reads a page from `path`; `display` is the path shown in messages.
    pub fn read(path: &Path) -> Result<Page> {
        Page::parse(crate::source::read(path)?)
    }

    /// Parses a page already in memory.
    pub fn parse(source: Source) -> Result<Page> {
        let text = source.text();
        let missing = || {
            Error::syntax_hint(
                source.span(0, 0),
                "a page must start with front matter between `+++` lines",
                "begin the file with:\n+++\ntitle = \"...\"\n+++",
            )
        };
        let first_end = text.find('\n').ok_or_else(missing)?;
        if text[..first_end].trim_end() != FENCE {
            return Err(missing());
        }
        let fm_start = first_end + 1;
        let mut offset = fm_start;
        let mut fm_end = None;
        for line in text[fm_start..].split_inclusive('\n') {
            if line.trim_end() == FENCE {
                fm_end = Some((offset, offset + line.len()));
                break;
            }
            offset += line.len();
        }
        let Some((fm_end, body_start)) = fm_end else {
            return Err(Error::syntax_hint(
                source.span(0, first_end),
                "front matter is not closed",
                "add a line `+++` after the front matter",
            ));
        };
        let front: FrontMatter = toml::from_str(&text[fm_start..fm_end]).map_err(|e| {
            let r = e.span().unwrap_or(0..0);
            Error::syntax(
                source.span(fm_start + r.start, fm_start + r.end),
                format!(
                    "front matter: {}",
                    e.message().trim_end().replace('\n', "; ")
                ),
            )
        })?;
        let stem = source
            .path()
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("page")
            .to_string();
        let slug = front.slug.clone().unwrap_or(stem);
        if slug.is_empty()
            || !slug
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::syntax(
                source.span(fm_start, fm_end),
                format!("page slug `{slug}` must use only letters, digits, `-` and `_`"),
            ));
        }
        Ok(Page {
            front,
            body_start,
            slug,
            source,
        })
    }

    /// The Markdown body (after the front matter).
    pub fn body(&self) -> &str {
        &self.source.text()[self.body_start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_and_body() {
        let p = Page::parse(Source::new(
            "content/a.md",
            "+++\ntitle = \"A\"\nweight = 3\n+++\n# Hi\n",
        ))
        .unwrap();
        assert_eq!(
            (p.front.title.as_str(), p.front.weight, p.slug.as_str()),
            ("A", Some(3), "a")
        );
        assert_eq!(p.body(), "# Hi\n");
    }

    #[test]
    fn errors_point_into_the_file() {
        let err = Page::parse(Source::new(
            "c/a.md",
            "+++\ntitle = \"A\"\ncolour = 1\n+++\n",
        ))
        .unwrap_err();
        assert_eq!(err.span().unwrap().position(), "c/a.md:3:1");
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert!(Page::parse(Source::new("a.md", "# no front matter\n")).is_err());
        assert!(Page::parse(Source::new("a.md", "+++\ntitle = \"A\"\n")).is_err());
        assert!(Page::parse(Source::new("a.md", "+++\nweight = 1\n+++\n"))
            .unwrap_err()
            .to_string()
            .contains("title"));
    }
}
