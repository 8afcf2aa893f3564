//! The command-line interface: one file per subcommand.

pub mod validate;
