//! Where a mail's large files wait between the walk ([`super::split`]) and
//! the desk's upload: one temporary file each, removed from its folder as
//! soon as it is opened (so a crash leaves nothing behind), read back one
//! at a time when the desk checks and stores it.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;

/// A file being decoded into. Past `cap` bytes (the desk's largest file)
/// it keeps nothing more, only counts: such a file is named, not kept.
pub struct SpoolFile {
    file: Option<BufWriter<File>>,
    written: usize,
    cap: usize,
}

impl SpoolFile {
    /// A new spool in `dir` (made if missing).
    pub fn create(dir: &Path, cap: usize) -> io::Result<SpoolFile> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("mail-{}", crate::crypto::random_token(12)));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // Unlinked at once: the open handle keeps the bytes until it is
        // dropped, and nothing outlives the process.
        std::fs::remove_file(&path)?;
        Ok(SpoolFile {
            file: Some(BufWriter::with_capacity(64 * 1024, file)),
            written: 0,
            cap,
        })
    }

    /// The spool, written: `None` when the file was larger than its cap.
    pub fn finish(self) -> io::Result<Option<Spooled>> {
        let Some(writer) = self.file else {
            return Ok(None);
        };
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        Ok(Some(Spooled {
            file: Mutex::new(file),
            size: self.written,
        }))
    }
}

impl Write for SpoolFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.written += bytes.len();
        if self.written > self.cap {
            self.file = None;
        }
        if let Some(file) = &mut self.file {
            file.write_all(bytes)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

/// A file's decoded bytes, on disk until they are read.
#[derive(Debug)]
pub struct Spooled {
    file: Mutex<File>,
    size: usize,
}

impl Spooled {
    /// All the bytes, read into one buffer of their size.
    pub fn read(&self) -> io::Result<bytes::Bytes> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek(SeekFrom::Start(0))?;
        let mut bytes = Vec::with_capacity(self.size);
        (&mut *file)
            .take(self.size as u64)
            .read_to_end(&mut bytes)?;
        Ok(bytes::Bytes::from(bytes))
    }
}
