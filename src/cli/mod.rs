//! The native command line's pieces: argument types, folder discovery,
//! and the parallel driver.

pub mod convert;
pub mod folder;
pub mod outputs;
pub mod progress;
pub mod run;
pub mod sums;
pub mod verify;
