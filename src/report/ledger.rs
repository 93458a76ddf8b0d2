//! All models of a content folder, loaded once and counted on demand.
//!
//! Pages, tables and charts ask the ledger for an [`Analysis`] by model
//! name and, optionally, input shape; each is computed once per build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::catalog::{self, Model};
use crate::count::Analysis;
use crate::error::{Error, Result};

/// Analyses by model name and input shape.
type Cache = BTreeMap<(String, Vec<u64>), Arc<Analysis>>;

/// Loaded model specs and a cache of their analyses.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    specs: BTreeMap<String, Model>,
    cache: Mutex<Cache>,
    /// Models asked for since the last [`Ledger::take_asked`].
    asked: Mutex<std::collections::BTreeSet<String>>,
    /// Each model's place in the chart palette.
    colours: crate::chart::frame::Colours,
}

impl Ledger {
    /// Loads and counts every `*.toml` and `*.onnx` in `dir`; any error stops the build.
    pub fn load(dir: &Path) -> Result<Ledger> {
        Ledger::load_with(dir, None)
    }

    /// [`Ledger::load`], counting model files without an `input` at `default_input`.
    pub fn load_with(dir: &Path, default_input: Option<&[u64]>) -> Result<Ledger> {
        let specs = catalog::load_all_with(dir, default_input)?;
        let ledger = Ledger {
            dir: dir.to_path_buf(),
            specs,
            cache: Mutex::new(BTreeMap::new()),
            asked: Mutex::new(Default::default()),
            colours: Default::default(),
        };
        for name in ledger.names() {
            ledger.analysis(&name, None)?;
        }
        Ok(ledger)
    }

    /// Model names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.specs.keys().cloned().collect()
    }

    /// Every model in colour order: first those that `texts` (the pages, in
    /// reading order) name in quotes, in the order they are first named,
    /// then the rest by name. The models a site compares first get the
    /// palette's first, distinct colours, and each keeps its colour on
    /// every chart.
    pub fn order_colours_by<'t>(&mut self, texts: impl IntoIterator<Item = &'t str>) {
        let mut order: Vec<String> = Vec::new();
        for text in texts {
            for quoted in text.split('"').skip(1).step_by(2) {
                if self.specs.contains_key(quoted) && !order.iter().any(|o| o == quoted) {
                    order.push(quoted.to_string());
                }
            }
        }
        for name in self.specs.keys() {
            if !order.contains(name) {
                order.push(name.clone());
            }
        }
        self.colours = order
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
    }

    /// Each model's place in the chart palette: by [`Ledger::order_colours_by`],
    /// or by name until that is called.
    pub fn colours(&self) -> std::borrow::Cow<'_, crate::chart::frame::Colours> {
        if self.colours.is_empty() {
            std::borrow::Cow::Owned(
                self.specs
                    .keys()
                    .enumerate()
                    .map(|(i, id)| (id.clone(), i))
                    .collect(),
            )
        } else {
            std::borrow::Cow::Borrowed(&self.colours)
        }
    }

    /// A model by name.
    pub fn model(&self, name: &str) -> Result<&Model> {
        self.specs.get(name).ok_or_else(|| Error::UnknownModel {
            name: name.to_string(),
            path: self.dir.join(format!("{name}.toml")),
            span: None,
            known: self.names(),
        })
    }

    /// The analysis of `name` at its own input or at `input`.
    pub fn analysis(&self, name: &str, input: Option<&[u64]>) -> Result<Arc<Analysis>> {
        let model = self.model(name)?;
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_string());
        let shape = input.map_or_else(|| model.input().to_vec(), <[u64]>::to_vec);
        let key = (name.to_string(), shape);
        if let Some(a) = self.lock().get(&key) {
            return Ok(a.clone());
        }
        let analysis = Arc::new(model.analyze(Some(&key.1))?);
        self.lock().insert(key, analysis.clone());
        Ok(analysis)
    }

    /// The models asked for since the last call (pages' references, when
    /// called around the rendering of the pages).
    pub fn take_asked(&self) -> std::collections::BTreeSet<String> {
        std::mem::take(
            &mut *self
                .asked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A poisoned cache only means another thread panicked mid-insert; the map is still valid.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
