//! The literate site builder: content/ + templates/ -> site/.
//!
//! Pages are rendered through Tera first (computed values, tables, charts),
//! then Markdown, then a layout. Model pages are generated from
//! `model.html` for every model file. Everything is assembled in memory and
//! written by [`site::write`] in one swap. This module knows nothing of TOML
//! syntax (that is `model`) and draws no charts itself (that is `chart`).

pub mod assets;
pub mod charts;
pub mod functions;
pub mod highlight;
pub mod ledger;
pub mod links;
pub mod markdown;
pub mod measured;
pub mod number;
pub mod page;
pub mod search;
pub mod site;
pub mod site_files;
pub mod tables;
pub mod templates;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tera::{Context, Tera};

use crate::count::output::By;
use crate::error::{Error, Result};
use crate::numfmt::{si, thousands};
use crate::report::charts::ChartArgs;
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
    /// Cached benchmark results (`content/data/bench.json`), if measured.
    pub bench: Option<Arc<crate::bench::BenchReport>>,
}

#[derive(Clone, Serialize)]
struct NavItem {
    href: String,
    title: String,
    current: bool,
}

#[derive(Serialize)]
struct ModelItem {
    id: String,
    name: String,
    href: String,
    params: String,
    params_si: String,
    macs_si: String,
    variant: bool,
    /// The declared input it is counted at, e.g. `3x224x224`.
    input: String,
    /// Its family, for grouping (`resnet`, `vgg`).
    family: String,
}

#[derive(Serialize, Clone)]
struct Link {
    href: String,
    title: String,
}

/// Builds the site and swaps it into `opts.out`.
pub fn build(opts: &BuildOptions) -> Result<Summary> {
    let (files, mut summary) = render(opts)?;
    summary.files = files.len();
    summary.charts = files.keys().filter(|n| n.ends_with(".svg")).count();
    summary.bytes = files.values().map(Vec::len).sum();
    summary.written = files.iter().map(|(n, b)| (n.clone(), b.len())).collect();
    site::write(
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

/// Renders every output file in memory: relative path -> bytes.
pub fn render(opts: &BuildOptions) -> Result<(BTreeMap<String, Vec<u8>>, Summary)> {
    let mut ledger = Ledger::load(&opts.content.join("models"))?;
    let mut pages = read_pages(&opts.content)?;
    if let Some(order) = &opts.chapters {
        pages = reorder(pages, order, &opts.content)?;
    }
    ledger.order_colours_by(pages.iter().map(Page::body));
    for page in &pages {
        if let Some(id) = page.slug.strip_prefix("model-") {
            if ledger.model(id).is_ok() {
                return Err(Error::Render {
                    message: format!(
                        "page slug `{}` is the name of the generated page of model `{id}`, which would overwrite it\n  = hint: give the page another `slug` (or file name)",
                        page.slug
                    ),
                    span: None,
                    location: Some(page.source.path().display().to_string()),
                });
            }
        }
    }
    let bench = measured::load(&opts.content.join("data").join("bench.json"))?.map(Arc::new);
    let ws = Arc::new(Workspace {
        ledger,
        assets: Assets::default(),
        bench,
    });
    let template_files = templates::collect(&opts.templates)?;
    let mut tera = Tera::new();
    functions::register(&mut tera, ws.clone());
    templates::load(&mut tera, &template_files)?;

    let index = pages.iter().find(|p| p.slug == "index");
    let site_title = opts.site.title.clone().unwrap_or_else(|| {
        index.map_or_else(|| "netledger report".to_string(), |p| p.front.title.clone())
    });
    let site = SiteContext {
        title: site_title.clone(),
        description: opts.site.description.clone().unwrap_or_default(),
        author: opts.site.author.clone().unwrap_or_default(),
        language: opts.site.language.clone().unwrap_or_else(|| "en".into()),
        base_url: opts.site.base_url.clone().unwrap_or_default(),
    };
    if let Some(wanted) = &opts.model_pages {
        for id in wanted {
            ws.ledger.model(id)?;
        }
    }
    let has_page = |id: &str| {
        opts.model_pages
            .as_ref()
            .is_none_or(|w| w.iter().any(|m| m == id))
    };
    let models: Vec<ModelItem> = ws
        .ledger
        .names()
        .iter()
        .filter(|id| has_page(id))
        .map(|id| {
            let a = ws.ledger.analysis(id, None)?;
            Ok(ModelItem {
                family: family(id),
                id: id.clone(),
                name: a.name.clone(),
                href: format!("model-{id}.html"),
                params: thousands(a.total.params),
                params_si: si(a.total.params, 1),
                macs_si: si(a.total.macs, 2),
                variant: a.extends.is_some(),
                input: a
                    .input
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join("x"),
            })
        })
        .collect::<Result<_>>()?;
    let mut models = models;
    models.sort_by_cached_key(|m| natural_key(&m.id));

    let chapters: Vec<&Page> = pages.iter().filter(|p| p.slug != "index").collect();
    let slugs: BTreeMap<String, String> = pages
        .iter()
        .map(|p| {
            let file = p
                .source
                .path()
                .strip_prefix(&opts.content)
                .unwrap_or(p.source.path());
            (file.to_string_lossy().replace('\\', "/"), p.slug.clone())
        })
        .collect();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut refs = Vec::new();
    ws.ledger.take_asked();
    for page in &pages {
        let mut ctx = Context::new();
        ctx.insert("site_title", &site_title);
        ctx.insert("models", &models);
        // A one-off template: adding each page to the Tera instance would
        // re-finalize every template each time (quadratic in the pages).
        let markdown = tera.render_str(page.body(), &ctx, false).map_err(|e| {
            templates::tera_error(&e, Some(&page.source), page.body_start, "in page")
        })?;
        let rendered = markdown::render(&markdown, &slugs).map_err(|m| {
            let at = locate(page, &markdown, m.offset, &m.latex);
            let len = m.latex.len().max(1);
            if m.unbalanced {
                return Error::syntax_hint(
                    page.source.span(at, at + 1),
                    m.message,
                    "close the math with a matching `$` (or `$$`), or write `\\$` for a dollar sign",
                );
            }
            Error::Render {
                message: format!("invalid LaTeX `{}`: {}", m.latex, m.message),
                span: Some(page.source.span(at, at + len)),
                location: None,
            }
        })?;
        for r in &rendered.refs {
            let at = locate(page, &markdown, Some(r.offset), &r.written);
            refs.push((page, r.clone(), at));
        }
        let position = chapters.iter().position(|p| p.slug == page.slug);
        let path = format!("{}.html", page.slug);
        let mut ctx = base_context(&site, &chapters, Some(&page.slug), &models, &path);
        ctx.insert("title", &page.front.title);
        ctx.insert("description", &page.front.description);
        ctx.insert("content", &rendered.html);
        ctx.insert(
            "toc",
            &if page.front.toc {
                rendered.toc
            } else {
                Vec::new()
            },
        );
        ctx.insert(
            "prev",
            &position
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| chapters.get(i))
                .map(|p| page_link(p)),
        );
        let next = match position {
            Some(i) => chapters.get(i + 1),
            None => chapters.first(),
        };
        ctx.insert("next", &next.map(|p| page_link(p)));
        let layout = if page.slug == "index" {
            index_context(&mut ctx, &chapters, &models);
            "index.html"
        } else {
            "page.html"
        };
        let html = render_layout(&tera, layout, &ctx, &template_files)?;
        files.insert(format!("{}.html", page.slug), html.into_bytes());
    }
    if index.is_none() {
        let mut ctx = base_context(&site, &chapters, Some("index"), &models, "index.html");
        index_context(&mut ctx, &chapters, &models);
        ctx.insert("title", &site_title);
        ctx.insert("description", "");
        ctx.insert("content", "");
        ctx.insert("toc", &Vec::<markdown::TocEntry>::new());
        ctx.insert("prev", &None::<Link>);
        ctx.insert("next", &chapters.first().map(|p| page_link(p)));
        files.insert(
            "index.html".into(),
            render_layout(&tera, "index.html", &ctx, &template_files)?.into_bytes(),
        );
    }

    let referenced = ws.ledger.take_asked();
    for item in &models {
        let html = model_page(
            &ws,
            &tera,
            &template_files,
            &site,
            &chapters,
            &models,
            &item.id,
        )?;
        files.insert(format!("model-{}.html", item.id), html.into_bytes());
    }
    for (name, bytes) in &template_files.files {
        files.insert(name.clone(), bytes.clone());
    }
    site_files::copy_static(&opts.content.join("static"), &mut files)?;
    files.extend(ws.assets.take());
    links::check_links(&refs, &files)?;
    files.insert(search::FILE.into(), search::index(&files));
    if !site.base_url.is_empty() {
        files.insert(
            "sitemap.xml".into(),
            site_files::sitemap(&site.base_url, &files).into_bytes(),
        );
    }
    let summary = Summary {
        pages: pages.len(),
        models: models.len(),
        files: 0,
        charts: 0,
        bytes: 0,
        written: Vec::new(),
        warnings: warnings(&pages, &ws.ledger.names(), &referenced),
        counts: ws
            .ledger
            .names()
            .into_iter()
            .map(|id| {
                let t = ws.ledger.analysis(&id, None)?.total;
                Ok((id, (t.params, t.macs)))
            })
            .collect::<Result<_>>()?,
    };
    Ok((files, summary))
}

/// Models no page uses (in a function, or by a link to its page), and
/// titles that two pages share.
fn warnings(pages: &[Page], models: &[String], used: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for id in models {
        let linked = format!("model-{id}.html");
        if !used.contains(id) && !pages.iter().any(|p| p.body().contains(&linked)) {
            out.push(format!(
                "model `{id}` is never referenced by a page (it still gets model-{id}.html)"
            ));
        }
    }
    let mut titles: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in pages {
        titles
            .entry(p.front.title.as_str())
            .or_default()
            .push(p.source.path().display().to_string());
    }
    for (title, paths) in titles.into_iter().filter(|(_, p)| p.len() > 1) {
        out.push(format!(
            "pages {} share the title `{title}`",
            paths.join(" and ")
        ));
    }
    out
}

/// Where in its file a page wrote what the rendered Markdown holds at
/// `offset` (or, failing that, the first occurrence of `needle`): an
/// absolute byte offset into the page's source.
fn locate(page: &Page, markdown: &str, offset: Option<usize>, needle: &str) -> usize {
    let body = page.body();
    let at = offset
        .and_then(|o| markdown::source_offset(body, markdown, o))
        .or_else(|| markdown::math_offset(body, needle))
        .or_else(|| body.find(needle))
        .unwrap_or(0);
    page.body_start + at
}

fn page_link(page: &Page) -> Link {
    Link {
        href: format!("{}.html", page.slug),
        title: page.front.title.clone(),
    }
}

/// What every layout sees as `site.*`.
#[derive(Serialize)]
struct SiteContext {
    title: String,
    description: String,
    author: String,
    language: String,
    /// Empty when not configured.
    base_url: String,
}

/// What every layout sees: the site, chapter navigation, model list, and
/// the page's own file name (`path`) and `canonical` address.
fn base_context(
    site: &SiteContext,
    chapters: &[&Page],
    current: Option<&str>,
    models: &[ModelItem],
    path: &str,
) -> Context {
    let mut ctx = Context::new();
    ctx.insert("site_title", &site.title);
    ctx.insert("site", site);
    ctx.insert("path", path);
    let canonical = if site.base_url.is_empty() {
        String::new()
    } else {
        format!("{}{path}", site.base_url)
    };
    ctx.insert("canonical", &canonical);
    // The sidebar lists every chapter and model only while that stays small:
    // beyond NAV_ALL it shows the chapters around the current one and links
    // to the index's full lists, so a big book's output grows linearly.
    let position = current.and_then(|c| chapters.iter().position(|p| p.slug == c));
    let window = if chapters.len() <= NAV_ALL {
        0..chapters.len()
    } else {
        let at = position.unwrap_or(0);
        let start = at.saturating_sub(NAV_ALL / 2).min(chapters.len() - NAV_ALL);
        start..start + NAV_ALL
    };
    let nav: Vec<NavItem> = chapters[window.clone()]
        .iter()
        .map(|p| NavItem {
            href: format!("{}.html", p.slug),
            title: p.front.title.clone(),
            current: Some(p.slug.as_str()) == current,
        })
        .collect();
    ctx.insert(
        "nav_parts",
        &parts(&chapters[window.clone()], window.start, &nav),
    );
    ctx.insert("nav", &nav);
    ctx.insert(
        "nav_more",
        &(window.len() < chapters.len()).then_some(chapters.len()),
    );
    let few_models = models.len() <= NAV_ALL;
    let mut families: Vec<NavFamily> = Vec::new();
    for m in models.iter().filter(|_| few_models) {
        let item = NavItem {
            href: m.href.clone(),
            title: m.id.clone(),
            current: m.href == path,
        };
        match families.last_mut() {
            Some(f) if f.family == m.family => f.models.push(item),
            _ => families.push(NavFamily {
                family: m.family.clone(),
                models: vec![item],
            }),
        }
    }
    ctx.insert("nav_families", &families);
    ctx.insert("nav_models", &few_models);
    ctx.insert("nav_models_more", &(!few_models).then_some(models.len()));
    ctx
}

/// Consecutive chapters of one part of the book (the first part has no title).
#[derive(Serialize)]
struct NavPart<T> {
    /// The `part` of its first page.
    title: Option<String>,
    /// The number of its first chapter, 1 for the book's first.
    start: usize,
    items: Vec<T>,
}

/// `items` (one per page of `pages`, the book's chapters from number
/// `first + 1`) split where a page starts a `part`. A window that begins
/// inside a part is titled by the part it began in.
fn parts<T: Clone>(pages: &[&Page], first: usize, items: &[T]) -> Vec<NavPart<T>> {
    let mut out: Vec<NavPart<T>> = Vec::new();
    for (i, (page, item)) in pages.iter().zip(items).enumerate() {
        if out.is_empty() || page.front.part.is_some() {
            out.push(NavPart {
                title: page.front.part.clone(),
                start: first + i + 1,
                items: Vec::new(),
            });
        }
        if let Some(part) = out.last_mut() {
            part.items.push(item.clone());
        }
    }
    out
}

/// Models of one family in the sidebar.
#[derive(Serialize)]
struct NavFamily {
    family: String,
    models: Vec<NavItem>,
}

/// The family of a model id: its leading letters (`resnet34_flatten` is a `resnet`).
fn family(id: &str) -> String {
    let end = id
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(id.len());
    if end == 0 {
        id.to_string()
    } else {
        id[..end].to_string()
    }
}

/// Natural order: `resnet18` before `resnet101`, digits compared as numbers.
fn natural_key(id: &str) -> Vec<(String, u128)> {
    let mut key = Vec::new();
    let mut rest = id;
    while !rest.is_empty() {
        let letters = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (word, after) = rest.split_at(letters);
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        let (number, tail) = after.split_at(digits);
        key.push((word.to_string(), number.parse().unwrap_or(0)));
        rest = tail;
    }
    key
}

/// Most chapters (and models) the sidebar lists in full.
const NAV_ALL: usize = 60;

/// What the index layout adds: every chapter and every model.
fn index_context(ctx: &mut Context, chapters: &[&Page], models: &[ModelItem]) {
    let links: Vec<Link> = chapters.iter().map(|p| page_link(p)).collect();
    ctx.insert("chapter_parts", &parts(chapters, 0, &links));
    ctx.insert(
        "chapters",
        &chapters.iter().map(|p| page_link(p)).collect::<Vec<_>>(),
    );
    ctx.insert("models", models);
}

fn render_layout(
    tera: &Tera,
    layout: &str,
    ctx: &Context,
    templates: &templates::Templates,
) -> Result<String> {
    tera.render(layout, ctx).map_err(|e| {
        let src = templates
            .html
            .iter()
            .find(|(n, _)| n == layout)
            .map(|(_, s)| s);
        templates::tera_error(&e, src, 0, &format!("rendering layout {layout}"))
    })
}

fn model_page(
    ws: &Workspace,
    tera: &Tera,
    files: &templates::Templates,
    site: &SiteContext,
    chapters: &[&Page],
    models: &[ModelItem],
    id: &str,
) -> Result<String> {
    let a = ws.ledger.analysis(id, None)?;
    let (source_name, source_bytes) = ws.ledger.model(id)?.source_file()?;
    let source_file = format!("models/{source_name}");
    let source_text = String::from_utf8(source_bytes.clone()).ok();
    let path = format!("model-{id}.html");
    let mut ctx = base_context(site, chapters, None, models, &path);
    ctx.insert("title", &a.name);
    ctx.insert("description", &a.description);
    ctx.insert("toc", &Vec::<markdown::TocEntry>::new());
    let t = &a.total;
    ctx.insert(
        "model",
        &serde_json::json!({
            "id": a.id,
            "name": a.name,
            "description": a.description,
            "extends": a.extends,
            "input": a.input.iter().map(u64::to_string).collect::<Vec<_>>().join("x"),
            "params": thousands(t.params),
            "params_si": si(t.params, 1),
            "weights": thousands(t.weight),
            "biases": thousands(t.bias),
            "buffers": thousands(t.buffers),
            "macs": thousands(t.macs),
            "macs_si": si(t.macs, 2),
            "flops": thousands(t.flops),
            "layers": a.layers.len(),
            "weight_mb": crate::numfmt::fixed(t.params as f64 * 4.0 / 1e6, 1),
            "activation_mb": crate::numfmt::fixed(t.activations as f64 * 4.0 / 1e6, 1),
            "source_file": source_file,
            "source_html": source_text.as_deref().and_then(|t| highlight::highlight("toml", t)),
            "source": source_text,
            "notes": a.notes,
        }),
    );
    let table = |by| tables::model_table(&ws.ledger, &ws.assets, id, by, None);
    ctx.insert("table_sections", &table(By::Section)?);
    ctx.insert("table_kinds", &table(By::Kind)?);
    ctx.insert(
        "table_layers",
        &tables::layers_by_section(&ws.ledger, &ws.assets, id)?,
    );
    ctx.insert(
        "table_conventions",
        &tables::conventions_table(&ws.ledger, &ws.assets, &[id.to_string()])?,
    );
    let chart = |kind: &str, metric: &str| {
        functions::chart_figure(
            ws,
            &ChartArgs {
                kind: kind.into(),
                models: Some(vec![id.to_string()]),
                metric: Some(metric.into()),
                sizes: None,
                block: None,
                title: None,
            },
        )
    };
    ctx.insert("chart_layers_params", &chart("layers", "params")?);
    ctx.insert("chart_layers_macs", &chart("layers", "macs")?);
    ctx.insert("chart_cumulative", &chart("cumulative", "params")?);
    ctx.insert("chart_architecture", &chart("architecture", "params")?);
    ws.assets.put(source_file, source_bytes);
    render_layout(tera, "model.html", &ctx, files)
}
