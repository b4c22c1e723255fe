//! `sqlx::migrate!` embeds `migrations/` at compile time; rebuild when a migration is added or
//! edited (cargo watches the whole directory).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
