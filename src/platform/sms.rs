//! SMS: how many segments a body takes, and what a sender may be.
//!
//! A GSM-7 segment holds 160 septets (153 when concatenated); a body with any
//! character GSM-7 cannot carry goes as UCS-2, 70 UTF-16 units per segment
//! (67 concatenated). See `limits` for the numbers and their sources.

use super::limits::{
    SMS_GSM7_MULTI, SMS_GSM7_SINGLE, SMS_SENDER_ID_MAX, SMS_UCS2_MULTI, SMS_UCS2_SINGLE,
};

/// Whether `s` can be an alphanumeric sender ID: 1 to 11 letters, digits and
/// spaces, at least one a letter.
pub fn is_sender_id(s: &str) -> bool {
    (1..=SMS_SENDER_ID_MAX).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// GSM 03.38 basic characters (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension characters (two septets each).
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// Septets a character takes in GSM-7 (1 basic, 2 extended), 0 when GSM-7
/// cannot carry it. ASCII is looked up in a table built from the two sets,
/// since SMS bodies are mostly ASCII.
fn gsm7_septets(c: char) -> usize {
    const fn ascii_table() -> [u8; 128] {
        let mut table = [0u8; 128];
        let basic = GSM7_BASIC.as_bytes();
        let mut i = 0;
        while i < basic.len() {
            if basic[i] < 128 {
                table[basic[i] as usize] = 1;
            }
            i += 1;
        }
        let extended = GSM7_EXTENDED.as_bytes();
        let mut i = 0;
        while i < extended.len() {
            if extended[i] < 128 {
                table[extended[i] as usize] = 2;
            }
            i += 1;
        }
        table
    }
    const ASCII: [u8; 128] = ascii_table();
    match ASCII.get(c as usize) {
        Some(&cost) => cost as usize,
        None if GSM7_BASIC.contains(c) => 1,
        None if GSM7_EXTENDED.contains(c) => 2,
        None => 0,
    }
}

/// How many segments `text` needs, and in which encoding.
pub fn segments(text: &str) -> (usize, &'static str) {
    let mut septets = 0;
    for c in text.chars() {
        let cost = gsm7_septets(c);
        if cost > 0 {
            septets += cost;
        } else {
            let units = text.encode_utf16().count();
            let n = if units <= SMS_UCS2_SINGLE {
                1
            } else {
                units.div_ceil(SMS_UCS2_MULTI)
            };
            return (n, "UCS-2");
        }
    }
    let n = if septets <= SMS_GSM7_SINGLE {
        1
    } else {
        septets.div_ceil(SMS_GSM7_MULTI)
    };
    (n, "GSM-7")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_table_agrees_with_the_character_sets() {
        for b in 0u8..128 {
            let c = b as char;
            let expected = if GSM7_BASIC.contains(c) {
                1
            } else if GSM7_EXTENDED.contains(c) {
                2
            } else {
                0
            };
            assert_eq!(gsm7_septets(c), expected, "{c:?}");
        }
        assert_eq!(gsm7_septets('€'), 2);
        assert_eq!(gsm7_septets('é'), 1);
        assert_eq!(gsm7_septets('ç'), 0);
    }

    #[test]
    fn segments_by_encoding() {
        assert_eq!(segments(&"a".repeat(160)), (1, "GSM-7"));
        assert_eq!(segments(&"a".repeat(161)), (2, "GSM-7"));
        assert_eq!(segments(&"€".repeat(80)), (1, "GSM-7"));
        assert_eq!(segments(&"€".repeat(81)), (2, "GSM-7"));
        assert_eq!(segments(&"ç".repeat(70)), (1, "UCS-2"));
        assert_eq!(segments(&"ç".repeat(71)), (2, "UCS-2"));
    }

    #[test]
    fn sender_ids() {
        assert!(is_sender_id("Kyrios"));
        assert!(is_sender_id("Dr Lee 24"));
        assert!(!is_sender_id("12345"));
        assert!(!is_sender_id("Kyrios-Dental"));
        assert!(!is_sender_id("KyriosDental"));
    }
}
