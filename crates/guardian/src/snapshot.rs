//! The snapshot loader of `guardian scan --snapshot DIR` (architecture.md "Snapshot format").
//!
//! Reads `DIR` recursively:
//! - every `*.json`, `*.yaml`, `*.yml` file holds one Kubernetes object, a `List` (as
//!   printed by `kubectl get … -o yaml|json`), a stream of JSON objects, or a multi-document
//!   YAML stream; kinds the detectors do not read are ignored;
//! - the layout of `kubectl cluster-info dump --output-directory DIR` works as is: its Lists
//!   (`DIR/<namespace>/pods.json`, `events.json`, …) and its pod logs at
//!   `DIR/<namespace>/<pod>/logs.txt` (also `…/<pod>/<container>/logs.txt`);
//! - logs may also be given as `logs/<namespace>/<pod>/<container>.log` and
//!   `…/<container>.previous.log` (the crashed instance, `kubectl logs --previous`).
//!
//! Every kind found is treated as listed cluster-wide (a dump is complete for what it holds):
//! an event about a pod that is not in a snapshot holding pods is about a deleted pod.
//!
//! A file that cannot be parsed is an error naming the file: silently skipping part of a
//! snapshot would make a broken cluster look healthy.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use guardian_core::detect::Snapshot;
use guardian_core::detect::snapshot::{MAX_LOG_BYTES, Scope};
use serde::Deserialize;
use serde_json::Value;

/// Deepest directory nesting followed (a symlink loop must not hang the scan).
const MAX_DEPTH: usize = 32;

/// Loader failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The directory is missing or unreadable.
    #[error("unable to read the snapshot directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The path is not a directory.
    #[error("the snapshot path {0} is not a directory")]
    NotADirectory(PathBuf),
    /// A file could not be read.
    #[error("unable to read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid JSON/YAML.
    #[error("unable to parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Nothing the detectors read was found.
    #[error(
        "no Kubernetes objects found under {0} (expected *.json / *.yaml files holding objects or Lists)"
    )]
    Empty(PathBuf),
}

/// A loaded snapshot.
#[derive(Debug)]
pub struct Loaded {
    /// The objects and logs.
    pub snapshot: Snapshot,
    /// Object files read.
    pub files: usize,
    /// Log files attached.
    pub logs: usize,
    /// Documents skipped (not Kubernetes objects, or malformed objects), one line each.
    pub skipped: Vec<String>,
}

/// Loads a snapshot directory. See the module docs.
pub fn load(dir: &Path) -> Result<Loaded, Error> {
    let meta = std::fs::metadata(dir).map_err(|source| Error::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory(dir.to_path_buf()));
    }
    let mut object_files = Vec::new();
    let mut log_files = Vec::new();
    walk(dir, 0, &mut object_files, &mut log_files)?;
    let mut loaded = Loaded {
        snapshot: Snapshot::new(),
        files: 0,
        logs: 0,
        skipped: Vec::new(),
    };
    for path in &object_files {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        for value in documents(path, &text)? {
            match loaded.snapshot.insert(value) {
                Ok(kinds) => {
                    for kind in kinds {
                        loaded.snapshot.mark_listed(&kind, Scope::Cluster);
                    }
                }
                Err(e) => loaded.skipped.push(format!("{}: {e}", path.display())),
            }
        }
        loaded.files += 1;
    }
    if loaded.snapshot.object_count() == 0 {
        return Err(Error::Empty(dir.to_path_buf()));
    }
    // Logs after objects: the dump layout is only unambiguous once the pods are known.
    for path in &log_files {
        let Some((ns, pod, container, previous)) = log_target(dir, path, &loaded.snapshot) else {
            loaded.skipped.push(format!(
                "{}: not a recognised log location (logs/<namespace>/<pod>/<container>.log or <namespace>/<pod>/logs.txt)",
                path.display()
            ));
            continue;
        };
        let text = read_tail(path)?;
        loaded
            .snapshot
            .add_log(&ns, &pod, container.as_deref(), previous, &text);
        loaded.logs += 1;
    }
    Ok(loaded)
}

fn walk(
    dir: &Path,
    depth: usize,
    objects: &mut Vec<PathBuf>,
    logs: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        paths.push(entry.path());
    }
    // Sorted: later files override earlier duplicates deterministically.
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, depth + 1, objects, logs)?;
        } else if name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml") {
            objects.push(path);
        } else if name == "logs.txt" || name.ends_with(".log") {
            logs.push(path);
        }
    }
    Ok(())
}

/// The documents of one file: a JSON value stream or a multi-document YAML stream.
fn documents(path: &Path, text: &str) -> Result<Vec<Value>, Error> {
    let parse_error = |message: String| Error::Parse {
        path: path.to_path_buf(),
        message,
    };
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e == "json") {
        for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            out.push(value.map_err(|e| parse_error(e.to_string()))?);
        }
    } else {
        for document in yaml_serde::Deserializer::from_str(text) {
            let value = Value::deserialize(document).map_err(|e| parse_error(e.to_string()))?;
            if !value.is_null() {
                out.push(value);
            }
        }
    }
    Ok(out)
}

/// Which pod and container a log file belongs to: `(namespace, pod, container, previous)`.
fn log_target(
    root: &Path,
    path: &Path,
    snapshot: &Snapshot,
) -> Option<(String, String, Option<String>, bool)> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
    let n = parts.len();
    let file = *parts.last()?;
    if file == "logs.txt" {
        // `<ns>/<pod>/logs.txt`, or `<ns>/<pod>/<container>/logs.txt`.
        if n >= 3 {
            let (ns, pod) = (parts[n - 3], parts[n - 2]);
            if snapshot.pod(ns, pod).is_some() || n < 4 {
                return Some((ns.into(), pod.into(), None, false));
            }
        }
        if n >= 4 {
            let (ns, pod, container) = (parts[n - 4], parts[n - 3], parts[n - 2]);
            if snapshot.pod(ns, pod).is_some() {
                return Some((ns.into(), pod.into(), Some(container.into()), false));
            }
            return Some((parts[n - 3].into(), parts[n - 2].into(), None, false));
        }
        return None;
    }
    if n < 3 {
        return None;
    }
    let (ns, pod) = (parts[n - 3], parts[n - 2]);
    let (container, previous) = match file.strip_suffix(".previous.log") {
        Some(c) => (c, true),
        None => (file.strip_suffix(".log")?, false),
    };
    Some((ns.into(), pod.into(), Some(container.into()), previous))
}

/// The tail of a log file (at most [`MAX_LOG_BYTES`]), lossily decoded.
fn read_tail(path: &Path) -> Result<String, Error> {
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    let max = u64::try_from(MAX_LOG_BYTES).unwrap_or(u64::MAX);
    if len > max {
        file.seek(SeekFrom::Start(len - max)).map_err(read_error)?;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_error)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_lists_streams_and_both_log_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "shop/pods.json",
            r#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"api-1","namespace":"shop","creationTimestamp":"2026-03-01T10:00:00Z"}}]}"#,
        );
        write(d, "shop/events.json", r#"{"kind":"EventList","items":[]}"#);
        write(
            d,
            "nodes.yaml",
            "kind: Node\nmetadata:\n  name: n1\n---\n---\nkind: ConfigMap\nmetadata:\n  name: x\n",
        );
        write(d, "shop/api-1/logs.txt", "hello\n");
        write(d, "logs/shop/api-1/app.previous.log", "ENOSPC\n");
        write(d, "README.md", "not parsed");
        let loaded = load(d).unwrap();
        assert_eq!(loaded.files, 3);
        assert_eq!(loaded.logs, 2);
        let s = &loaded.snapshot;
        assert!(s.pod("shop", "api-1").is_some());
        assert!(s.node("n1").is_some());
        assert!(s.listed("Event").is_some());
        let logs = s.logs("shop", "api-1");
        assert!(logs.iter().any(|l| l.container.is_none() && !l.previous));
        assert!(
            logs.iter()
                .any(|l| l.container.as_deref() == Some("app") && l.previous)
        );
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load(dir.path()), Err(Error::Empty(_))));
        assert!(matches!(
            load(&dir.path().join("missing")),
            Err(Error::Dir { .. })
        ));
        write(dir.path(), "broken.json", "{\"kind\": ");
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("broken.json"), "{err}");
    }
}
