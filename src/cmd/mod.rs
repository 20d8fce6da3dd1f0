//! One module per subcommand. Each gathers facts through `edge`, asks `decide`, carries
//! out the decision and returns an `Outcome`.

pub mod alive;
pub mod backup;
pub mod drain;
pub mod entrypoint;
pub mod ready;
pub mod seeds;
pub mod status;
