//! From text and key names to X keysyms. The name table is generated from the X headers and
//! embedded (see tools/gen_keysym_names.py), so the binary needs no X data files at run time.

use crate::keysym_names::KEYSYM_NAMES;

pub const RETURN: u32 = 0xff0d;
const TAB: u32 = 0xff09;
const BACKSPACE: u32 = 0xff08;
const ESCAPE: u32 = 0xff1b;
const DELETE: u32 = 0xffff;

/// The keysym that types `c`, or `None` for a control character that has no key.
pub fn for_char(c: char) -> Option<u32> {
    let cp = u32::from(c);
    match c {
        '\n' | '\r' => Some(RETURN),
        '\t' => Some(TAB),
        '\u{8}' => Some(BACKSPACE),
        '\u{1b}' => Some(ESCAPE),
        '\u{7f}' => Some(DELETE),
        _ if c.is_control() => None,
        // Latin-1 keysyms equal their code points; every other character has a Unicode keysym.
        _ if (0x20..=0x7e).contains(&cp) || (0xa0..=0xff).contains(&cp) => Some(cp),
        _ => Some(0x0100_0000 + cp),
    }
}

/// Friendly, case-insensitive names on top of X's own (`enter`, `ctrl`, `pageup`, ...).
const ALIASES: &[(&str, &str)] = &[
    ("enter", "Return"),
    ("esc", "Escape"),
    ("escape", "Escape"),
    ("ctrl", "Control_L"),
    ("control", "Control_L"),
    ("alt", "Alt_L"),
    ("shift", "Shift_L"),
    ("super", "Super_L"),
    ("win", "Super_L"),
    ("meta", "Super_L"),
    ("cmd", "Super_L"),
    ("pageup", "Prior"),
    ("pgup", "Prior"),
    ("pagedown", "Next"),
    ("pgdn", "Next"),
    ("backspace", "BackSpace"),
    ("del", "Delete"),
    ("ins", "Insert"),
    ("capslock", "Caps_Lock"),
    ("printscreen", "Print"),
];

/// The keysym of one key name: an X keysym name (case-sensitive, as X spells it), an alias,
/// a name that matches exactly one X name ignoring case, or a single character.
pub fn for_name(name: &str) -> Option<u32> {
    if let Ok(i) = KEYSYM_NAMES.binary_search_by(|(n, _)| (*n).cmp(name)) {
        return Some(KEYSYM_NAMES[i].1);
    }
    if let Some((_, x_name)) = ALIASES.iter().find(|(alias, _)| alias.eq_ignore_ascii_case(name)) {
        return for_name(x_name);
    }
    let mut folded = KEYSYM_NAMES.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    if let (Some(&(_, keysym)), None) = (folded.next(), folded.next()) {
        return Some(keysym);
    }
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => for_char(c),
        _ => None,
    }
}

/// Split a combination (`ctrl+shift+t`, `ctrl++`) into keysyms, or name the part that is unknown.
pub fn parse_combo(combo: &str) -> Result<Vec<u32>, String> {
    if combo.is_empty() {
        return Err("must not be empty".into());
    }
    // A trailing "+" after a separator is the plus key itself.
    let (mods, last) = match combo.strip_suffix("++") {
        Some(mods) => (mods, "+"),
        None if combo == "+" => ("", "+"),
        None => combo.rsplit_once('+').unwrap_or(("", combo)),
    };
    let mut parts: Vec<&str> = if mods.is_empty() { Vec::new() } else { mods.split('+').collect() };
    parts.push(last);
    parts
        .into_iter()
        .map(|part| {
            let part = part.trim();
            for_name(part).ok_or_else(|| format!("unknown key name \"{part}\""))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(KEYSYM_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn names_resolve_like_x_with_friendly_aliases() {
        assert_eq!(for_name("Return"), Some(0xff0d));
        assert_eq!(for_name("enter"), Some(0xff0d));
        assert_eq!(for_name("ESC"), Some(0xff1b));
        assert_eq!(for_name("a"), Some(0x61));
        assert_eq!(for_name("A"), Some(0x41));
        assert_eq!(for_name("F24"), Some(0xffd5));
        assert_eq!(for_name("f5"), Some(0xffc2));
        assert_eq!(for_name("pageup"), Some(0xff55));
        assert_eq!(for_name("XF86AudioPlay"), Some(0x1008ff14));
        assert_eq!(for_name("é"), Some(0xe9));
        assert_eq!(for_name("foo"), None);
    }

    #[test]
    fn combos_split_on_plus() {
        assert_eq!(parse_combo("ctrl+shift+t"), Ok(vec![0xffe3, 0xffe1, 0x74]));
        assert_eq!(parse_combo("alt+F4"), Ok(vec![0xffe9, 0xffc1]));
        assert_eq!(parse_combo("ctrl++"), Ok(vec![0xffe3, 0x2b]));
        assert_eq!(parse_combo("super"), Ok(vec![0xffeb]));
        assert_eq!(parse_combo("ctrl+foo"), Err("unknown key name \"foo\"".into()));
    }

    #[test]
    fn characters_map_to_latin1_or_unicode_keysyms() {
        assert_eq!(for_char('h'), Some(0x68));
        assert_eq!(for_char('é'), Some(0xe9));
        assert_eq!(for_char('—'), Some(0x0100_2014));
        assert_eq!(for_char('\n'), Some(RETURN));
        assert_eq!(for_char('\u{1}'), None);
    }
}
