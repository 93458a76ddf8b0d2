//! What the navigation lists: chapters (in parts of the book), models (in
//! families, in natural order), and the links between pages.

use serde::Serialize;

use super::page::Page;

#[derive(Clone, Serialize)]
pub(super) struct NavItem {
    pub(super) href: String,
    pub(super) title: String,
    pub(super) current: bool,
}

#[derive(Serialize)]
pub(super) struct ModelItem {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) href: String,
    pub(super) params: String,
    pub(super) params_si: String,
    pub(super) macs_si: String,
    pub(super) variant: bool,
    /// The declared input it is counted at, e.g. `3x224x224`.
    pub(super) input: String,
    /// Its family, for grouping (`resnet`, `vgg`).
    pub(super) family: String,
}

#[derive(Serialize, Clone)]
pub(super) struct Link {
    pub(super) href: String,
    pub(super) title: String,
}

pub(super) fn page_link(page: &Page) -> Link {
    Link {
        href: format!("{}.html", page.slug),
        title: page.front.title.clone(),
    }
}

/// Consecutive chapters of one part of the book (the first part has no title).
#[derive(Serialize)]
pub(super) struct NavPart<T> {
    /// The `part` of its first page.
    pub(super) title: Option<String>,
    /// The number of its first chapter, 1 for the book's first.
    pub(super) start: usize,
    pub(super) items: Vec<T>,
}

/// `items` (one per page of `pages`, the book's chapters from number
/// `first + 1`) split where a page starts a `part`. A window that begins
/// inside a part is titled by the part it began in.
pub(super) fn parts<T: Clone>(pages: &[&Page], first: usize, items: &[T]) -> Vec<NavPart<T>> {
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
pub(super) struct NavFamily {
    pub(super) family: String,
    pub(super) models: Vec<NavItem>,
}

/// The family of a model id: its leading letters (`resnet34_flatten` is a `resnet`).
pub(super) fn family(id: &str) -> String {
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
pub(super) fn natural_key(id: &str) -> Vec<(String, u128)> {
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
pub(super) const NAV_ALL: usize = 60;
