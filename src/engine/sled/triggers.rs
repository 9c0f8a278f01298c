//! What triggers keep: each schedule's next due time (so a restart neither skips nor repeats a
//! fire) and the values of buttons too long for their `custom_id`.

use super::{get_json, SledEngine};
use crate::engine::error::StoreError;
use crate::engine::records::ScheduleDue;

impl SledEngine {
    pub(super) fn schedule_dues(&self) -> Result<Vec<(String, ScheduleDue)>, StoreError> {
        let mut dues = Vec::new();
        for entry in self.schedule_dues.iter() {
            let (key, value) = entry?;
            let event = String::from_utf8_lossy(&key).into_owned();
            dues.push((event, serde_json::from_slice(&value)?));
        }
        Ok(dues)
    }

    pub(super) async fn set_schedule_due(
        &self,
        event_id: &str,
        due: Option<&ScheduleDue>,
    ) -> Result<(), StoreError> {
        match due {
            Some(due) => {
                self.schedule_dues
                    .insert(event_id.as_bytes(), serde_json::to_vec(due)?)?;
            }
            None => {
                self.schedule_dues.remove(event_id.as_bytes())?;
            }
        }
        self.flush().await
    }

    pub(super) fn button_values(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut values = Vec::new();
        for entry in self.button_values.iter() {
            let (key, value) = entry?;
            values.push((
                String::from_utf8_lossy(&key).into_owned(),
                serde_json::from_slice(&value)?,
            ));
        }
        Ok(values)
    }

    pub(super) fn button_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        get_json(&self.button_values, key.as_bytes())
    }

    pub(super) async fn keep_button_value(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.button_values
            .insert(key.as_bytes(), serde_json::to_vec(value)?)?;
        self.flush().await
    }
}
