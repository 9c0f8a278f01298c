//! How a second terminal finds the running sandbox: `hookbot run --sandbox` writes where its
//! stand-in's control API listens, and the token it takes, into a file beside the database
//! (`data/db-sandbox.stand-in`, readable by its owner only), and removes it at stop;
//! `hookbot sandbox …` reads it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFile {
    /// `http://127.0.0.1:PORT/control`.
    pub control_url: String,
    /// The stand-in's bot token, which its control API asks for.
    pub token: String,
}

/// `data/db-sandbox` → `data/db-sandbox.stand-in`.
pub fn path(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "db".into());
    name.push(".stand-in");
    database.with_file_name(name)
}

/// Writes the file for `database`, readable and writable by its owner only.
pub fn write(database: &Path, control: &ControlFile) -> std::io::Result<()> {
    let path = path(database);
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(serde_json::to_string(control)?.as_bytes())
}

/// Removes the file; a missing one is fine.
pub fn remove(database: &Path) {
    let _ = std::fs::remove_file(path(database));
}

/// Reads the file, or says how to get one.
pub fn read(database: &Path) -> Result<ControlFile, String> {
    let path = path(database);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "no sandbox is running here ({} is missing): start `hookbot run --sandbox` in another terminal first",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|error| {
        format!(
            "{} is damaged ({error}); restart `hookbot run --sandbox`",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_for_the_owner_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = dir.path().join("db-sandbox");
        assert!(read(&database)
            .unwrap_err()
            .contains("hookbot run --sandbox"));
        let control = ControlFile {
            control_url: "http://127.0.0.1:1/control".into(),
            token: "t".into(),
        };
        write(&database, &control).expect("written");
        assert_eq!(read(&database), Ok(control.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(&database))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        write(&database, &control).expect("written again over a stale one");
        remove(&database);
        assert!(read(&database).is_err());
    }
}
