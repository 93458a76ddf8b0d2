//! The library's one error type, and how it is printed.
//!
//! Errors are typed here and rendered once, at the edge (`main.rs`), with the
//! file, line and column of the offending text and a caret under it, or with
//! the path of the layer whose shapes do not fit.

use std::fmt;
use std::path::PathBuf;

use crate::source::Span;

/// Everything that can go wrong while counting, building or benchmarking.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "read" or "create folder".
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// Text that does not parse, or names something that does not exist.
    #[error("{message}")]
    Syntax {
        /// What is wrong, in one line.
        message: String,
        /// Where it is.
        span: Span,
        /// How to fix it, where we can tell.
        hint: Option<String>,
    },

    /// A model name that resolves to no file.
    #[error("unknown model `{name}` (no file {}){}", path.display(), known_list(known))]
    UnknownModel {
        /// The name as given.
        name: String,
        /// The file we looked for.
        path: PathBuf,
        /// Where the name was written, if in a file.
        span: Option<Span>,
        /// The models that do exist, for the hint.
        known: Vec<String>,
    },

    /// Layers whose shapes do not fit together (or an arithmetic overflow).
    #[error("{layer}: {message}")]
    Shape {
        /// The layer's path, e.g. `resnet34/stage3/block0/conv2`.
        layer: String,
        /// What does not fit, with the shapes involved.
        message: String,
        /// The layer's definition in its model file.
        span: Option<Span>,
    },

    /// A page, template or data file that cannot be rendered.
    #[error("{message}")]
    Render {
        /// What went wrong.
        message: String,
        /// Where, when known.
        span: Option<Span>,
        /// Plain location when there is no source text to show.
        location: Option<String>,
    },

    /// A problem with benchmark data or measurement.
    #[error("{0}")]
    Bench(String),

    /// A command line that asks for something unsafe or contradictory (exit 2).
    #[error("{0}")]
    Usage(String),

    /// Several independent errors found in one pass (e.g. every broken link).
    #[error("{} errors", .0.len())]
    Many(Vec<Error>),
}

impl From<crate::bench::BenchError> for Error {
    fn from(e: crate::bench::BenchError) -> Self {
        Error::Bench(e.to_string())
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!("; known models: {}", known.join(", "))
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A syntax error at `span`.
    pub fn syntax(span: Span, message: impl Into<String>) -> Self {
        Error::Syntax {
            message: message.into(),
            span,
            hint: None,
        }
    }

    /// A syntax error at `span`, with a hint on how to fix it.
    pub fn syntax_hint(span: Span, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Syntax {
            message: message.into(),
            span,
            hint: Some(hint.into()),
        }
    }

    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Where in a source file this error points, if anywhere.
    pub fn span(&self) -> Option<&Span> {
        match self {
            Error::Syntax { span, .. } => Some(span),
            Error::UnknownModel { span, .. } | Error::Shape { span, .. } => span.as_ref(),
            Error::Render { span, .. } => span.as_ref(),
            Error::Io { .. } | Error::Bench(_) | Error::Usage(_) | Error::Many(_) => None,
        }
    }

    /// The full report: message, position, source line with caret, notes.
    pub fn render(&self) -> String {
        match self {
            Error::Many(all) => {
                let mut out: String = all.iter().map(Error::render).collect();
                out.push_str(&format!("error: {} errors\n", all.len()));
                out
            }
            _ => Rendered(self).to_string(),
        }
    }

    /// One error for `all`: `Ok` when empty, the error itself when alone.
    pub fn all(mut all: Vec<Error>) -> Result<()> {
        match all.len() {
            0 => Ok(()),
            1 => Err(all.remove(0)),
            _ => Err(Error::Many(all)),
        }
    }

    /// The file this error is about, if any.
    fn file(&self) -> Option<&std::path::Path> {
        match self {
            Error::Io { path, .. } | Error::UnknownModel { path, .. } => Some(path),
            _ => self.span().map(|s| s.source().path()),
        }
    }

    /// The report, but only if the file it concerns lies inside one of
    /// `roots`; otherwise a line that names no file and shows no text (what
    /// `serve` sends to a browser, which must not learn other files' contents).
    pub fn render_within(&self, roots: &[&std::path::Path]) -> String {
        if let Error::Many(all) = self {
            let mut out: String = all.iter().map(|e| e.render_within(roots)).collect();
            out.push_str(&format!("error: {} errors\n", all.len()));
            return out;
        }
        let Some(file) = self.file() else {
            return self.render();
        };
        let real = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let file = real(file);
        if roots.iter().any(|r| file.starts_with(real(r))) {
            self.render()
        } else {
            "error: the build failed on a file outside the project's folders; the terminal shows where\n".into()
        }
    }
}

struct Rendered<'a>(&'a Error);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let err = self.0;
        writeln!(f, "error: {err}")?;
        if let Some(span) = err.span() {
            writeln!(f, " --> {}", span.position())?;
            writeln!(f, "{}", span.snippet())?;
        }
        match err {
            Error::Syntax {
                hint: Some(hint), ..
            } => writeln!(f, "  = hint: {hint}")?,
            Error::Render {
                location: Some(at),
                span: None,
                ..
            } => writeln!(f, " --> {at}")?,
            _ => {}
        }
        Ok(())
    }
}
