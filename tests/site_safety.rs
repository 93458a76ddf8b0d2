//! The output folder: what `build --out` may replace, the atomic swap, the
//! lock between builds, and leftovers of killed builds.

use std::process::{Command, Stdio};

mod common;
use common::{tree, Project};

const PAGE: &str =
    "+++\ntitle = \"Notes\"\n+++\nVGG-11 has {{ params(model=\"vgg11\") | num }} parameters.\n";

fn project(name: &str) -> Project {
    Project::new(&format!("safety-{name}"), &[("index.md", PAGE)])
}

#[test]
fn out_never_replaces_the_content_or_templates_folder() {
    let p = project("inputs");
    p.write("templates/extra.css", "p { color: red }\n");
    let content = tree(&p.root.join("content"));
    for (out, how, what) in [
        ("content", "is or contains", "content"),
        ("templates", "is or contains", "templates"),
        ("content/site", "lies inside", "content"),
        (".", "", ""),
    ] {
        let (code, err) = p.build(&["--out", out]);
        assert_eq!(code, 1, "--out {out}: {err}");
        if how.is_empty() {
            assert_eq!(
                err,
                "error: output folder `.` needs a plain name as its last part\n"
            );
        } else {
            assert_eq!(
                err,
                format!("error: refusing to write the site into `{out}`: it {how} `{what}`, which the build reads\n  = hint: choose another --out, e.g. `--out site`\n")
            );
        }
    }
    // A folder that holds the content, named from outside.
    let parent = p.root.file_name().unwrap().to_str().unwrap().to_string();
    let (code, err) = p.build(&["--out", &format!("../{parent}"), "--force"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("it is or contains `content`"), "{err}");
    assert_eq!(tree(&p.root.join("content")), content, "content untouched");
    assert!(p.root.join("templates/extra.css").is_file());
}

#[test]
fn out_replaces_only_an_empty_folder_or_a_previous_site_unless_forced() {
    let p = project("foreign");
    p.write("thesis/thesis.tex", "\\documentclass{article}\n");
    p.write("thesis/.ssh/id_rsa", "secret\n");
    let (code, err) = p.build(&["--out", "thesis"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: refusing to replace `thesis`: it is not empty and holds no `.netledger-site` file, so it is not a site that netledger wrote\n  = hint: pick an empty or new folder, or pass --force to delete its contents and write the site there\n"
    );
    assert!(p.root.join("thesis/thesis.tex").is_file());
    assert!(p.root.join("thesis/.ssh/id_rsa").is_file());

    std::fs::create_dir_all(p.root.join("empty")).unwrap();
    let (code, err) = p.build(&["--out", "empty"]);
    assert_eq!(code, 0, "{err}");
    assert!(p.root.join("empty/.netledger-site").is_file());
    // A previous site is recognised by its marker and replaced.
    let (code, err) = p.build(&["--out", "empty"]);
    assert_eq!(code, 0, "{err}");

    let (code, err) = p.build(&["--out", "thesis", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(!p.root.join("thesis/thesis.tex").exists());
    assert!(p.root.join("thesis/index.html").is_file());

    p.write("afile", "x");
    let (code, err) = p.build(&["--out", "afile"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: refusing to replace `afile`: it is a file, not a folder\n"
    );
}

#[test]
fn leftovers_of_killed_builds_are_removed_but_foreign_folders_kept() {
    let p = project("stale");
    p.write(".site.building-4000001/.netledger-site", "");
    p.write(".site.building-4000001/index.html", "half");
    p.write(".site.previous-4000002/.netledger-site", "");
    std::fs::create_dir_all(p.root.join(".site.building-4000003")).unwrap();
    p.write(".site.building-4000004/notes.txt", "not ours");
    p.write(".site.building-x/.netledger-site", "");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let mut left: Vec<String> = std::fs::read_dir(&p.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".site.building-4000004",
            ".site.building-x",
            "content",
            "site"
        ]
    );
}

#[test]
fn concurrent_builds_take_turns_and_both_succeed() {
    let p = project("concurrent");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_netledger"))
            .arg("build")
            .current_dir(&p.root)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..4).map(|_| spawn()).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names: Vec<String> = std::fs::read_dir(&p.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "temporary folders left: {names:?}");
}

/// Kills builds at spread-out moments: `site/` is always a complete site, old or new.
#[test]
fn a_kill_at_any_moment_leaves_a_complete_site() {
    let p = project("kill");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let good = tree(&p.site());
    let started = std::time::Instant::now();
    let (code, _) = p.build(&[]);
    assert_eq!(code, 0);
    let full = started.elapsed();
    for i in 0..24u32 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_netledger"))
            .arg("build")
            .current_dir(&p.root)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * i / 20);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(tree(&p.site()), good, "after a kill at step {i}");
    }
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = std::fs::read_dir(&p.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "leftovers not cleaned: {names:?}");
}

#[cfg(unix)]
#[test]
fn a_rebuild_links_the_files_it_would_write_unchanged_and_writes_the_rest() {
    use std::os::unix::fs::MetadataExt;
    let p = project("reuse");
    let (code, err) = p.build(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(" KB, 0 unchanged) in "), "{err}");
    let inode = |rel: &str| std::fs::metadata(p.site().join(rel)).unwrap().ino();
    let (css, index) = (inode("style.css"), inode("index.html"));
    // A stranger's file hard-linked into the site must not be carried over:
    // the next site gets its own copy, and the stranger's file keeps its bytes.
    let outside = p.root.join("mine.js");
    std::fs::hard_link(p.site().join("search.js"), &outside).unwrap();
    let js = std::fs::read(&outside).unwrap();

    p.write(
        "content/index.md",
        &PAGE.replace("VGG-11 has", "VGG-11 holds"),
    );
    let (code, err) = p.build(&["-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("  site/style.css ("), "{err}");
    assert!(err.contains(" B, unchanged)\n"), "{err}");
    let listed = |rel: &str| {
        err.lines()
            .find(|l| l.starts_with(&format!("  site/{rel} (")))
            .unwrap()
            .to_string()
    };
    assert!(listed("style.css").ends_with(", unchanged)"), "{err}");
    assert!(!listed("index.html").contains("unchanged"), "{err}");
    assert!(!listed("search.js").contains("unchanged"), "{err}");
    let changed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("  site/") && !l.ends_with(", unchanged)"))
        .map(|l| l.split(' ').nth(2).unwrap())
        .collect();
    assert_eq!(
        changed,
        ["site/index.html", "site/search-index.js", "site/search.js"]
    );
    let files = tree(&p.site());
    let summary = err.lines().last().unwrap();
    assert!(
        summary.contains(&format!(" KB, {} unchanged) in ", files.len() - 1 - 3)),
        "{summary}"
    );
    assert_eq!(
        inode("style.css"),
        css,
        "unchanged: linked from the old site"
    );
    assert_ne!(inode("index.html"), index, "changed: written anew");
    assert!(String::from_utf8_lossy(&files["index.html"]).contains("VGG-11 holds"));
    assert_ne!(
        inode("search.js"),
        std::fs::metadata(&outside).unwrap().ino()
    );
    assert_eq!(std::fs::read(&outside).unwrap(), js);
    assert_eq!(std::fs::metadata(&outside).unwrap().nlink(), 1);
    assert_eq!(std::fs::read(p.site().join("search.js")).unwrap(), js);
}
