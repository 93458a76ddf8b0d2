//! Reading model files into a [`ModelSpec`]: parsing, `extends`, checks.
//!
//! A variant names its base with `extends = "vgg19"` (a file in the same
//! folder). Its sections replace the base's sections of the same name in
//! place; new sections are appended; its blocks override the base's; its
//! `input`, `name` and `description` override when given.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

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
    let as_path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
        return load_path(as_path);
    }
    let path = dir.join(format!("{name_or_path}.toml"));
    if !path.is_file() {
        return Err(unknown_model(name_or_path, &path, None));
    }
    load_path(&path)
}

/// Loads the model file at `path`, following its `extends` chain.
pub fn load_path(path: &Path) -> Result<ModelSpec> {
    let mut chain = Vec::new();
    load_chain(path, &mut chain)
}

/// Stems of all `*.toml` files in `dir`, sorted.
pub fn model_names(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                names.push(stem.to_string());
            }
        }
    }
    names.sort();
    Ok(names)
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

fn load_chain(path: &Path, chain: &mut Vec<PathBuf>) -> Result<ModelSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let source = Source::new(path, text);
    let file: ModelFile = toml::from_str(source.text()).map_err(|e| {
        let range = e.span().unwrap_or(0..0);
        let message = e.message().trim_end().replace('\n', "; ");
        Error::syntax(source.span(range.start, range.end), message)
    })?;
    let id = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_string();
    chain.push(path.to_path_buf());

    let base = match &file.extends {
        Some(extends) => {
            let span = source.span(extends.span().start, extends.span().end);
            let parent = path
                .parent()
                .unwrap_or(Path::new("."))
                .join(format!("{}.toml", extends.get_ref()));
            if chain.iter().any(|p| same_file(p, &parent)) {
                let mut names: Vec<String> = chain.iter().map(|p| stem(p)).collect();
                names.push(extends.get_ref().clone());
                return Err(Error::syntax_hint(
                    span,
                    format!("cyclic `extends`: {}", names.join(" -> ")),
                    "a model cannot extend itself, directly or through others",
                ));
            }
            if !parent.is_file() {
                return Err(unknown_model(extends.get_ref(), &parent, Some(span)));
            }
            Some(load_chain(&parent, chain)?)
        }
        None => None,
    };

    let name = match (&file.name, &base) {
        (Some(n), _) => n.get_ref().clone(),
        (None, Some(b)) => format!("{} ({id})", b.name),
        (None, None) => {
            return Err(Error::syntax_hint(
                source.span(0, 0),
                "missing `name`",
                "add e.g. `name = \"ResNet-34\"` at the top",
            ))
        }
    };

    let (input, input_span) = match (&file.input, &base) {
        (Some(input), _) => (
            parse_input(&source, input)?,
            source.span(input.span().start, input.span().end),
        ),
        (None, Some(b)) => (b.input.clone(), b.input_span.clone()),
        (None, None) => {
            return Err(Error::syntax_hint(
                source.span(0, 0),
                "missing `input`",
                "add e.g. `input = [3, 224, 224]`",
            ))
        }
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
        match sections.iter_mut().find(|s| s.name == *section_name) {
            Some(existing) => *existing = built,
            None => sections.push(built),
        }
    }
    if sections.is_empty() {
        return Err(Error::syntax_hint(
            source.span(0, 0),
            "the model has no sections",
            "add `[[section]]` tables with a `name` and `layers`",
        ));
    }

    chain.pop();
    Ok(ModelSpec {
        id,
        name,
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

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
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
