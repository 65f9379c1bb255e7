//! (filled in by the desk work)
