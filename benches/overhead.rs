//! Gateway overhead benchmark (in progress).

fn main() {}
