//! Source files kept in memory, and byte offsets turned into line and column.
//!
//! Every input the user writes (model files, pages, templates) is read once
//! into a [`Source`], so that any later error can point at the exact spot.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads a text file the user wrote into a [`Source`].
///
/// A leading UTF-8 byte-order mark is dropped (editors on Windows write one).
/// Bytes that are not UTF-8 are an error at the line and column of the first
/// bad byte.
pub fn read(path: &Path) -> crate::Result<Source> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io("read", path, e))?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Ok(Source::new(path, text)),
        Err(e) => {
            let at = e.valid_up_to();
            let shown = Source::new(path, String::from_utf8_lossy(body).into_owned());
            Err(crate::Error::syntax_hint(
                shown.span(at, at + 1),
                format!("not UTF-8 text: byte 0x{:02X} at offset {at}", body[at]),
                "save the file as UTF-8",
            ))
        }
    }
}

/// A text file read into memory, shared cheaply between the values parsed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    inner: Arc<SourceInner>,
}

#[derive(Debug, PartialEq, Eq)]
struct SourceInner {
    path: PathBuf,
    text: String,
}

impl Source {
    /// Wraps text that came from `path` (the path is only used in messages).
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Source {
            inner: Arc::new(SourceInner {
                path: path.into(),
                text: text.into(),
            }),
        }
    }

    /// The path shown in messages.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The byte offset of 1-based `line` and `column` (in characters), clamped to the text.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let text = self.text();
        let line_start = if line <= 1 {
            0
        } else {
            text.match_indices('\n')
                .nth(line - 2)
                .map_or(text.len(), |(i, _)| i + 1)
        };
        let rest = &text[line_start..];
        let line_len = rest.find('\n').unwrap_or(rest.len());
        line_start
            + rest[..line_len]
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(line_len, |(i, _)| i)
    }

    /// A location for the byte range `start..end` (clamped to the text).
    pub fn span(&self, start: usize, end: usize) -> Span {
        let len = self.text().len();
        let start = floor_char_boundary(self.text(), start.min(len));
        let end = floor_char_boundary(self.text(), end.clamp(start, len));
        Span {
            source: self.clone(),
            start,
            end,
        }
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A byte range inside a [`Source`]: what an error points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    source: Source,
    start: usize,
    end: usize,
}

impl Span {
    /// The file this span lies in.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// 1-based line and column (columns count characters, not bytes).
    pub fn line_col(&self) -> (usize, usize) {
        let before = &self.source.text()[..self.start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// Its byte range in the file.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    /// A narrower span: `start..end` counted from the beginning of this one.
    pub fn sub(&self, start: usize, end: usize) -> Span {
        self.source.span(self.start + start, self.start + end)
    }

    /// `path:line:col`, the way compilers print a position.
    pub fn position(&self) -> String {
        let (line, col) = self.line_col();
        format!("{}:{}:{}", self.source.path().display(), line, col)
    }

    /// The source line with a caret line under the span, ready to print.
    ///
    /// A line longer than [`SNIPPET_WIDTH`] characters is cut to a window
    /// around the span, marked with `…` where text was left out.
    pub fn snippet(&self) -> String {
        let (line, col) = self.line_col();
        let text = self.source.text();
        let line_start = text[..self.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[self.start..]
            .find('\n')
            .map_or(text.len(), |i| self.start + i);
        let line_text = text[line_start..line_end].trim_end_matches('\r');
        let width = text[self.start..self.end.min(line_end).max(self.start)]
            .chars()
            .count()
            .max(1);
        let chars: Vec<char> = line_text.chars().collect();
        let (shown, caret_col, width) = if chars.len() <= SNIPPET_WIDTH {
            (line_text.to_string(), col, width)
        } else {
            let from = (col - 1).saturating_sub(SNIPPET_WIDTH / 3);
            let to = (from + SNIPPET_WIDTH).min(chars.len());
            let mut shown: String = chars[from..to].iter().collect();
            let mut caret_col = col - from;
            if from > 0 {
                shown.insert(0, '…');
                caret_col += 1;
            }
            if to < chars.len() {
                shown.push('…');
            }
            let width = width.min(to.saturating_sub(col - 1)).max(1);
            (shown, caret_col, width)
        };
        let gutter = line.to_string().len();
        format!(
            "{:gutter$} |\n{} | {}\n{:gutter$} | {}{}",
            "",
            line,
            shown,
            "",
            " ".repeat(caret_col - 1),
            "^".repeat(width),
        )
    }
}

/// The widest source line an error snippet shows, in characters.
pub const SNIPPET_WIDTH: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        let src = Source::new("m.toml", "a = 1\nbé = \"x\"\n");
        let at = src.text().find("\"x\"").unwrap();
        let span = src.span(at, at + 3);
        assert_eq!(span.line_col(), (2, 6));
        assert_eq!(span.position(), "m.toml:2:6");
        assert_eq!(span.snippet(), "  |\n2 | bé = \"x\"\n  |      ^^^");
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let text = format!("x = \"{}!{}\"", "a".repeat(300), "b".repeat(300));
        let src = Source::new("m", text.as_str());
        let at = text.find('!').unwrap();
        let snippet = src.span(at, at + 1).snippet();
        let lines: Vec<&str> = snippet.lines().collect();
        assert_eq!(
            lines[1],
            format!("1 | …{}!{}…", "a".repeat(33), "b".repeat(66))
        );
        assert_eq!(lines[2], format!("  | {}^", " ".repeat(34)));
    }

    #[test]
    fn line_and_column_map_back_to_offsets() {
        let src = Source::new("m", "ab\nçd\n");
        assert_eq!(src.offset(1, 1), 0);
        assert_eq!(src.offset(2, 2), 5);
        assert_eq!(src.offset(2, 99), 6);
        assert_eq!(src.offset(9, 1), 7);
    }

    #[test]
    fn spans_are_clamped_to_the_text() {
        let src = Source::new("m", "ab");
        let span = src.span(10, 20);
        assert_eq!(span.line_col(), (1, 3));
    }
}
