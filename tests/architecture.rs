//! The rules of the house (docs/architecture.md), checked on the source tree: a module map that
//! lists every module, a `//!` line atop each, no file over 700 lines, and each outside crate
//! (sled, serenity's HTTP client, axum) named only by the modules that own it.
//! Import circles are checked by `.ci/import_cycles.py`, which `.ci/run` runs.

use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 700;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file below `dir`, as paths relative to the repository root with `/` separators.
fn rust_files(dir: &str) -> Vec<String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&root().join(dir), &mut found);
    let mut files: Vec<String> = found
        .iter()
        .map(|path| {
            let relative = path.strip_prefix(root()).unwrap();
            relative.to_string_lossy().replace('\\', "/")
        })
        .collect();
    files.sort();
    files
}

fn source_files() -> Vec<String> {
    let mut files = rust_files("src");
    for entry in fs::read_dir(root().join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        files.extend(rust_files(&format!("crates/{name}/src")));
    }
    files
}

fn read(file: &str) -> String {
    fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("reading {file}: {e}"))
}

/// `(line number, code)` for each line, with `//` comments (doc comments included) cut off, so
/// prose may name what code may not.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            let code = match line.find("//") {
                Some(at) => &line[..at],
                None => line,
            };
            (index + 1, code)
        })
        .filter(|(_, code)| !code.trim().is_empty())
        .collect()
}

/// Each line of code outside `allowed` (path prefixes) that `names` says names the thing.
fn named_outside(allowed: &[&str], names: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files("src") {
        if allowed.iter().any(|prefix| file.starts_with(prefix)) {
            continue;
        }
        for (number, code) in code_lines(&read(&file)) {
            if names(code) {
                found.push(format!("{file}:{number}: {}", code.trim()));
            }
        }
    }
    found
}

/// `code` with the insides of its string literals blanked out.
fn without_strings(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in code.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, c) => out.push(c),
        }
    }
    out
}

fn word(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let is_ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !is_ident(before) && !is_ident(after)
    })
}

#[test]
fn every_module_opens_with_what_it_owns() {
    let missing: Vec<String> = source_files()
        .into_iter()
        .filter(|file| !read(file).starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "these modules do not open with a `//!` line saying what they own: {missing:#?}"
    );
}

#[test]
fn the_module_map_lists_every_module() {
    let map = read("docs/architecture.md");
    let unlisted: Vec<String> = rust_files("src")
        .into_iter()
        .filter(|file| !map.contains(&format!("`{file}`")))
        .collect();
    assert!(
        unlisted.is_empty(),
        "docs/architecture.md has no line for these modules: {unlisted:#?}"
    );
    for listed in map.split('`').skip(1).step_by(2) {
        if listed.starts_with("src/") && listed.ends_with(".rs") {
            assert!(
                root().join(listed).is_file(),
                "docs/architecture.md lists {listed}, which does not exist"
            );
        }
    }
}

#[test]
fn no_file_is_longer_than_700_lines() {
    let long: Vec<String> = source_files()
        .into_iter()
        .filter_map(|file| {
            let lines = read(&file).lines().count();
            (lines > MAX_LINES).then(|| format!("{file}: {lines} lines"))
        })
        .collect();
    assert!(long.is_empty(), "split these along their seams: {long:#?}");
}

#[test]
fn sled_is_named_only_by_the_sled_engine() {
    // The crate, not the word: `storage.engine = "sled"` names the engine in the config.
    let outside_engine = named_outside(&["src/engine/"], |code| {
        word(&without_strings(code), "sled")
    });
    assert!(outside_engine.is_empty(), "{outside_engine:#?}");
    // engine/mod.rs picks its engine by name; only engine/sled/ touches the crate itself (the
    // behaviour suite, engine/tests/, runs each test on a `sled()` subject).
    let in_engine = named_outside(&["src/engine/sled/", "src/engine/tests/"], |code| {
        word(&without_strings(code), "sled")
            && !code.contains("mod sled;")
            && !code.contains("sled::SledEngine")
    });
    assert!(in_engine.is_empty(), "{in_engine:#?}");
}

#[test]
fn the_postgres_client_is_named_only_by_the_postgres_engine() {
    let found = named_outside(&["src/engine/postgres/", "src/engine/tests/"], |code| {
        word(code, "tokio_postgres") || word(code, "deadpool_postgres")
    });
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn serenity_http_is_called_only_by_the_discord_module() {
    let found = named_outside(&["src/discord/"], |code| {
        word(code, "Http") || word(code, "CacheHttp") || code.contains("serenity::http")
    });
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn axum_appears_only_in_the_http_modules() {
    let found = named_outside(&["src/http/", "src/admin/"], |code| word(code, "axum"));
    assert!(found.is_empty(), "{found:#?}");
}

/// The code a tokio worker may run: none of a file named `tests.rs` or under a `…tests` folder,
/// and a file's own lines up to its `#[cfg(test)]` module, which comes last.
fn production_code<'t>(file: &str, text: &'t str) -> &'t str {
    let is_test_file = file
        .split('/')
        .any(|part| part.ends_with("tests") || part.ends_with("tests.rs"));
    if is_test_file {
        return "";
    }
    text.split("#[cfg(test)]").next().unwrap_or("")
}

#[test]
fn only_main_blocks_on_a_future() {
    // Rendering and every other code a tokio worker runs awaits its reads: a future driven to
    // completion in place would stall the worker on an engine that waits on a server.
    let mut found = Vec::new();
    for file in rust_files("src") {
        if file == "src/main.rs" {
            continue;
        }
        let text = read(&file);
        for (number, code) in code_lines(production_code(&file, &text)) {
            if word(code, "block_on") {
                found.push(format!("{file}:{number}: {}", code.trim()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_event_model_and_the_language_are_plain_data_and_pure_functions() {
    let mut impure = Vec::new();
    for folder in ["src/events", "src/lang"] {
        for file in rust_files(folder) {
            for (number, code) in code_lines(&read(&file)) {
                // serenity's model types are data (permission names); its client is not.
                let serenity_client =
                    word(code, "serenity") && !code.contains("serenity::all::Permissions");
                let io = ["tokio", "sled", "axum", "reqwest", "hyper"]
                    .iter()
                    .any(|name| word(code, name));
                if serenity_client || io {
                    impure.push(format!("{file}:{number}: {}", code.trim()));
                }
            }
        }
    }
    assert!(impure.is_empty(), "{impure:#?}");
}
