//! Errors for malformed scenario and runbook files, located as `file:line:col`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A file that could not be read or understood. Displayed as `file:line:col: what was expected`.
#[derive(Debug, thiserror::Error)]
pub struct ParseError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl ParseError {
    /// Builds an error at a byte offset of `source`; line and column are 1-based, columns count characters.
    pub fn at_offset(path: &Path, source: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(source, offset);
        Self {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Converts a TOML error, whose span points at the offending value.
    pub fn from_toml(path: &Path, source: &str, error: &toml::de::Error) -> Self {
        let offset = error.span().map(|span| span.start).unwrap_or(0);
        // The toml crate's message is already phrased as what was expected ("invalid type: string, expected u64").
        Self::at_offset(path, source, offset, error.message().trim().to_string())
    }
}

/// The largest scenario or runbook file read: the catalog's are a few KiB, and parsing holds the whole text.
pub const SOURCE_LIMIT_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a file for parsing; an unreadable or oversized file is an error at its first position.
pub fn read_source(path: &Path) -> Result<String, ParseError> {
    use std::io::Read;
    let error_at_start = |message: String| ParseError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
    };
    let file = std::fs::File::open(path)
        .map_err(|error| error_at_start(format!("cannot read the file: {error}")))?;
    // Read one byte past the limit rather than trusting metadata, which a pipe or /dev/zero does not have.
    let mut text = String::new();
    file.take(SOURCE_LIMIT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|error| error_at_start(format!("cannot read the file: {error}")))?;
    if text.len() as u64 > SOURCE_LIMIT_BYTES {
        return Err(error_at_start(format!(
            "the file is larger than {SOURCE_LIMIT_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// Returns the 1-based line and column of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(source: &str, mut offset: usize) -> usize {
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // The 'é' is two bytes but one column.
        assert_eq!(line_column(text, 9), (2, 3));
    }
}
