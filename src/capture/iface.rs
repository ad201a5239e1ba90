//! Capture interface names (`in_iface`): a file name, or a pcapng interface's `if_name`.

use std::sync::{Arc, RwLock};

/// Registry shared by the reader (which adds names) and workers (which read them for alerts).
#[derive(Clone, Default, Debug)]
pub struct Interfaces(Arc<RwLock<Vec<Arc<str>>>>);

impl Interfaces {
    /// Id of `name`, registering it if new. Ids above `u16::MAX` share the last id.
    pub fn register(&self, name: &str) -> u16 {
        let mut names = match self.0.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(i) = names.iter().position(|n| &**n == name) {
            return i as u16;
        }
        if names.len() > usize::from(u16::MAX) {
            return u16::MAX;
        }
        names.push(Arc::from(name));
        (names.len() - 1) as u16
    }

    pub fn name(&self, id: u16) -> Arc<str> {
        let names = match self.0.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        names
            .get(usize::from(id))
            .cloned()
            .unwrap_or_else(|| Arc::from("unknown"))
    }
}
