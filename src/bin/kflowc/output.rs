//! Writing a result to a path (`kflowc build -o PATH`, `kflowc fmt FILE`):
//! what PATH is decides how.
//!
//! - **The file standard output already is** (`/dev/stdout`, `/dev/fd/1`,
//!   `/proc/self/fd/1`, or any name of the same file, pipe or terminal):
//!   written to standard output itself, so the bytes go where the shell sent
//!   them and at its offset: `-o /dev/stdout >> log` appends, as it should,
//!   where opening the name again would start a new write at offset 0.
//! - **A regular file, or a name where nothing is yet**: replaced atomically.
//!   The bytes go to a new temporary file in the same directory, which is
//!   synced and then renamed over the path, so readers see the old file or
//!   the whole new one, never a part. On failure the temporary file is
//!   removed and the path is untouched.
//! - **A symbolic link to a regular file** (or a chain of links): the link is
//!   resolved and the file at its real path is replaced atomically, in that
//!   file's directory. The link stays a link and reads the new content;
//!   renaming over the link itself would replace it with a regular file and
//!   leave what it pointed to stale. A link to nothing is followed to the
//!   missing name, and the file is created there (as `>` would), so the link
//!   stops dangling.
//! - **Anything else** (a FIFO, a character device such as `/dev/null` or a
//!   terminal, a link to one of those): opened for writing and written in
//!   place. Renaming over one would replace the device node or link with a
//!   regular file (as root) or fail, and whoever reads the pipe or device
//!   would get nothing. It is opened without `create` (it exists) and
//!   without `truncate`: `O_TRUNC` is ignored for a FIFO or a terminal and
//!   means nothing for a device, and if a regular file took the name between
//!   the look and the open, that is noticed and it is replaced atomically
//!   instead of being overwritten in place. Opening a FIFO waits for a
//!   reader, as a shell redirection does. A directory is refused by the open
//!   (`Is a directory`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// How many links a dangling chain may have before it counts as a loop (the
/// kernel's own limit for a path lookup).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path` as the module documentation describes.
pub(crate) fn write_to_path(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(metadata) if is_stdout(&metadata) => write_stdout(bytes),
        Ok(metadata) if metadata.is_file() => replace_regular(path, bytes),
        Ok(_) => write_in_place(path, bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            write_atomically(&dangling_target(path)?, bytes)
        }
        Err(error) => Err(error),
    }
}

/// Writes `bytes` to standard output and flushes it.
pub(crate) fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Whether `metadata` (of the output path, links followed) is the file this
/// process's standard output is open on.
#[cfg(unix)]
fn is_stdout(metadata: &fs::Metadata) -> bool {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() else {
        return false; // standard output is closed
    };
    File::from(fd)
        .metadata()
        .is_ok_and(|stdout| stdout.dev() == metadata.dev() && stdout.ino() == metadata.ino())
}

#[cfg(not(unix))]
fn is_stdout(_metadata: &fs::Metadata) -> bool {
    false
}

/// Replaces the regular file `path` names, through any symbolic links,
/// atomically at its real path.
fn replace_regular(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if fs::symlink_metadata(path)?.file_type().is_symlink() {
        write_atomically(&fs::canonicalize(path)?, bytes)
    } else {
        write_atomically(path, bytes)
    }
}

/// Writes `bytes` into the existing non-regular file `path` (a FIFO, a
/// device), without renaming anything.
fn write_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    if file.metadata()?.is_file() {
        // A regular file took the name since we looked: not ours to
        // overwrite in place.
        drop(file);
        return replace_regular(path, bytes);
    }
    file.write_all(bytes)?;
    file.flush()
}

/// Where a file created at `path`, which does not exist, should go: `path`
/// itself, or, when `path` is a symbolic link to nothing, the missing name at
/// the end of its chain of links (relative targets are taken from the link's
/// directory, as the kernel takes them).
fn dangling_target(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            // Nothing there (or something appeared since we looked, which
            // the atomic rename then replaces as it would any file).
            _ => return Ok(current),
        }
    }
    Err(io::Error::other(
        "too many levels of symbolic links in the output path",
    ))
}

/// Replaces `path` with `bytes` so that readers see the old file or the whole
/// new one, never a part: the bytes go to a new temporary file in the same
/// directory, which is synced and then renamed over `path`. On failure the
/// temporary file is removed and `path` is untouched.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the output path does not name a file",
        )
    })?;
    let pid = std::process::id();
    let mut attempt = 0u32;
    let (temp, mut file) = loop {
        let temp = dir.join(format!(".{}.{pid}.{attempt}.tmp", name.to_string_lossy()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => break (temp, file),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    };
    // A file being replaced keeps its permissions (`kflowc fmt` on an
    // executable or read-only-for-others file must not change them).
    let keep = fs::metadata(path)
        .ok()
        .map(|existing| existing.permissions());
    let written = keep
        .map_or(Ok(()), |permissions| file.set_permissions(permissions))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            fs::rename(&temp, path)
        });
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("kflowc-output-{}", std::process::id()))
            .join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    #[test]
    fn a_dangling_link_leads_to_the_missing_name() {
        let dir = scratch("dangling");
        symlink("sub/missing.json", dir.join("a")).expect("symlink");
        symlink("a", dir.join("b")).expect("symlink");
        assert_eq!(
            dangling_target(&dir.join("b")).expect("resolves"),
            dir.join("sub/missing.json")
        );
        assert_eq!(
            dangling_target(&dir.join("plain.json")).expect("resolves"),
            dir.join("plain.json")
        );
        let absolute = dir.join("elsewhere.json");
        symlink(&absolute, dir.join("c")).expect("symlink");
        assert_eq!(dangling_target(&dir.join("c")).expect("resolves"), absolute);
    }

    #[test]
    fn a_loop_of_links_is_an_error_not_a_hang() {
        let dir = scratch("loop");
        symlink("y", dir.join("x")).expect("symlink");
        symlink("x", dir.join("y")).expect("symlink");
        assert!(dangling_target(&dir.join("x")).is_err());
        assert!(write_to_path(&dir.join("x"), b"{}").is_err());
        assert!(fs::symlink_metadata(dir.join("x")).is_ok_and(|m| m.file_type().is_symlink()));
    }

    #[test]
    fn a_dangling_link_gets_its_target_created() {
        let dir = scratch("create_through");
        symlink("real.json", dir.join("link.json")).expect("symlink");
        write_to_path(&dir.join("link.json"), b"new\n").expect("written");
        assert!(
            fs::symlink_metadata(dir.join("link.json")).is_ok_and(|m| m.file_type().is_symlink())
        );
        assert_eq!(fs::read(dir.join("real.json")).expect("created"), b"new\n");
    }
}
