//! One build in memory: a [`Site`] holds what every output is rendered
//! from (pages, counted models, templates, navigation), and has one method
//! per kind of output: a page, the generated index, a model page, and the
//! build's summary. [`Site::render`] puts them together.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use tera::{Context, Tera};

use super::assets::Assets;
use super::ledger::Ledger;
use super::markdown::{self, LocalRef, TocEntry};
use super::nav::{
    family, natural_key, page_link, parts, Link, ModelItem, NavFamily, NavItem, NAV_ALL,
};
use super::page::Page;
use super::parallel::{cores, in_parallel};
use super::{
    functions, highlight, links, measured, read_pages, reorder, search, site_files, templates,
    BuildOptions, Summary, Workspace,
};
use crate::error::{Error, Result};
use crate::numfmt::{si, thousands};

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

/// Everything one build renders from.
pub struct Site {
    ws: Arc<Workspace>,
    tera: Tera,
    templates: templates::Templates,
    /// Every page, the index first, in reading order.
    pages: Vec<Page>,
    info: SiteContext,
    /// Models that get a page, in natural order.
    models: Vec<ModelItem>,
    /// Page file (relative to the content folder) -> its slug, for links.
    slugs: BTreeMap<String, String>,
    /// Files under `content/static/`.
    static_dir: std::path::PathBuf,
    /// Indices into `pages` of the chapters (every page but the index).
    chapters: Vec<usize>,
    /// A chapter's slug -> its place among the chapters.
    chapter_at: std::collections::HashMap<String, usize>,
}

/// A rendered page and the links into the site it makes (with their offset
/// in its file), to check once every file exists.
struct RenderedPage {
    html: String,
    refs: Vec<(LocalRef, usize)>,
}

impl Site {
    /// Reads the pages, counts the models, loads the templates.
    pub fn open(opts: &BuildOptions) -> Result<Site> {
        let mut ledger = Ledger::load_with(&opts.content.join("models"), opts.input.as_deref())?;
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
        let machines: Vec<_> = measured::load_machines(&opts.content.join("data"))?
            .into_iter()
            .map(Arc::new)
            .collect();
        let ws = Arc::new(Workspace {
            ledger,
            assets: Assets::default(),
            bench: measured::latest(&machines),
            machines,
            peers: measured::load_peers(&opts.content.join("data"))?,
        });
        let template_files = templates::collect(&opts.templates)?;
        let mut tera = Tera::new();
        functions::register(&mut tera, ws.clone());
        templates::load(&mut tera, &template_files)?;

        let index = pages.iter().find(|p| p.slug == "index");
        let info = SiteContext {
            title: opts.site.title.clone().unwrap_or_else(|| {
                index.map_or_else(|| "netledger report".to_string(), |p| p.front.title.clone())
            }),
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
        let mut models: Vec<ModelItem> = ws
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
                    input: shape(&a.input),
                })
            })
            .collect::<Result<_>>()?;
        models.sort_by_cached_key(|m| natural_key(&m.id));
        let slugs = pages
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
        let chapters: Vec<usize> = (0..pages.len())
            .filter(|&i| pages[i].slug != "index")
            .collect();
        let chapter_at = chapters
            .iter()
            .enumerate()
            .map(|(n, &i)| (pages[i].slug.clone(), n))
            .collect();
        Ok(Site {
            chapters,
            chapter_at,
            ws,
            tera,
            templates: template_files,
            pages,
            info,
            models,
            slugs,
            static_dir: opts.content.join("static"),
        })
    }

    /// Renders every output file in memory: relative path -> bytes.
    pub fn render(&self) -> Result<(BTreeMap<String, Vec<u8>>, Summary)> {
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut refs = Vec::new();
        self.ws.ledger.take_asked();
        let rendered = in_parallel(&self.pages, cores(8), |p| self.page(p))?;
        for (page, rendered) in self.pages.iter().zip(rendered) {
            refs.extend(rendered.refs.into_iter().map(|(r, at)| (page, r, at)));
            files.insert(format!("{}.html", page.slug), rendered.html.into_bytes());
        }
        if !self.pages.iter().any(|p| p.slug == "index") {
            files.insert("index.html".into(), self.generated_index()?.into_bytes());
        }
        // Models the pages used; model pages, which use every model, come after.
        let referenced = self.ws.ledger.take_asked();
        let model_pages = in_parallel(&self.models, cores(8), |m| self.model_page(&m.id))?;
        for (item, html) in self.models.iter().zip(model_pages) {
            files.insert(format!("model-{}.html", item.id), html.into_bytes());
        }
        for (name, bytes) in &self.templates.files {
            files.insert(name.clone(), bytes.clone());
        }
        site_files::copy_static(&self.static_dir, &mut files)?;
        files.extend(self.ws.assets.take());
        links::check_links(&refs, &files)?;
        files.insert(search::FILE.into(), search::index(&files));
        if !self.info.base_url.is_empty() {
            files.insert(
                "sitemap.xml".into(),
                site_files::sitemap(&self.info.base_url, &files).into_bytes(),
            );
        }
        Ok((files, self.summary(&referenced)?))
    }

    /// The chapters: every page but the index.
    fn chapters(&self) -> Vec<&Page> {
        self.chapters.iter().map(|&i| &self.pages[i]).collect()
    }

    /// The chapter at place `n`.
    fn chapter(&self, n: usize) -> Option<&Page> {
        self.chapters.get(n).map(|&i| &self.pages[i])
    }

    /// What every layout sees: the site, chapter navigation, model list, and
    /// the page's own file name (`path`) and `canonical` address.
    fn layout_context(&self, current: Option<&str>, path: &str) -> Context {
        let count = self.chapters.len();
        let mut ctx = Context::new();
        ctx.insert("site_title", &self.info.title);
        ctx.insert("site", &self.info);
        ctx.insert("path", path);
        let canonical = if self.info.base_url.is_empty() {
            String::new()
        } else {
            format!("{}{path}", self.info.base_url)
        };
        ctx.insert("canonical", &canonical);
        // The sidebar lists every chapter and model only while that stays
        // small: beyond NAV_ALL it shows the chapters around the current one
        // and links to the index's full lists, so a big book's output grows
        // linearly.
        let position = current.and_then(|c| self.chapter_at.get(c).copied());
        let window = if count <= NAV_ALL {
            0..count
        } else {
            let at = position.unwrap_or(0);
            let start = at.saturating_sub(NAV_ALL / 2).min(count - NAV_ALL);
            start..start + NAV_ALL
        };
        let shown: Vec<&Page> = window.clone().filter_map(|n| self.chapter(n)).collect();
        let nav: Vec<NavItem> = shown
            .iter()
            .map(|p| NavItem {
                href: format!("{}.html", p.slug),
                title: p.front.title.clone(),
                current: Some(p.slug.as_str()) == current,
            })
            .collect();
        ctx.insert("nav_parts", &parts(&shown, window.start, &nav));
        ctx.insert("nav", &nav);
        ctx.insert("nav_more", &(window.len() < count).then_some(count));
        let few_models = self.models.len() <= NAV_ALL;
        let mut families: Vec<NavFamily> = Vec::new();
        for m in self.models.iter().filter(|_| few_models) {
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
        ctx.insert(
            "nav_models_more",
            &(!few_models).then_some(self.models.len()),
        );
        ctx
    }

    /// What the index layout adds: every chapter and every model.
    fn index_context(&self, ctx: &mut Context) {
        let chapters = self.chapters();
        let links: Vec<Link> = chapters.iter().map(|p| page_link(p)).collect();
        ctx.insert("chapter_parts", &parts(&chapters, 0, &links));
        ctx.insert("chapters", &links);
        ctx.insert("models", &self.models);
    }

    /// One page: Tera, then Markdown, then its layout.
    fn page(&self, page: &Page) -> Result<RenderedPage> {
        let mut ctx = Context::new();
        ctx.insert("site_title", &self.info.title);
        ctx.insert("models", &self.models);
        // A one-off template: adding each page to the Tera instance would
        // re-finalize every template each time (quadratic in the pages).
        let markdown = self
            .tera
            .render_str(page.body(), &ctx, false)
            .map_err(|e| {
                templates::tera_error(&e, Some(&page.source), page.body_start, "in page")
            })?;
        let rendered = markdown::render(&markdown, &self.slugs).map_err(|m| {
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
        let refs = rendered
            .refs
            .iter()
            .map(|r| {
                (
                    r.clone(),
                    locate(page, &markdown, Some(r.offset), &r.written),
                )
            })
            .collect();
        let position = self.chapter_at.get(&page.slug).copied();
        let path = format!("{}.html", page.slug);
        let mut ctx = self.layout_context(Some(&page.slug), &path);
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
                .and_then(|i| self.chapter(i))
                .map(page_link),
        );
        let next = self.chapter(position.map_or(0, |i| i + 1));
        ctx.insert("next", &next.map(page_link));
        let layout = if page.slug == "index" {
            self.index_context(&mut ctx);
            "index.html"
        } else {
            "page.html"
        };
        Ok(RenderedPage {
            html: self.layout(layout, &ctx)?,
            refs,
        })
    }

    /// The index of a course without `index.md`: the lists alone.
    fn generated_index(&self) -> Result<String> {
        let mut ctx = self.layout_context(Some("index"), "index.html");
        self.index_context(&mut ctx);
        ctx.insert("title", &self.info.title);
        ctx.insert("description", "");
        ctx.insert("content", "");
        ctx.insert("toc", &Vec::<TocEntry>::new());
        ctx.insert("prev", &None::<Link>);
        ctx.insert("next", &self.chapter(0).map(page_link));
        self.layout("index.html", &ctx)
    }

    /// A model's page: its facts for `model.html`, whose tables and charts
    /// are the page functions any chapter can call.
    fn model_page(&self, id: &str) -> Result<String> {
        let a = self.ws.ledger.analysis(id, None)?;
        let (source_name, source_bytes) = self.ws.ledger.model(id)?.source_file()?;
        let source_file = format!("models/{source_name}");
        let source_text = String::from_utf8(source_bytes.clone()).ok();
        let mut ctx = self.layout_context(None, &format!("model-{id}.html"));
        ctx.insert("title", &a.name);
        ctx.insert("description", &a.description);
        ctx.insert("toc", &Vec::<TocEntry>::new());
        let t = &a.total;
        ctx.insert(
            "model",
            &serde_json::json!({
                "id": a.id,
                "name": a.name,
                "description": a.description,
                "extends": a.extends,
                "input": shape(&a.input),
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
        self.ws.assets.put(source_file, source_bytes);
        self.layout("model.html", &ctx)
    }

    /// The build's counts and warnings; `referenced` are the models pages used.
    fn summary(&self, referenced: &BTreeSet<String>) -> Result<Summary> {
        let names = self.ws.ledger.names();
        Ok(Summary {
            pages: self.pages.len(),
            models: self.models.len(),
            files: 0,
            charts: 0,
            bytes: 0,
            written: Vec::new(),
            unchanged: BTreeSet::new(),
            warnings: warnings(&self.pages, &names, referenced),
            counts: names
                .into_iter()
                .map(|id| {
                    let t = self.ws.ledger.analysis(&id, None)?.total;
                    Ok((id, (t.params, t.macs)))
                })
                .collect::<Result<_>>()?,
        })
    }

    /// Renders a layout, locating its errors in the layout's file.
    fn layout(&self, layout: &str, ctx: &Context) -> Result<String> {
        self.tera.render(layout, ctx).map_err(|e| {
            let src = self
                .templates
                .html
                .iter()
                .find(|(n, _)| n == layout)
                .map(|(_, s)| s);
            templates::tera_error(&e, src, 0, &format!("rendering layout {layout}"))
        })
    }
}

/// `3x224x224`.
fn shape(dims: &[u64]) -> String {
    dims.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("x")
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
