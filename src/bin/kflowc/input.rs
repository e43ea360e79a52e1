//! Finding and reading the files to check.
//!
//! Problems here (a missing path, an unreadable directory, bytes that are not
//! UTF-8) are not diagnostics about kflow code: they are reported on stderr as
//! [`InputError`]s and make the run exit with 2, but never stop it.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use kflow::SourceFile;
use kflow::source::{LineCol, LineIndex, MAX_SOURCE_LEN};

/// One thing to check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file named on the command line or found in a directory.
    File(PathBuf),
}

/// Why an input could not be checked; its `Display` is the whole message.
#[derive(Debug)]
pub(crate) enum InputError {
    /// The path could not be inspected or read.
    Io { path: String, error: io::Error },
    /// A directory could not be listed.
    Directory { path: String, error: io::Error },
    /// The bytes are not UTF-8.
    NotUtf8 {
        path: String,
        offset: usize,
        /// Line and column of the offset, unless the file is too large to index.
        at: Option<LineCol>,
    },
    /// The file is too large for kflow's byte offsets.
    TooLarge { path: String, reason: String },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io { path, error } => write!(f, "cannot read {path}: {error}"),
            InputError::Directory { path, error } => {
                write!(f, "cannot read directory {path}: {error}")
            }
            InputError::NotUtf8 { path, offset, at } => {
                write!(
                    f,
                    "{path} is not valid UTF-8: first invalid byte at offset {offset}"
                )?;
                if let Some(at) = at {
                    write!(f, " (line {}, column {})", at.line, at.column)?;
                }
                f.write_str("; kflow files must be UTF-8")
            }
            InputError::TooLarge { path, reason } => write!(f, "cannot check {path}: {reason}"),
        }
    }
}

/// A display name for a path, as reports show it.
pub(crate) fn display_name(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Expands the command line's paths into inputs, in order: each path as
/// given, directories replaced by the `*.kflow` files under them in sorted
/// order. An input found twice is checked once. Returns the inputs and the
/// problems met while listing directories.
pub(crate) fn collect(paths: &[PathBuf]) -> (Vec<Input>, Vec<InputError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if is_stdin(path) {
            inputs.push(Input::Stdin);
            continue;
        }
        // Follows a symlink named on the command line: the user asked for it.
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut inputs, &mut errors),
            Ok(_) => inputs.push(Input::File(path.clone())),
            Err(error) => errors.push(InputError::Io {
                path: display_name(path),
                error,
            }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    inputs.retain(|input| seen.insert(input.clone()));
    (inputs, errors)
}

fn is_kflow(path: &Path) -> bool {
    path.extension() == Some(OsStr::new("kflow"))
}

/// Appends the `*.kflow` files under `dir`, depth first in file-name order.
/// Symlinked directories are not entered; symlinked files are checked.
/// Entries that cannot be inspected are reported and skipped.
fn walk(dir: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<InputError>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push(InputError::Directory {
                path: display_name(dir),
                error,
            });
            return;
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.file_name(), e.path(), e.file_type()?))) {
            Ok(found_entry) => found.push(found_entry),
            Err(error) => errors.push(InputError::Directory {
                path: display_name(dir),
                error,
            }),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, path, file_type) in found {
        if file_type.is_dir() {
            walk(&path, inputs, errors);
        } else if is_kflow(&path)
            && (file_type.is_file() || (file_type.is_symlink() && !path.is_dir()))
        {
            // A broken symlink is kept, so reading it reports the problem;
            // FIFOs, sockets and devices found while walking are skipped.
            inputs.push(Input::File(path));
        }
    }
}

/// The one file a command such as `build` or `graph` takes, read: `-` is
/// standard input. An unreadable file is reported on stderr here.
pub(crate) fn load_one(path: &Path, stdin_name: &str) -> Result<(Input, SourceFile), ()> {
    let input = if is_stdin(path) {
        Input::Stdin
    } else {
        Input::File(path.to_path_buf())
    };
    match load(&input, stdin_name) {
        Ok(file) => Ok((input, file)),
        Err(error) => {
            eprintln!("error: {error}");
            Err(())
        }
    }
}

/// Reads an input into a source file named as reports should show it.
pub(crate) fn load(input: &Input, stdin_name: &str) -> Result<SourceFile, InputError> {
    let (name, bytes) = match input {
        Input::Stdin => {
            let mut bytes = Vec::new();
            match io::stdin().lock().read_to_end(&mut bytes) {
                Ok(_) => (stdin_name.to_owned(), bytes),
                Err(error) => {
                    return Err(InputError::Io {
                        path: stdin_name.to_owned(),
                        error,
                    });
                }
            }
        }
        Input::File(path) => {
            let name = display_name(path);
            match fs::read(path) {
                Ok(bytes) => (name, bytes),
                Err(error) => return Err(InputError::Io { path: name, error }),
            }
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let at = e
                .as_bytes()
                .get(..offset)
                .and_then(|valid| std::str::from_utf8(valid).ok())
                .filter(|valid| valid.len() <= MAX_SOURCE_LEN)
                .map(|valid| LineIndex::new(valid).line_col(valid, valid.len() as u32));
            return Err(InputError::NotUtf8 {
                path: name,
                offset,
                at,
            });
        }
    };
    SourceFile::new(name.as_str(), text).map_err(|e| InputError::TooLarge {
        path: name,
        reason: e.to_string(),
    })
}
