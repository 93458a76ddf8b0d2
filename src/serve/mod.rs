//! `netledger serve`: build, then serve the site on loopback, rebuild when
//! content or templates change, and reload open pages.
//!
//! The files on disk stay exactly what `build` writes; the live-reload script
//! is added only to HTML responses. A failed rebuild keeps the last good site
//! and shows the error over the page until the next good build.

mod http;
mod watch;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::report::{self, BuildOptions};

/// What the reload script polls: a build counter and the last error.
#[derive(Debug, Default)]
pub struct Status {
    /// Incremented after every build attempt.
    pub version: u64,
    /// The last build's error, rendered, or empty.
    pub error: String,
    /// Each model's (params, MACs) after the last good build.
    pub counts: std::collections::BTreeMap<String, (u64, u64)>,
}

/// One line per model whose counts differ between two builds.
pub fn count_changes(
    before: &std::collections::BTreeMap<String, (u64, u64)>,
    after: &std::collections::BTreeMap<String, (u64, u64)>,
) -> Vec<String> {
    use crate::count::diff::delta;
    use crate::numfmt::thousands;
    let mut out = Vec::new();
    for (id, &(p, m)) in after {
        match before.get(id) {
            None => out.push(format!(
                "  {id}: new, {} params, {} MACs",
                thousands(p),
                thousands(m)
            )),
            Some(&(p0, m0)) if (p0, m0) != (p, m) => out.push(format!(
                "  {id}: params {} -> {} ({}), MACs {} -> {} ({})",
                thousands(p0),
                thousands(p),
                delta(p0, p),
                thousands(m0),
                thousands(m),
                delta(m0, m)
            )),
            Some(_) => {}
        }
    }
    for id in before.keys().filter(|id| !after.contains_key(*id)) {
        out.push(format!("  {id}: removed"));
    }
    out
}

/// Where to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// What to build.
    pub build: BuildOptions,
    /// Address to bind, e.g. `127.0.0.1:8000` (port 0 picks a free one).
    pub address: String,
    /// Whether a non-loopback address may be bound.
    pub allow_remote: bool,
    /// How often to look for changes.
    pub poll: Duration,
}

/// Most connections served at once; more get 503 at once.
pub const MAX_CONNECTIONS: usize = 32;

/// The addresses `address` names, refusing non-loopback ones unless allowed.
fn bind_addresses(address: &str, allow_remote: bool) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| Error::Usage(format!("--address `{address}`: {e}")))?
        .collect();
    let remote: Vec<String> = addrs
        .iter()
        .filter(|a| !a.ip().is_loopback())
        .map(ToString::to_string)
        .collect();
    if !remote.is_empty() && !allow_remote {
        return Err(Error::Usage(format!(
            "--address `{address}` is not loopback ({}): other machines could read the site and its build errors\n  = hint: use 127.0.0.1, or add --allow-remote if that is what you want",
            remote.join(", ")
        )));
    }
    Ok(addrs)
}

/// Builds once, then serves and rebuilds until the process is stopped.
pub fn serve(opts: &ServeOptions) -> Result<()> {
    let addrs = bind_addresses(&opts.address, opts.allow_remote)?;
    let status = Arc::new(Mutex::new(Status::default()));
    let watched = vec![opts.build.content.clone(), opts.build.templates.clone()];
    // Taken before the first build, so that no change after it starts is missed.
    let mut seen = watch::fingerprint(&watched);
    rebuild(&opts.build, &status);
    let listener =
        TcpListener::bind(&addrs[..]).map_err(|e| Error::io("listen on", &opts.address, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io("listen on", &opts.address, e))?;
    let hosts = http::HostPolicy {
        extra: (!local.ip().is_loopback()).then(|| local.ip().to_string()),
    };
    if hosts.extra.is_some() {
        eprintln!(
            "warning: serving on {local}, which is not loopback: anyone who can reach this address can read the site"
        );
    }
    eprintln!(
        "serving {} on http://{local}/ (Ctrl-C to stop)",
        opts.build.out.display()
    );

    let build = opts.build.clone();
    let poll = opts.poll;
    let watcher_status = status.clone();
    let spawned = std::thread::Builder::new()
        .name("netledger-rebuild".into())
        .stack_size(crate::WORK_STACK)
        .spawn(move || loop {
            std::thread::sleep(poll);
            let now = watch::fingerprint(&watched);
            if now != seen {
                seen = now;
                rebuild(&build, &watcher_status);
            }
        });
    spawned.map_err(|e| Error::io("start the rebuild thread for", &opts.build.content, e))?;

    let active = Arc::new(AtomicUsize::new(0));
    for mut stream in listener.incoming().flatten() {
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            http::busy(&mut stream);
            continue;
        }
        let slot = Slot(active.clone());
        let root = opts.build.out.clone();
        let status = status.clone();
        let hosts = hosts.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            let _slot = slot;
            http::handle(stream, &root, &status, &hosts);
        });
        // A thread that cannot start drops its closure, and with it the slot.
        drop(spawned);
    }
    Ok(())
}

/// One of the [`MAX_CONNECTIONS`] places, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock(status: &Mutex<Status>) -> std::sync::MutexGuard<'_, Status> {
    status
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn rebuild(opts: &BuildOptions, status: &Mutex<Status>) {
    let started = std::time::Instant::now();
    let result = report::build(opts);
    let mut s = lock(status);
    s.version += 1;
    match result {
        Ok(summary) => {
            s.error.clear();
            eprintln!(
                "built {} pages and {} model pages ({} of {} files changed) in {} ms",
                summary.pages,
                summary.models,
                summary.files - summary.unchanged.len(),
                summary.files,
                started.elapsed().as_millis()
            );
            if !s.counts.is_empty() {
                let changes = count_changes(&s.counts, &summary.counts);
                if !changes.is_empty() {
                    eprintln!("counts changed:\n{}", changes.join("\n"));
                }
            }
            s.counts = summary.counts.clone();
        }
        Err(e) => {
            eprint!("{}", e.render());
            s.error = e.render_within(&[&opts.content, &opts.templates]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_changes_name_each_model_that_moved() {
        let before = [
            ("a".to_string(), (10, 100)),
            ("b".to_string(), (5, 5)),
            ("c".to_string(), (1, 1)),
        ]
        .into();
        let after = [
            ("a".to_string(), (12, 90)),
            ("b".to_string(), (5, 5)),
            ("d".to_string(), (1000, 2000)),
        ]
        .into();
        assert_eq!(
            count_changes(&before, &after),
            [
                "  a: params 10 -> 12 (+2), MACs 100 -> 90 (-10)",
                "  d: new, 1,000 params, 2,000 MACs",
                "  c: removed",
            ]
        );
    }
}
