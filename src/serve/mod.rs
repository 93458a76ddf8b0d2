//! `netledger serve`: build, then serve the site on loopback, rebuild when
//! content or templates change, and reload open pages.
//!
//! The files on disk stay exactly what `build` writes; the live-reload script
//! is added only to HTML responses. A failed rebuild keeps the last good site
//! and shows the error over the page until the next good build.

mod http;
mod watch;

use std::net::TcpListener;
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
}

/// Where to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// What to build.
    pub build: BuildOptions,
    /// Address to bind, e.g. `127.0.0.1:8000` (port 0 picks a free one).
    pub address: String,
    /// How often to look for changes.
    pub poll: Duration,
}

/// Builds once, then serves and rebuilds until the process is stopped.
pub fn serve(opts: &ServeOptions) -> Result<()> {
    let status = Arc::new(Mutex::new(Status::default()));
    rebuild(&opts.build, &status);
    let listener =
        TcpListener::bind(&opts.address).map_err(|e| Error::io("listen on", &opts.address, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io("listen on", &opts.address, e))?;
    eprintln!(
        "serving {} on http://{local}/ (Ctrl-C to stop)",
        opts.build.out.display()
    );

    let watched = vec![opts.build.content.clone(), opts.build.templates.clone()];
    let build = opts.build.clone();
    let poll = opts.poll;
    let watcher_status = status.clone();
    let spawned = std::thread::Builder::new()
        .name("netledger-rebuild".into())
        .stack_size(crate::WORK_STACK)
        .spawn(move || {
            let mut seen = watch::fingerprint(&watched);
            loop {
                std::thread::sleep(poll);
                let now = watch::fingerprint(&watched);
                if now != seen {
                    seen = now;
                    rebuild(&build, &watcher_status);
                }
            }
        });
    spawned.map_err(|e| Error::io("start the rebuild thread for", &opts.build.content, e))?;

    for stream in listener.incoming().flatten() {
        let root = opts.build.out.clone();
        let status = status.clone();
        std::thread::spawn(move || http::handle(stream, &root, &status));
    }
    Ok(())
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
                "built {} pages and {} model pages in {} ms",
                summary.pages,
                summary.models,
                started.elapsed().as_millis()
            );
        }
        Err(e) => {
            s.error = e.render();
            eprint!("{}", s.error);
        }
    }
}
