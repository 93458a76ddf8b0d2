//! Reading model files into a [`ModelSpec`]: parsing, `extends`, checks.
//!
//! A variant names its base with `extends = "vgg19"` (a file in the same
//! folder). Its sections replace the base's sections of the same name in
//! place; a section the base lacks is an error unless it says `append =
//! true`, and is then added at the end; its blocks override the base's; its
//! `input`, `name` and `description` override when given.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::file::{BlockFile, Merge, ModelFile, Shortcut};
use crate::model::item::{parse_item, Item};
use crate::source::{Source, Span};

/// A model ready to elaborate: every file of its `extends` chain merged.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// File stem, used as the first part of every layer path.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The nearest explicit `name` along the `extends` chain (a variant
    /// without a name of its own is shown as "NAMED (id)").
    pub named: String,
    /// One paragraph for the model's page.
    pub description: String,
    /// Input shape without the batch dimension, e.g. `[3, 224, 224]`.
    pub input: Vec<u64>,
    /// Where the input shape was written.
    pub input_span: Span,
    /// The base model this one extends, if any.
    pub extends: Option<String>,
    /// Blocks by name.
    pub blocks: BTreeMap<String, Block>,
    /// Sections in order.
    pub sections: Vec<Section>,
    /// The model's own file.
    pub source: Source,
}

/// A named part of the network.
#[derive(Debug, Clone)]
pub struct Section {
    /// Its name.
    pub name: String,
    /// Its items in order.
    pub items: Vec<Item>,
}

/// A reusable parameterised block.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its name.
    pub name: String,
    /// Argument names.
    pub args: Vec<String>,
    /// Main path.
    pub body: Vec<Item>,
    /// Further parallel paths.
    pub branches: Vec<Vec<Item>>,
    /// How the input joins the merge.
    pub shortcut: Option<Shortcut>,
    /// Projection shortcut layers.
    pub projection: Vec<Item>,
    /// How paths join; `None` for a plain sequence.
    pub merge: Option<Merge>,
    /// Layers after the merge.
    pub then: Vec<Item>,
    /// Where the block is defined.
    pub span: Span,
}

/// Resolves `name_or_path` (a model name in `dir`, or a path to a `.toml`) and loads it.
pub fn load(name_or_path: &str, dir: &Path) -> Result<ModelSpec> {
    load_with(name_or_path, dir, None)
}

/// [`load`], counting a file without an `input` at `default_input`.
pub fn load_with(
    name_or_path: &str,
    dir: &Path,
    default_input: Option<&[u64]>,
) -> Result<ModelSpec> {
    Loader::with_default_input(default_input.map(<[u64]>::to_vec))
        .load(name_or_path, dir)
        .map(|s| (*s).clone())
}

/// Loads the model file at `path`, following its `extends` chain.
pub fn load_path(path: &Path) -> Result<ModelSpec> {
    Loader::default().load_path(path).map(|s| (*s).clone())
}

/// Stems of all `*.toml` files in `dir`, sorted; a name that is not UTF-8 is an error.
pub fn model_names(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            match path.file_stem().and_then(|s| s.to_str()) {
                Some(stem) => names.push(stem.to_string()),
                None => {
                    return Err(Error::Render {
                        message: "a model file's name is not UTF-8; rename it".into(),
                        span: None,
                        location: Some(path.display().to_string()),
                    })
                }
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Loads model files once each: every file of every `extends` chain is read,
/// parsed and merged a single time, however many models share it.
#[derive(Debug, Default)]
pub struct Loader {
    /// Merged specs by canonical file path.
    done: BTreeMap<PathBuf, Arc<ModelSpec>>,
    /// The input of model files that declare none (`input` in netledger.toml).
    default_input: Option<Vec<u64>>,
}

/// One parsed file of an `extends` chain, not yet merged with its base.
struct Parsed {
    path: PathBuf,
    source: Source,
    file: ModelFile,
}

impl Loader {
    /// A loader that counts model files without an `input` at `input`.
    pub fn with_default_input(input: Option<Vec<u64>>) -> Loader {
        Loader {
            default_input: input,
            ..Loader::default()
        }
    }

    /// Resolves `name_or_path` (a model name in `dir`, or a path to a `.toml`) and loads it.
    pub fn load(&mut self, name_or_path: &str, dir: &Path) -> Result<Arc<ModelSpec>> {
        let as_path = Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
            return self.load_path(as_path);
        }
        let path = dir.join(format!("{name_or_path}.toml"));
        if !path.is_file() {
            return Err(unknown_model(name_or_path, &path, None));
        }
        self.load_path(&path)
    }

    /// Loads model text as if it were the file at `path` (its `extends`
    /// resolve beside `path`): for fuzzing and for text held in memory.
    pub fn load_text(&mut self, path: &Path, text: &str) -> Result<Arc<ModelSpec>> {
        let parsed = parse_source(Source::new(path, text))?;
        let base = match &parsed.file.extends {
            None => None,
            Some(extends) => Some(self.load_path(&resolve_extends(&parsed, extends)?)?),
        };
        merge(parsed, base.as_deref(), self.default_input.as_deref()).map(Arc::new)
    }

    /// Loads the model file at `path`, following its `extends` chain.
    ///
    /// The chain is walked without recursion, and the cycle check is one set
    /// lookup per file, so a chain of any length costs time linear in it.
    pub fn load_path(&mut self, path: &Path) -> Result<Arc<ModelSpec>> {
        let mut pending: Vec<Parsed> = Vec::new();
        let mut on_chain: BTreeMap<PathBuf, usize> = BTreeMap::new();
        let mut key = canonical(path);
        let mut path = path.to_path_buf();
        let mut base = loop {
            if let Some(done) = self.done.get(&key) {
                break Some(done.clone());
            }
            on_chain.insert(key.clone(), pending.len());
            let parsed = parse_file(&path)?;
            let next = match &parsed.file.extends {
                None => None,
                Some(extends) => Some(resolve_extends(&parsed, extends)?),
            };
            pending.push(parsed);
            let Some(next) = next else { break None };
            let next_key = canonical(&next);
            if on_chain.contains_key(&next_key) {
                let last = pending.last().expect("just pushed");
                let extends = last.file.extends.as_ref().expect("has extends");
                let mut names: Vec<String> = pending.iter().map(|p| stem(&p.path)).collect();
                names.push(extends.get_ref().clone());
                return Err(Error::syntax_hint(
                    last.source.span(extends.span().start, extends.span().end),
                    format!("cyclic `extends`: {}", names.join(" -> ")),
                    "a model cannot extend itself, directly or through others",
                ));
            }
            key = next_key;
            path = next;
        };
        let mut keys: Vec<PathBuf> = vec![PathBuf::new(); pending.len()];
        for (k, i) in on_chain {
            keys[i] = k;
        }
        while let Some(parsed) = pending.pop() {
            let spec = Arc::new(merge(
                parsed,
                base.as_deref(),
                self.default_input.as_deref(),
            )?);
            self.done.insert(keys[pending.len()].clone(), spec.clone());
            base = Some(spec);
        }
        Ok(base.expect("a chain has at least one file"))
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn unknown_model(name: &str, path: &Path, span: Option<Span>) -> Error {
    let known = path
        .parent()
        .and_then(|d| model_names(d).ok())
        .unwrap_or_default();
    Error::UnknownModel {
        name: name.to_string(),
        path: path.to_path_buf(),
        span,
        known,
    }
}

fn parse_file(path: &Path) -> Result<Parsed> {
    parse_source(crate::source::read(path)?)
}

fn parse_source(source: Source) -> Result<Parsed> {
    let path = source.path().to_path_buf();
    let file: ModelFile = toml::from_str(source.text()).map_err(|e| {
        let range = e.span().unwrap_or(0..0);
        let message = e.message().trim_end().replace('\n', "; ");
        Error::syntax(source.span(range.start, range.end), message)
    })?;
    Ok(Parsed { path, source, file })
}

/// The file that `extends = "NAME"` names: `NAME.toml` in the same folder as
/// the file that says it, and nowhere else (no path, no symlink out).
fn resolve_extends(parsed: &Parsed, extends: &toml::Spanned<String>) -> Result<PathBuf> {
    let span = parsed.source.span(extends.span().start, extends.span().end);
    let name = extends.get_ref();
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.ends_with(".toml");
    if !plain {
        return Err(Error::syntax_hint(
            span,
            format!("`extends` must name a model in the same folder, not `{name}`"),
            "write the base model's file name without `.toml`, e.g. `extends = \"vgg19\"`",
        ));
    }
    let dir = parsed.path.parent().unwrap_or(Path::new("."));
    let target = dir.join(format!("{name}.toml"));
    if !target.is_file() {
        return Err(unknown_model(name, &target, Some(span)));
    }
    let inside = match (canonical(dir).as_path(), target.canonicalize()) {
        (dir, Ok(real)) => real.parent() == Some(dir),
        (_, Err(_)) => false,
    };
    if !inside {
        return Err(Error::syntax_hint(
            span,
            format!(
                "`extends = \"{name}\"`: {} is a link to a file outside {}",
                target.display(),
                dir.display()
            ),
            "a base model must be a real file in the same folder",
        ));
    }
    Ok(target)
}

/// Merges one file onto its (already merged) base.
fn merge(
    parsed: Parsed,
    base: Option<&ModelSpec>,
    default_input: Option<&[u64]>,
) -> Result<ModelSpec> {
    let Parsed { path, source, file } = parsed;
    let id = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_string();
    let name = match (&file.name, &base) {
        (Some(n), _) => n.get_ref().clone(),
        (None, Some(b)) => format!("{} ({id})", b.named),
        (None, None) => {
            return Err(Error::syntax_hint(
                source.span(0, 0),
                "missing `name`",
                "add e.g. `name = \"ResNet-34\"` at the top",
            ))
        }
    };

    let (input, input_span) =
        match (&file.input, &base) {
            (Some(input), _) => (
                parse_input(&source, input)?,
                source.span(input.span().start, input.span().end),
            ),
            (None, Some(b)) => (b.input.clone(), b.input_span.clone()),
            (None, None) => match default_input {
                Some(input) => (input.to_vec(), source.span(0, 0)),
                None => return Err(Error::syntax_hint(
                    source.span(0, 0),
                    "missing `input`",
                    "add e.g. `input = [3, 224, 224]`, or set a default `input` in netledger.toml",
                )),
            },
        };

    let mut blocks = base.as_ref().map(|b| b.blocks.clone()).unwrap_or_default();
    for (block_name, block) in &file.blocks {
        blocks.insert(block_name.clone(), build_block(&source, block_name, block)?);
    }

    let mut sections = base
        .as_ref()
        .map(|b| b.sections.clone())
        .unwrap_or_default();
    let mut seen = Vec::new();
    for section in &file.sections {
        let section_name = section.name.get_ref();
        let span = source.span(section.name.span().start, section.name.span().end);
        if section_name.is_empty() || section_name.contains('/') {
            return Err(Error::syntax(
                span,
                "section names must be non-empty and contain no `/`",
            ));
        }
        if seen.contains(section_name) {
            return Err(Error::syntax(
                span,
                format!("section `{section_name}` is defined twice"),
            ));
        }
        seen.push(section_name.clone());
        let items = section
            .layers
            .iter()
            .map(|s| item(&source, s.span(), s.get_ref()))
            .collect::<Result<Vec<_>>>()?;
        let built = Section {
            name: section_name.clone(),
            items,
        };
        match (sections.iter_mut().find(|s| s.name == *section_name), base) {
            (Some(_), Some(b)) if section.append => {
                return Err(Error::syntax_hint(
                    span,
                    format!(
                        "`append = true`, but base `{}` already has a section `{section_name}`",
                        b.id
                    ),
                    "drop `append` to replace that section",
                ))
            }
            (Some(existing), _) => *existing = built,
            (None, Some(b)) if !section.append => {
                let names: Vec<&str> = b.sections.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::syntax_hint(
                    span,
                    format!(
                        "base `{}` has no section `{section_name}` to replace (its sections: {})",
                        b.id,
                        names.join(", ")
                    ),
                    "fix the name, or add `append = true` to add it as a new section after the base's",
                ));
            }
            (None, _) => sections.push(built),
        }
    }
    if sections.is_empty() {
        return Err(Error::syntax_hint(
            source.span(0, 0),
            "the model has no sections",
            "add `[[section]]` tables with a `name` and `layers`",
        ));
    }

    let named = match (&file.name, base) {
        (None, Some(b)) => b.named.clone(),
        _ => name.clone(),
    };
    Ok(ModelSpec {
        id,
        name,
        named,
        description: file
            .description
            .clone()
            .or_else(|| base.as_ref().map(|b| b.description.clone()))
            .unwrap_or_default(),
        input,
        input_span,
        extends: file.extends.as_ref().map(|e| e.get_ref().clone()),
        blocks,
        sections,
        source,
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("?")
        .to_string()
}

fn parse_input(
    source: &Source,
    input: &toml::Spanned<Vec<toml::Spanned<i64>>>,
) -> Result<Vec<u64>> {
    let span = source.span(input.span().start, input.span().end);
    if input.get_ref().is_empty() {
        return Err(Error::syntax(
            span,
            "`input` needs at least one dimension, e.g. [3, 224, 224]",
        ));
    }
    input
        .get_ref()
        .iter()
        .map(|d| match u64::try_from(*d.get_ref()) {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(Error::syntax(
                source.span(d.span().start, d.span().end),
                format!("input sizes must be positive, got {}", d.get_ref()),
            )),
        })
        .collect()
}

/// Parses one layer string found at `range` (the TOML literal, quotes included).
fn item(source: &Source, range: Range<usize>, value: &str) -> Result<Item> {
    let raw = &source.text()[range.clone()];
    let quoted = raw.len() >= 2
        && !raw.starts_with("\"\"\"")
        && !raw.starts_with("'''")
        && (raw.starts_with('"') || raw.starts_with('\''))
        && &raw[1..raw.len() - 1] == value;
    if quoted {
        parse_item(value, &source.span(range.start + 1, range.end - 1))
    } else {
        // Escapes or multi-line strings: positions inside the string cannot be
        // mapped back, so parse a copy named after where the string starts.
        let at = source.span(range.start, range.end).position();
        let copy = Source::new(format!("{at} (string)"), value);
        parse_item(value, &copy.span(0, value.len()))
    }
}

fn items(source: &Source, list: &[toml::Spanned<String>]) -> Result<Vec<Item>> {
    list.iter()
        .map(|s| item(source, s.span(), s.get_ref()))
        .collect()
}

fn build_block(source: &Source, name: &str, block: &toml::Spanned<BlockFile>) -> Result<Block> {
    let span = source.span(block.span().start, block.span().end);
    let b = block.get_ref();
    let body = items(source, &b.body)?;
    let branches = b
        .branches
        .iter()
        .map(|branch| items(source, branch))
        .collect::<Result<Vec<_>>>()?;
    let projection = items(source, &b.projection)?;
    let then = items(source, &b.then)?;
    let shortcut = b.shortcut.as_ref().map(|s| *s.get_ref());
    let paths = usize::from(!body.is_empty()) + branches.len() + usize::from(shortcut.is_some());
    match b.merge {
        None if !branches.is_empty() || shortcut.is_some() => {
            return Err(Error::syntax_hint(
                span,
                format!("block `{name}` has branches or a shortcut but no `merge`"),
                "add `merge = \"add\"` or `merge = \"concat\"`",
            ))
        }
        Some(_) if paths < 2 => {
            return Err(Error::syntax_hint(
                span,
                format!("block `{name}` merges fewer than two paths"),
                "a merge needs a body plus `branches` or a `shortcut`",
            ))
        }
        Some(Merge::Matmul) if paths != 2 => {
            return Err(Error::syntax_hint(
                span,
                format!("block `{name}` multiplies {paths} paths as matrices"),
                "a matmul merge takes exactly two paths: the body and one branch (or the shortcut)",
            ))
        }
        _ => {}
    }
    if matches!(shortcut, Some(Shortcut::Auto | Shortcut::Projection)) && projection.is_empty() {
        return Err(Error::syntax_hint(
            span,
            format!("block `{name}` has shortcut = auto/projection but no `projection` layers"),
            "add e.g. `projection = [\"conv $c k1 s$s nobias\", \"bn\"]`",
        ));
    }
    if !projection.is_empty() && !matches!(shortcut, Some(Shortcut::Auto | Shortcut::Projection)) {
        return Err(Error::syntax_hint(
            span,
            format!("block `{name}` has `projection` layers but no shortcut that uses them"),
            "set `shortcut = \"auto\"` or `shortcut = \"projection\"`",
        ));
    }
    if body.is_empty() && branches.is_empty() && then.is_empty() {
        return Err(Error::syntax(span, format!("block `{name}` is empty")));
    }
    Ok(Block {
        name: name.to_string(),
        args: b.args.clone(),
        body,
        branches,
        shortcut,
        projection,
        merge: b.merge,
        then,
        span,
    })
}
