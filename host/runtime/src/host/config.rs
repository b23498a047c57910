use crate::bindings::config::Host;
use crate::state::AttemptState;

impl Host for AttemptState {
    fn get(&mut self, key: String) -> Option<String> {
        self.grants.config.get(&key).cloned()
    }
}
