//! placeholder
use crate::{Catalog, Definition, DefinitionError, parse::Node};
pub(crate) fn definition(_: &Node, _: &dyn Catalog) -> Result<Definition, Vec<DefinitionError>> {
    Err(vec![])
}
