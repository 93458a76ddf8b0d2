//! `netledger.toml`: a course's settings, next to its `content/`.
//!
//! Every key is optional; unknown keys are errors with line and column, as
//! in model files. Command-line flags override the file, and the file
//! overrides the built-in defaults. This module knows TOML and paths; what
//! the values mean for the site is the report's business.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::source::Source;

/// The file's name, looked for in the project's root folder.
pub const FILE: &str = "netledger.toml";

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The site's name (default: the index page's title).
    pub title: Option<String>,
    /// One sentence about the site, for pages without their own.
    pub description: Option<String>,
    /// Shown in the footer and `<meta name="author">`.
    pub author: Option<String>,
    /// The `lang` of every page (default `en`).
    pub language: Option<String>,
    /// Where the site will be published, e.g. `https://example.org/notes/`.
    pub base_url: Option<String>,
    /// Pages, `models/`, `data/` and `static/` (default `content`).
    pub content: Option<PathBuf>,
    /// Template overrides (default `templates`).
    pub templates: Option<PathBuf>,
    /// Output folder (default `site`).
    pub out: Option<PathBuf>,
    /// Models that get a page of their own (default: every model).
    pub model_pages: Option<Vec<String>>,
    /// The input shape, without the batch, of model files that declare
    /// none, e.g. `[3, 224, 224]`.
    pub input: Option<toml::Spanned<Vec<u64>>>,
    /// Page files (relative to `content`) in navigation order; pages not
    /// listed follow, by weight and file name.
    pub chapters: Option<Vec<toml::Spanned<String>>>,
}

impl Config {
    /// The values layouts see as `site.*`.
    pub fn site(&self) -> SiteInfo {
        SiteInfo {
            title: self.title.clone(),
            description: self.description.clone(),
            author: self.author.clone(),
            language: self.language.clone(),
            base_url: self.base_url.clone(),
        }
    }
}

/// Site-wide values every layout sees as `site.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SiteInfo {
    /// The site's name (default: the index page's title).
    pub title: Option<String>,
    /// One sentence about the site, for pages without their own.
    pub description: Option<String>,
    /// Shown in the footer and `<meta name="author">`.
    pub author: Option<String>,
    /// The `lang` of every page (default `en`).
    pub language: Option<String>,
    /// Where the site will be published, e.g. `https://example.org/notes/`:
    /// canonical links and a `sitemap.xml` (no network is involved).
    pub base_url: Option<String>,
}

/// A project: its root folder and the settings read there.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `netledger.toml` (or the defaults' base).
    pub root: PathBuf,
    /// The settings, defaults where the file is silent or absent.
    pub config: Config,
    /// The file's text, for errors that point into it.
    pub source: Option<Source>,
}

/// A page file named in `chapters`, with where the file names it.
#[derive(Debug, Clone)]
pub struct Chapter {
    /// Path relative to the content folder, e.g. `02-the-head.md`.
    pub file: String,
    /// Where `netledger.toml` names it.
    pub span: Option<crate::source::Span>,
}

impl Project {
    /// Reads `ROOT/netledger.toml` if there is one.
    pub fn open(root: &Path) -> Result<Project> {
        let path = if root == Path::new(".") {
            PathBuf::from(FILE)
        } else {
            root.join(FILE)
        };
        let (config, source) = if path.is_file() {
            let source = crate::source::read(&path)?;
            (parse(source.clone())?, Some(source))
        } else {
            (Config::default(), None)
        };
        Ok(Project {
            root: root.to_path_buf(),
            config,
            source,
        })
    }

    /// The `chapters` list with the places that name each file.
    pub fn chapters(&self) -> Option<Vec<Chapter>> {
        let list = self.config.chapters.as_ref()?;
        Some(
            list.iter()
                .map(|c| Chapter {
                    file: c.get_ref().clone(),
                    span: self
                        .source
                        .as_ref()
                        .map(|s| s.span(c.span().start, c.span().end)),
                })
                .collect(),
        )
    }

    /// `flag`, else the file's value, else `default`; the latter two are
    /// relative to the root (kept as written when the root is `.`).
    pub fn path(&self, flag: Option<PathBuf>, file: &Option<PathBuf>, default: &str) -> PathBuf {
        if let Some(p) = flag {
            return p;
        }
        let rel = file.clone().unwrap_or_else(|| default.into());
        if self.root == Path::new(".") || rel.is_absolute() {
            rel
        } else {
            self.root.join(rel)
        }
    }
}

/// Parses the text of a `netledger.toml`; mistakes point into it.
pub fn parse(source: Source) -> Result<Config> {
    let config: Config = toml::from_str(source.text()).map_err(|e| {
        let range = e.span().unwrap_or(0..0);
        Error::syntax(
            source.span(range.start, range.end),
            e.message().trim_end().replace('\n', "; "),
        )
    })?;
    if let Some(url) = &config.base_url {
        let ok = (url.starts_with("https://") || url.starts_with("http://")) && url.ends_with('/');
        if !ok {
            let at = source.text().find("base_url").unwrap_or(0);
            return Err(Error::syntax_hint(
                source.span(at, at + "base_url".len()),
                format!("`base_url` must be an http(s) address ending in `/`, not `{url}`"),
                "e.g. base_url = \"https://example.org/notes/\"",
            ));
        }
    }
    if let Some(input) = &config.input {
        let shape = input.get_ref();
        if shape.is_empty() || shape.contains(&0) || shape.len() > 4 {
            return Err(Error::syntax_hint(
                source.span(input.span().start, input.span().end),
                "`input` must be a shape of 1 to 4 positive sizes, without the batch",
                "e.g. input = [3, 224, 224]",
            ));
        }
    }
    Ok(config)
}

impl Config {
    /// The default input shape of model files, if set.
    pub fn input(&self) -> Option<Vec<u64>> {
        self.input.as_ref().map(|i| i.get_ref().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_input_is_a_positive_shape() {
        let ok = parse(Source::new("netledger.toml", "input = [3, 32, 32]\n")).unwrap();
        assert_eq!(ok.input(), Some(vec![3, 32, 32]));
        for bad in [
            "input = []\n",
            "input = [3, 0, 32]\n",
            "input = [1, 2, 3, 4, 5]\n",
        ] {
            let err = parse(Source::new("netledger.toml", bad)).unwrap_err();
            assert_eq!(
                err.span().unwrap().position(),
                "netledger.toml:1:9",
                "{bad}"
            );
            assert_eq!(
                err.to_string(),
                "`input` must be a shape of 1 to 4 positive sizes, without the batch",
                "{bad}"
            );
        }
        let err = parse(Source::new("netledger.toml", "input = [3, -1]\n")).unwrap_err();
        assert!(
            err.span()
                .unwrap()
                .position()
                .starts_with("netledger.toml:1:"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_point_at_the_key() {
        let err = parse(Source::new(
            "netledger.toml",
            "title = \"T\"\ntitel = \"x\"\n",
        ))
        .unwrap_err();
        assert_eq!(err.span().unwrap().position(), "netledger.toml:2:1");
        assert!(
            err.to_string().starts_with("unknown field `titel`"),
            "{err}"
        );
    }

    #[test]
    fn every_key_reads() {
        let c = parse(Source::new(
            "n",
            "title = \"T\"\ndescription = \"D\"\nauthor = \"A\"\nlanguage = \"de\"\nbase_url = \"https://x.org/n/\"\ncontent = \"c\"\ntemplates = \"t\"\nout = \"o\"\nmodel_pages = [\"vgg19\"]\nchapters = [\"b.md\", \"a.md\"]\n",
        ))
        .unwrap();
        assert_eq!(c.site().language.as_deref(), Some("de"));
        assert_eq!(c.model_pages, Some(vec!["vgg19".to_string()]));
        assert_eq!(c.out, Some(PathBuf::from("o")));
        assert!(parse(Source::new("n", "base_url = \"x.org\"\n")).is_err());
    }
}
