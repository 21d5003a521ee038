//! `firedrill list`: the scenario catalog.

use clap::Args;
use firedrill_scenarios::catalog;

#[derive(Args)]
pub struct ListArgs {}

pub fn execute(_args: ListArgs) -> u8 {
    for name in catalog::names() {
        match catalog::load_drill(name) {
            Ok(drill) => println!("{name}\t{}", drill.description()),
            Err(error) => return super::usage_error(error),
        }
    }
    super::EXIT_PASS
}
