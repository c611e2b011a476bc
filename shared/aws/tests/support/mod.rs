//! What the AWS crate's contract tests share.

use std::fmt::Display;

/// Whether an emulator the tests need is there: `None` from its start-up (not installed, and not in CI) skips the
/// test after saying why; an error fails it.
pub fn installed<T, E: Display>(started: Result<Option<T>, E>, name: &str) -> bool {
    match started {
        Ok(Some(_)) => true,
        Ok(None) => {
            eprintln!("skipped: {name} is not installed (scripts/install-test-tools.sh)");
            false
        }
        Err(error) => panic!("{error}"),
    }
}
