//! The committed schemas in `schemas/` match what the code generates.

#[test]
fn committed_schemas_are_not_stale() -> anyhow::Result<()> {
    let stale = xtask::schema::stale()?;
    assert!(
        stale.is_empty(),
        "stale generated schemas: {stale:?}; run `cargo xtask schema` and commit the result"
    );
    Ok(())
}
