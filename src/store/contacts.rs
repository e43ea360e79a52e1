//! `contacts`: each runtime [`Contact`] as JSON, keyed by its id.
//!
//! The JSON is the contact's serde form, so its fields, tags and
//! `last_whatsapp_inbound` (the start of the 24-hour window) come back as
//! they were saved.

use rusqlite::{Connection, OptionalExtension, params};

use crate::runtime::Contact;

fn to_json(contact: &Contact) -> rusqlite::Result<String> {
    serde_json::to_string(contact).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn from_json(column: usize, data: &str) -> rusqlite::Result<Contact> {
    serde_json::from_str(data).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Inserts or replaces a contact.
pub fn save(conn: &Connection, contact: &Contact) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO contacts (id, data) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET data = excluded.data",
    )?
    .execute(params![contact.id, to_json(contact)?])?;
    Ok(())
}

/// One contact by id.
pub fn load(conn: &Connection, id: &str) -> rusqlite::Result<Option<Contact>> {
    let data: Option<String> = conn
        .prepare_cached("SELECT data FROM contacts WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    data.map(|d| from_json(0, &d)).transpose()
}

/// Every contact, by id.
pub fn load_all(conn: &Connection) -> rusqlite::Result<Vec<Contact>> {
    conn.prepare_cached("SELECT data FROM contacts ORDER BY id")?
        .query_map([], |row| from_json(0, &row.get::<_, String>(0)?))?
        .collect()
}

/// The contacts with these ids that exist (one statement, however many).
pub fn load_many(conn: &Connection, ids: &[String]) -> rusqlite::Result<Vec<Contact>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.prepare_cached("SELECT data FROM contacts WHERE id IN (SELECT value FROM json_each(?1))")?
        .query_map([super::runs::json_array(ids)], |row| {
            from_json(0, &row.get::<_, String>(0)?)
        })?
        .collect()
}
