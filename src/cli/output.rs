//! Output formats shared by the subcommands.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text for people.
    Text,
    /// One JSON object, for machines.
    Json,
}
