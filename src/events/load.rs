//! Loading every event file of a folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::model::Event;
use super::parse::parse_event_located;
use super::trigger::TriggerKind;
use crate::problem::Problem;

/// The events that loaded, the problems of those that did not (and of the folder), and the
/// warnings of every file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedEvents {
    /// In file-name order.
    pub events: Vec<Event>,
    /// Errors, in file-name order, then in file order.
    pub problems: Vec<Problem>,
    /// Things that look wrong but do not stop a file from loading (`{loop.index}` outside a
    /// loop…), of loaded and failed files alike; in file-name order, then in file order. Each
    /// shows as `FILE:LINE:COL: warning: message`.
    pub warnings: Vec<Problem>,
}

/// Loads every `*.toml` file directly in `dir`, in file-name order. A file with any problem is
/// left out whole; when two files use one id, the first keeps it.
pub fn load_dir(dir: &Path) -> LoadedEvents {
    let mut loaded = LoadedEvents::default();
    let files = match event_files(dir) {
        Ok(files) => files,
        Err(problem) => {
            loaded.problems.push(problem);
            return loaded;
        }
    };
    // Where each id was first seen, as FILE:LINE:COL.
    let mut first_use: HashMap<String, String> = HashMap::new();
    // The buttons of each loaded event, by its index in `loaded.events`.
    let mut buttons: Vec<Buttons> = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) => {
                loaded.problems.push(Problem::at_start(
                    &file,
                    format!("cannot read event file: {error}"),
                ));
                continue;
            }
        };
        let (located, warnings) = parse_event_located(&file, &text);
        loaded.warnings.extend(warnings);
        match located {
            Ok(located) => {
                if let Some(first) = first_use.get(&located.event.id) {
                    let (line, col) = located.id_position;
                    loaded.problems.push(Problem::new(
                        &file,
                        line,
                        col,
                        format!(
                            "duplicate id {:?}: already used by {first}",
                            located.event.id
                        ),
                    ));
                    continue;
                }
                first_use.insert(located.event.id.clone(), located.id_location);
                if !located.button_events.is_empty() {
                    buttons.push((loaded.events.len(), file.clone(), located.button_events));
                }
                loaded.events.push(located.event);
            }
            Err(problems) => loaded.problems.extend(problems),
        }
    }
    check_buttons(&mut loaded, buttons);
    loaded
}

/// A loaded event's index in [`LoadedEvents::events`], its file, and each of its buttons'
/// `event` with the line and column where it is written.
type Buttons = (usize, PathBuf, Vec<(String, (usize, usize))>);

/// Every button must name a `button` event of its own event's server: a click on any other
/// would start nothing. An event whose buttons do not is left out, like any file with a problem.
fn check_buttons(loaded: &mut LoadedEvents, buttons: Vec<Buttons>) {
    let targets: HashMap<&str, (TriggerKind, u64)> = loaded
        .events
        .iter()
        .map(|event| (event.id.as_str(), (event.trigger.kind(), event.server)))
        .collect();
    let mut broken = Vec::new();
    for (index, file, names) in buttons {
        let server = loaded.events[index].server;
        let mut problems = Vec::new();
        for (name, (line, col)) in names {
            let message = match targets.get(name.as_str()) {
                None => format!(
                    "button.event {name:?} names no loaded event; give it the id of an event \
                     whose [trigger] type is \"button\""
                ),
                Some((kind, _)) if *kind != TriggerKind::Button => format!(
                    "button.event {name:?} is a {kind} event; a button runs an event whose \
                     [trigger] type is \"button\""
                ),
                Some((_, other)) if *other != server => format!(
                    "button.event {name:?} runs in server {other}, but this event runs in server \
                     {server}; a button runs an event of its own server"
                ),
                Some(_) => continue,
            };
            problems.push(Problem::new(&file, line, col, message));
        }
        if !problems.is_empty() {
            broken.push(index);
            loaded.problems.extend(problems);
        }
    }
    for index in broken.into_iter().rev() {
        loaded.events.remove(index);
    }
    loaded.problems.sort_by(|a, b| {
        a.file
            .cmp(&b.file)
            .then((a.line, a.col).cmp(&(b.line, b.col)))
    });
}

/// The `*.toml` files directly in `dir`, sorted by file name.
fn event_files(dir: &Path) -> Result<Vec<PathBuf>, Problem> {
    let entries = std::fs::read_dir(dir).map_err(|error| {
        let message = if error.kind() == std::io::ErrorKind::NotFound {
            "events folder not found; create it or set events.dir in the config".to_owned()
        } else {
            format!("cannot read events folder: {error}")
        };
        Problem::at_start(dir, message)
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| {
            Problem::at_start(dir, format!("cannot read events folder: {error}"))
        })?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Dot files are editors' lock and swap files, not events.
        let is_event_name = name.ends_with(".toml") && !name.starts_with('.');
        // `metadata` follows symlinks, so a link to an event file counts as one.
        let is_dir = std::fs::metadata(&path).is_ok_and(|meta| meta.is_dir());
        if is_event_name && !is_dir {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_text(id: &str) -> String {
        format!("id = \"{id}\"\nserver = \"1\"\n")
    }

    #[test]
    fn loads_toml_files_in_name_order_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.toml"), event_text("b")).unwrap();
        std::fs::write(dir.path().join("a.toml"), event_text("a")).unwrap();
        std::fs::write(dir.path().join("c.toml.bak"), event_text("bak")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not an event").unwrap();
        std::fs::write(dir.path().join(".#a.toml"), "editor lock").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/d.toml"), event_text("d")).unwrap();
        std::fs::create_dir(dir.path().join("folder.toml")).unwrap();

        let loaded = load_dir(dir.path());
        assert_eq!(loaded.problems, []);
        let ids: Vec<&str> = loaded.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(
            loaded.events[0].file,
            dir.path().join("a.toml").display().to_string()
        );
    }

    #[test]
    fn duplicate_ids_keep_the_first_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.toml"), event_text("same")).unwrap();
        std::fs::write(
            dir.path().join("2.toml"),
            format!("# later\n{}", event_text("same")),
        )
        .unwrap();
        std::fs::write(dir.path().join("3.toml"), event_text("other")).unwrap();

        let loaded = load_dir(dir.path());
        let ids: Vec<&str> = loaded.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["same", "other"]);
        assert!(loaded.events[0].file.ends_with("1.toml"));
        let first = dir.path().join("1.toml");
        let second = dir.path().join("2.toml");
        assert_eq!(
            loaded
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [format!(
                "{}:2:6: duplicate id \"same\": already used by {}:1:6",
                second.display(),
                first.display()
            )]
        );
    }

    #[test]
    fn a_bad_file_is_left_out_and_the_rest_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "id = \"x\"\nserver = \"no\"\nx = 1\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("good.toml"), event_text("good")).unwrap();
        std::fs::write(dir.path().join("latin1.toml"), b"id = \"\xe9\"\n").unwrap();

        let loaded = load_dir(dir.path());
        assert_eq!(loaded.events.len(), 1);
        let shown: Vec<String> = loaded.problems.iter().map(ToString::to_string).collect();
        let bad = dir.path().join("bad.toml").display().to_string();
        assert_eq!(
            shown[0],
            format!("{bad}:2:10: server must be a Discord server id (digits), got \"no\"")
        );
        assert!(
            shown[1].starts_with(&format!("{bad}:3:1: unknown key \"x\"")),
            "{}",
            shown[1]
        );
        let latin1 = dir.path().join("latin1.toml").display().to_string();
        assert!(
            shown[2].starts_with(&format!("{latin1}:1:1: cannot read event file: ")),
            "{}",
            shown[2]
        );
        assert_eq!(shown.len(), 3);
    }

    #[test]
    fn a_button_names_a_button_event_of_its_server() {
        let dir = tempfile::tempdir().unwrap();
        let sender = |id: &str, target: &str| {
            format!(
                "id = \"{id}\"\nserver = \"1\"\n[[actions]]\ntype = \"send_message\"\n\
                 channel = \"1\"\ncontent = \"?\"\n[[actions.buttons]]\nlabel = \"Go\"\n\
                 event = \"{target}\"\n"
            )
        };
        let target = |id: &str, server: u64, kind: &str| {
            format!("id = \"{id}\"\nserver = \"{server}\"\n[trigger]\ntype = \"{kind}\"\n")
        };
        std::fs::write(dir.path().join("a.toml"), sender("a", "approve")).unwrap();
        std::fs::write(dir.path().join("b.toml"), sender("b", "join")).unwrap();
        std::fs::write(dir.path().join("c.toml"), sender("c", "elsewhere")).unwrap();
        std::fs::write(dir.path().join("d.toml"), sender("d", "nowhere")).unwrap();
        std::fs::write(dir.path().join("t1.toml"), target("approve", 1, "button")).unwrap();
        std::fs::write(dir.path().join("t2.toml"), target("join", 1, "member_join")).unwrap();
        std::fs::write(dir.path().join("t3.toml"), target("elsewhere", 2, "button")).unwrap();

        let loaded = load_dir(dir.path());
        let ids: Vec<&str> = loaded.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "approve", "join", "elsewhere"]);
        let shown: Vec<String> = loaded
            .problems
            .iter()
            .map(|p| {
                p.to_string()
                    .replace(&format!("{}/", dir.path().display()), "")
            })
            .collect();
        assert_eq!(
            shown,
            [
                "b.toml:9:9: button.event \"join\" is a member_join event; a button runs an event whose [trigger] type is \"button\"",
                "c.toml:9:9: button.event \"elsewhere\" runs in server 2, but this event runs in server 1; a button runs an event of its own server",
                "d.toml:9:9: button.event \"nowhere\" names no loaded event; give it the id of an event whose [trigger] type is \"button\"",
            ]
        );
    }

    #[test]
    fn a_missing_folder_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let loaded = load_dir(&missing);
        assert!(loaded.events.is_empty());
        assert_eq!(
            loaded
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [format!(
                "{}:1:1: events folder not found; create it or set events.dir in the config",
                missing.display()
            )]
        );
    }
}
