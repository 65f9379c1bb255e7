//! The channels requests arrive by, above the desk: each turns what its
//! peer sends into the desk's tickets and messages through the desk's
//! services, and carries the desk's answers back the way they came.

pub mod email;
