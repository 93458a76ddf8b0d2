//! Markdown to HTML: CommonMark with tables, footnotes, strikethrough,
//! heading anchors, a table of contents, and math rendered to MathML at
//! build time (no script, no CDN).

use std::collections::{BTreeMap, BTreeSet};

use super::highlight;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// One entry of a page's table of contents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TocEntry {
    /// 2 or 3.
    pub level: u8,
    /// The heading's anchor.
    pub id: String,
    /// The heading's text.
    pub title: String,
}

/// A rendered Markdown body.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The HTML fragment.
    pub html: String,
    /// Headings of level 2 and 3, in order.
    pub toc: Vec<TocEntry>,
    /// Links and images into the site, to check once every file exists.
    pub refs: Vec<LocalRef>,
}

/// A link or image that points into the site (not to another site).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRef {
    /// The destination as the page wrote it.
    pub written: String,
    /// The destination in the site, `.md` resolved through the pages' slugs.
    pub url: String,
    /// Byte offset of the link in the rendered Markdown.
    pub offset: usize,
}

/// True for a destination inside the site: relative, with no scheme.
fn is_local(url: &str) -> bool {
    let scheme = url.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    !(scheme || url.starts_with("//") || url.starts_with('/') || url.is_empty())
}

/// Math that could not be rendered: bad LaTeX, or a `$` that opens nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MathError {
    /// The LaTeX source, or for an unbalanced `$` the text from it onwards.
    pub latex: String,
    /// What is wrong.
    pub message: String,
    /// True for a lone `$` (the message is then the whole story).
    pub unbalanced: bool,
    /// Byte offset in the rendered Markdown, once known.
    pub offset: Option<usize>,
}

/// The first `$` in `markdown[range]` that is not escaped as `\$`.
fn lone_dollar(markdown: &str, range: std::ops::Range<usize>) -> Option<usize> {
    let bytes = markdown.as_bytes();
    range.into_iter().find(|&i| {
        bytes[i] == b'$' && {
            let backslashes = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            backslashes % 2 == 0
        }
    })
}

/// `"Where VGG's parameters live"` -> `where-vggs-parameters-live`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '_' || c == '/') && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "section".into()
    } else {
        slug
    }
}

fn math(latex: &str, display: bool) -> Result<String, MathError> {
    let storage = pulldown_latex::Storage::new();
    let events: Vec<_> = pulldown_latex::Parser::new(latex, &storage).collect();
    if let Some(Err(e)) = events.iter().find(|e| e.is_err()) {
        return Err(MathError {
            unbalanced: false,
            offset: None,
            latex: latex.to_string(),
            message: e
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid LaTeX")
                .to_string(),
        });
    }
    let config = pulldown_latex::RenderConfig {
        display_mode: if display {
            pulldown_latex::config::DisplayMode::Block
        } else {
            pulldown_latex::config::DisplayMode::Inline
        },
        annotation: Some(latex),
        ..Default::default()
    };
    let mut out = String::new();
    pulldown_latex::push_mathml(&mut out, events.into_iter(), config).map_err(|e| MathError {
        unbalanced: false,
        offset: None,
        latex: latex.to_string(),
        message: e.to_string(),
    })?;
    Ok(join_grouped_digits(&space_attributes(&out)))
}

/// `1{,}792` (a thousands separator, braced so that TeX adds no space) comes
/// out as `<mn>1</mn><mrow><mo>,</mo></mrow><mn>792</mn>`, which browsers
/// space as punctuation ("1, 792"); join it into one number, `<mn>1,792</mn>`.
fn join_grouped_digits(markup: &str) -> String {
    markup.replace("</mn><mrow><mo>,</mo></mrow><mn>", ",")
}

/// pulldown-latex 0.8 writes some attributes with no space between them
/// (`stretchy="true"minsize="1.2em"`, e.g. for `\big(`), which is invalid
/// HTML; put the space back.
fn space_attributes(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len() + 8);
    let (mut in_tag, mut in_quote) = (false, false);
    let mut chars = markup.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '<' if !in_quote => in_tag = true,
            '>' if !in_quote => in_tag = false,
            '"' if in_tag => {
                in_quote = !in_quote;
                if !in_quote && chars.peek().is_some_and(|n| n.is_ascii_alphabetic()) {
                    out.push(' ');
                }
            }
            _ => {}
        }
    }
    out
}

/// Rewrites `other.md#x` links to `other.html#x`; leaves external links alone.
/// `other.md#x` -> `SLUG.html#x`, through `slugs` (page file name -> slug).
fn rewrite_link(url: &str, slugs: &BTreeMap<String, String>) -> Option<String> {
    if !is_local(url) || url.starts_with('#') {
        return None;
    }
    let (path, fragment) = url
        .split_once('#')
        .map_or((url, None), |(p, f)| (p, Some(f)));
    let file = path.trim_start_matches("./");
    if !file.ends_with(".md") {
        return None;
    }
    let slug = slugs.get(file)?;
    Some(match fragment {
        Some(f) => format!("{slug}.html#{f}"),
        None => format!("{slug}.html"),
    })
}

const OPTIONS: Options = Options::ENABLE_TABLES
    .union(Options::ENABLE_FOOTNOTES)
    .union(Options::ENABLE_STRIKETHROUGH)
    .union(Options::ENABLE_HEADING_ATTRIBUTES)
    .union(Options::ENABLE_MATH)
    .union(Options::ENABLE_SMART_PUNCTUATION);

/// For each table, in order, the text of its header cells, `Model, Layer, ...`.
fn table_labels(events: &[Event]) -> Vec<String> {
    let mut labels = Vec::new();
    let mut head: Option<Vec<String>> = None;
    for e in events {
        match e {
            Event::Start(Tag::TableHead) => head = Some(Vec::new()),
            Event::Start(Tag::TableCell) => {
                if let Some(cells) = &mut head {
                    cells.push(String::new());
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(cell) = head.as_mut().and_then(|c| c.last_mut()) {
                    cell.push_str(t);
                }
            }
            Event::End(TagEnd::TableHead) => {
                let cells = head.take().unwrap_or_default();
                let cells: Vec<&str> = cells
                    .iter()
                    .map(|c| c.trim())
                    .filter(|c| !c.is_empty())
                    .collect();
                labels.push(cells.join(", "));
            }
            _ => {}
        }
    }
    labels
}

/// Maps a byte offset in the Markdown that Tera rendered back to the page
/// body it came from: the same offset when Tera changed nothing, else the
/// same column of the one body line equal to the rendered line.
pub fn source_offset(body: &str, rendered: &str, offset: usize) -> Option<usize> {
    if body == rendered {
        return Some(offset);
    }
    let offset = offset.min(rendered.len());
    let line_start = rendered[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = rendered[offset..]
        .find('\n')
        .map_or(rendered.len(), |i| offset + i);
    let line = &rendered[line_start..line_end];
    let mut found = None;
    let mut at = 0;
    for body_line in body.split_inclusive('\n') {
        if body_line.trim_end_matches(['\n', '\r']) == line {
            if found.is_some() {
                return None;
            }
            found = Some(at + (offset - line_start));
        }
        at += body_line.len();
    }
    found
}

/// Byte offset in `markdown` of `latex` inside the first math span (`$...$`
/// or `$$...$$`) that holds it; code spans and blocks are never math.
pub fn math_offset(markdown: &str, latex: &str) -> Option<usize> {
    Parser::new_ext(markdown, OPTIONS)
        .into_offset_iter()
        .find_map(|(event, range)| match event {
            Event::InlineMath(t) | Event::DisplayMath(t) if &*t == latex => {
                let inner = markdown[range.clone()].find(latex).unwrap_or(0);
                Some(range.start + inner)
            }
            _ => None,
        })
}

/// Renders `markdown`; headings `#` are demoted to `##` (the page title is the only `<h1>`).
pub fn render(markdown: &str, slugs: &BTreeMap<String, String>) -> Result<Rendered, MathError> {
    let mut events: Vec<Event> = Vec::new();
    let mut ranges = Vec::new();
    let mut in_code = 0usize;
    for (event, range) in Parser::new_ext(markdown, OPTIONS).into_offset_iter() {
        match &event {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            // A `$` left in prose opened no math: an unclosed `$...` or `$$...`.
            Event::Text(t) if in_code == 0 && t.contains('$') => {
                if let Some(at) = lone_dollar(markdown, range.clone()) {
                    let rest = &markdown[at..range.end.max(at)];
                    let excerpt: String = rest.chars().take(24).collect();
                    return Err(MathError {
                        latex: excerpt.trim_end().to_string(),
                        message: "unbalanced `$`: this opens math that never closes".into(),
                        unbalanced: true,
                        offset: Some(at),
                    });
                }
            }
            _ => {}
        }
        events.push(event);
        ranges.push(range);
    }

    // Anchors and table of contents.
    let mut used = BTreeSet::new();
    let mut toc = Vec::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, id, .. }) = &events[i] {
            let level = if *level == HeadingLevel::H1 {
                HeadingLevel::H2
            } else {
                *level
            };
            let explicit = id.as_ref().map(|s| s.to_string());
            let mut title = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                match &events[j] {
                    Event::Text(t) | Event::Code(t) | Event::InlineMath(t) => title.push_str(t),
                    _ => {}
                }
                j += 1;
            }
            let base = explicit.unwrap_or_else(|| slugify(&title));
            let mut anchor = base.clone();
            let mut n = 1;
            while !used.insert(anchor.clone()) {
                anchor = format!("{base}-{n}");
                n += 1;
            }
            if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) {
                toc.push(TocEntry {
                    level: if level == HeadingLevel::H2 { 2 } else { 3 },
                    id: anchor.clone(),
                    title: title.trim().to_string(),
                });
            }
            if let Event::Start(Tag::Heading { level: l, id, .. }) = &mut events[i] {
                *l = level;
                *id = Some(CowStr::from(anchor));
            }
            if let Some(Event::End(TagEnd::Heading(l))) = events.get_mut(j) {
                *l = level;
            }
            i = j;
        }
        i += 1;
    }

    let mut out = Vec::with_capacity(events.len());
    let mut refs = Vec::new();
    // Each table scrolls inside its own focusable box, named by its header.
    let mut table_labels = table_labels(&events).into_iter();
    // A fenced block in a language `highlight` knows: its name and text so far.
    let mut code: Option<(String, String)> = None;
    for (event, range) in events.into_iter().zip(ranges) {
        match (&mut code, &event) {
            (None, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))) => {
                let lang = info.split([' ', ',']).next().unwrap_or("");
                if highlight::languages().any(|l| l == lang) {
                    code = Some((lang.to_string(), String::new()));
                    continue;
                }
            }
            (None, Event::Start(Tag::Table(_))) => {
                let label = table_labels.next().unwrap_or_default();
                out.push(Event::Html(
                    format!(
                        "<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"Table: {}\">",
                        crate::escape::escape(&label)
                    )
                    .into(),
                ));
            }
            (None, Event::End(TagEnd::Table)) => {
                out.push(event);
                out.push(Event::Html("</div>\n".into()));
                continue;
            }
            (Some((_, text)), Event::Text(t)) => {
                text.push_str(t);
                continue;
            }
            (Some((lang, text)), Event::End(TagEnd::CodeBlock)) => {
                let html = highlight::highlight(lang, text).unwrap_or_default();
                out.push(Event::Html(
                    format!("<pre><code class=\"language-{lang}\">{html}</code></pre>\n").into(),
                ));
                code = None;
                continue;
            }
            _ => {}
        }
        let located = |mut e: MathError| {
            let inner = markdown[range.clone()].find(&e.latex).unwrap_or(0);
            e.offset = Some(range.start + inner);
            e
        };
        out.push(match event {
            Event::InlineMath(latex) => {
                Event::InlineHtml(math(&latex, false).map_err(located)?.into())
            }
            Event::DisplayMath(latex) => Event::Html(math(&latex, true).map_err(located)?.into()),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let written = dest_url.to_string();
                let dest_url = rewrite_link(&dest_url, slugs).map_or(dest_url, CowStr::from);
                if is_local(&dest_url) {
                    refs.push(LocalRef {
                        written,
                        url: dest_url.to_string(),
                        offset: range.start,
                    });
                }
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            Event::Start(Tag::Image { ref dest_url, .. }) if is_local(dest_url) => {
                refs.push(LocalRef {
                    written: dest_url.to_string(),
                    url: dest_url.to_string(),
                    offset: range.start,
                });
                event
            }
            other => other,
        });
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    Ok(Rendered { html, toc, refs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_toc_and_demotion() {
        let r = render_plain("# Top\n## Where VGG's parameters live\n### A\n## A\n").unwrap();
        assert!(r.html.contains("<h2 id=\"top\">Top</h2>"), "{}", r.html);
        assert!(
            r.html.contains("<h2 id=\"where-vggs-parameters-live\">"),
            "{}",
            r.html
        );
        let ids: Vec<_> = r.toc.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["top", "where-vggs-parameters-live", "a", "a-1"]);
    }

    #[test]
    fn math_becomes_mathml_and_bad_latex_is_an_error() {
        let r = render_plain("Weights: $k^2 C_{in} C_{out}$\n\n$$\\frac{a}{b}$$\n").unwrap();
        assert!(r.html.contains("<math"), "{}", r.html);
        assert!(r.html.contains("display=\"block\""), "{}", r.html);
        assert!(render_plain("$\\frac{a}$").is_err());
        let big = render_plain("$\\big( x \\big)$").unwrap().html;
        assert!(
            !big.contains("\"minsize") && !big.contains("\"maxsize"),
            "{big}"
        );
    }

    /// Renders with one known page, `other.md`, whose slug is `the-other`.
    fn render_plain(markdown: &str) -> Result<Rendered, MathError> {
        let slugs = [("other.md".to_string(), "the-other".to_string())]
            .into_iter()
            .collect();
        render(markdown, &slugs)
    }

    #[test]
    fn fenced_code_in_a_known_language_is_highlighted_and_others_are_escaped() {
        let r = render_plain("```toml\n# a\nx = 1\n```\n\n```text\n<b> $x$\n```\n").unwrap();
        assert_eq!(
            r.html,
            "<pre><code class=\"language-toml\"><span class=\"tok-c\"># a</span>\n\
             <span class=\"tok-v\">x</span> = <span class=\"tok-n\">1</span>\n</code></pre>\n\
             <pre><code class=\"language-text\">&lt;b&gt; $x$\n</code></pre>\n"
        );
    }

    #[test]
    fn braced_thousands_separators_make_one_number() {
        let r = render_plain("$$1{,}234{,}567 + 2$$").unwrap();
        assert!(
            r.html.contains("<mn>1,234,567</mn><mo>+</mo><mn>2</mn>"),
            "{}",
            r.html
        );
    }

    #[test]
    fn tables_footnotes_and_md_links() {
        let r =
            render_plain("| a | b |\n|---|---|\n| 1 | 2 |\n\nSee [x](other.md#y)[^1] [n](none.md) [e](https://a.b/c.md).\n\n[^1]: note\n")
                .unwrap();
        assert!(
            r.html.contains("<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"Table: a, b\"><table>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("</table>\n</div>"), "{}", r.html);
        assert!(r.html.contains("href=\"the-other.html#y\""), "{}", r.html);
        assert!(
            r.html.contains("href=\"none.md\""),
            "unknown pages stay as written, for the link check"
        );
        assert!(r.html.contains("href=\"https://a.b/c.md\""));
        let urls: Vec<&str> = r.refs.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(urls, ["the-other.html#y", "none.md"]);
        assert!(r.html.contains("footnote"));
    }
}
