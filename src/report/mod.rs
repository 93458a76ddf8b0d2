//! The literate site builder: content/ + templates/ -> site/.
//!
//! Pages are rendered through Tera first (computed values, tables, charts),
//! then Markdown, then a layout. Model pages are generated from
//! `model.html` for every model file, with the same page functions.
//! [`render::Site`] renders everything in memory, one method per kind of
//! output, and [`site::write`] writes it in one swap. This module knows nothing of TOML
//! syntax (that is `model`) and draws no charts itself (that is `chart`).

pub mod assets;
pub mod charts;
pub mod forward;
pub mod functions;
pub mod highlight;
pub mod ledger;
pub mod links;
pub mod markdown;
pub mod measured;
pub mod nav;
pub mod number;
pub mod page;
pub mod parallel;
pub mod render;
pub mod search;
pub mod site;
pub mod site_files;
pub mod tables;
pub mod templates;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use assets::Assets;
use ledger::Ledger;
use page::Page;

/// What a build reads and where it writes.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Pages, `models/` and `data/`.
    pub content: PathBuf,
    /// Template overrides.
    pub templates: PathBuf,
    /// The site folder to (re)place.
    pub out: PathBuf,
    /// Replace `out` even when it is not empty and not a previous site.
    pub force: bool,
    /// Site-wide values from `netledger.toml`.
    pub site: crate::config::SiteInfo,
    /// Models that get a page of their own (`None`: every model).
    pub model_pages: Option<Vec<String>>,
    /// Navigation order from `netledger.toml` (`None`: weights, then names).
    pub chapters: Option<Vec<crate::config::Chapter>>,
    /// The input of model files that declare none (`input` in `netledger.toml`).
    pub input: Option<Vec<u64>>,
}

impl BuildOptions {
    /// Reads from `content`, overrides from `templates`, writes `out`; no settings.
    pub fn new(content: PathBuf, templates: PathBuf, out: PathBuf) -> BuildOptions {
        BuildOptions {
            content,
            templates,
            out,
            force: false,
            site: Default::default(),
            model_pages: None,
            chapters: None,
            input: None,
        }
    }
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Pages written from Markdown.
    pub pages: usize,
    /// Generated model pages.
    pub models: usize,
    /// Files in the site.
    pub files: usize,
    /// Charts (SVG files) among them.
    pub charts: usize,
    /// Total bytes.
    pub bytes: usize,
    /// Every file written with its size, in path order (for `build -v`).
    pub written: Vec<(String, usize)>,
    /// Files whose bytes were the previous site's (linked, not rewritten).
    pub unchanged: std::collections::BTreeSet<String>,
    /// Things that publish but are probably mistakes, each with its place.
    pub warnings: Vec<String>,
    /// Every model's (params, MACs) at its own input, by name.
    pub counts: BTreeMap<String, (u64, u64)>,
}

/// Shared state of one build, reachable from Tera functions.
#[derive(Debug)]
pub struct Workspace {
    /// Every model, counted.
    pub ledger: Ledger,
    /// Files produced on the way (charts, downloads).
    pub assets: Assets,
    /// The benchmark results the measured chapter speaks of: the most recent
    /// of `machines`, if any machine was measured.
    pub bench: Option<Arc<crate::bench::BenchReport>>,
    /// Every machine's results (`content/data/bench/*.json`, and a legacy
    /// `content/data/bench.json`), by file name.
    pub machines: Vec<Arc<crate::bench::BenchReport>>,
    /// Peer comparisons (`content/data/peers/*.json`, made by
    /// `benches/compare_torch.py`), by file name.
    pub peers: Vec<measured::PeerReport>,
}

/// Renders every output file in memory: relative path -> bytes.
pub fn render(opts: &BuildOptions) -> Result<(BTreeMap<String, Vec<u8>>, Summary)> {
    render::Site::open(opts)?.render()
}

/// Builds the site and swaps it into `opts.out`.
pub fn build(opts: &BuildOptions) -> Result<Summary> {
    let (files, mut summary) = render(opts)?;
    summary.files = files.len();
    summary.charts = files.keys().filter(|n| n.ends_with(".svg")).count();
    summary.bytes = files.values().map(Vec::len).sum();
    summary.written = files.iter().map(|(n, b)| (n.clone(), b.len())).collect();
    summary.unchanged = site::write(
        &site::Target {
            out: &opts.out,
            inputs: &[&opts.content, &opts.templates],
            force: opts.force,
        },
        &files,
    )?;
    Ok(summary)
}

/// The index, then the pages `order` names in its order, then the rest as they were.
fn reorder(
    pages: Vec<Page>,
    order: &[crate::config::Chapter],
    content: &Path,
) -> Result<Vec<Page>> {
    let file = |p: &Page| {
        p.source
            .path()
            .strip_prefix(content)
            .unwrap_or(p.source.path())
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut rest: Vec<Option<Page>> = pages.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(rest.len());
    if let Some(i) = rest
        .iter()
        .position(|p| p.as_ref().is_some_and(|p| p.slug == "index"))
    {
        out.extend(rest[i].take());
    }
    for chapter in order {
        let found = rest
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| file(p) == chapter.file));
        match found {
            Some(i) => out.extend(rest[i].take()),
            None => {
                let known: Vec<String> = rest.iter().flatten().map(file).collect();
                let message = if out.iter().any(|p| file(p) == chapter.file) {
                    format!("`chapters` names `{}` twice", chapter.file)
                } else {
                    format!(
                        "`chapters` names `{}`, which is not a page in {} (pages: {})",
                        chapter.file,
                        content.display(),
                        known.join(", ")
                    )
                };
                return Err(match &chapter.span {
                    Some(span) => Error::syntax(span.clone(), message),
                    None => Error::Usage(message),
                });
            }
        }
    }
    out.extend(rest.into_iter().flatten());
    Ok(out)
}

fn read_pages(content: &Path) -> Result<Vec<Page>> {
    let mut pages = Vec::new();
    if !content.is_dir() {
        return Err(Error::io(
            "read folder",
            content,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        ));
    }
    let static_dir = content.join("static");
    let walk = walkdir::WalkDir::new(content)
        .sort_by_file_name()
        .into_iter()
        // Files under static/ are copied, never rendered, Markdown or not.
        .filter_entry(|e| e.path() != static_dir);
    for entry in walk {
        let entry = entry.map_err(|e| Error::io("read folder", content, e.into()))?;
        let path = entry.path();
        if entry.file_type().is_file() && path.extension().is_some_and(|e| e == "md") {
            pages.push(Page::read(path)?);
        }
    }
    pages.sort_by_key(|p| {
        (
            p.slug != "index",
            p.front.weight.is_none(),
            p.front.weight,
            p.source.path().to_path_buf(),
        )
    });
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for page in &pages {
        if let Some(first) = seen.insert(&page.slug, page.source.path()) {
            return Err(Error::Render {
                message: format!(
                    "two pages would both be written as {}.html: {} and {}",
                    page.slug,
                    first.display(),
                    page.source.path().display()
                ),
                span: None,
                location: None,
            });
        }
    }
    Ok(pages)
}
