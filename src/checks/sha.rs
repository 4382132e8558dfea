//! Download sanity: streamed SHA-256 of a byte source, and checking the
//! digests against expected ones (`--sha256 FILE=HEX`, a `SHA256SUMS`
//! file, or digests pasted on the page).

use sha2::{Digest, Sha256};

use crate::{ByteSource, Error, Finding, Severity};

/// Bytes hashed per read.
pub const SHA_CHUNK: usize = 4 << 20;

/// The SHA-256 of all of `src`, read in [`SHA_CHUNK`]-byte pieces;
/// `progress` is called with the bytes of each piece as it is hashed.
pub fn sha256(
    file: &str,
    src: &dyn ByteSource,
    mut progress: impl FnMut(u64),
) -> Result<[u8; 32], Error> {
    let mut h = Sha256::new();
    let len = src.len();
    let mut buf = vec![0u8; SHA_CHUNK.min(len as usize)];
    let mut at = 0u64;
    while at < len {
        let n = (len - at).min(SHA_CHUNK as u64) as usize;
        src.read_at(at, &mut buf[..n])
            .map_err(|detail| Error::Read {
                file: file.to_string(),
                offset: at,
                detail,
            })?;
        h.update(&buf[..n]);
        progress(n as u64);
        at += n as u64;
    }
    Ok(h.finalize().into())
}

/// [`sha256`] as 64 lowercase hex digits.
pub fn sha256_hex(file: &str, src: &dyn ByteSource) -> Result<String, Error> {
    Ok(hex(&sha256(file, src, |_| {})?))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` is 64 hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses `sha256sum` output (`HEX  NAME` or `HEX *NAME`, one per line;
/// blank lines and `#` comments skipped) into `(name, lowercase hex)`
/// pairs. Only the file name part of NAME is kept. Lines that are not a
/// digest and a name are returned as errors, by line number (1-based).
pub fn parse_sums(text: &str) -> (Vec<(String, String)>, Vec<usize>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(2, char::is_whitespace);
        let (Some(digest), Some(rest)) = (parts.next(), parts.next()) else {
            bad.push(i + 1);
            continue;
        };
        let name = rest.trim_start().trim_start_matches('*').trim();
        let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
        if !is_sha256_hex(digest) || name.is_empty() {
            bad.push(i + 1);
            continue;
        }
        out.push((name.to_string(), digest.to_ascii_lowercase()));
    }
    (out, bad)
}

/// Parses one `FILE=HEX` argument.
pub fn parse_expectation(arg: &str) -> Result<(String, String), Error> {
    let bad = || Error::InvalidOption {
        detail: format!("--sha256 {arg:?} must be FILE=HEX with 64 hex digits"),
    };
    let (name, digest) = arg.rsplit_once('=').ok_or_else(bad)?;
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    if name.is_empty() || !is_sha256_hex(digest) {
        return Err(bad());
    }
    Ok((name.to_string(), digest.to_ascii_lowercase()))
}

/// The finding for a file whose digest is not the expected one, if so.
pub fn check(file: &str, actual: &str, expected: &str) -> Option<Finding> {
    (!actual.eq_ignore_ascii_case(expected)).then(|| {
        Finding::file(
            "sha256_mismatch",
            Severity::Error,
            file,
            format!(
                "{file} has SHA-256 {actual}, but {expected} was expected: the file is damaged, incomplete or a different version"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let empty: Vec<u8> = Vec::new();
        assert_eq!(
            sha256_hex("e", &empty).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Longer than one chunk, so the streaming path is exercised.
        let big = vec![b'a'; SHA_CHUNK + 3];
        let mut h = Sha256::new();
        h.update(&big);
        assert_eq!(sha256_hex("b", &big).unwrap(), hex(&h.finalize()));
    }

    #[test]
    fn sums_file_and_arguments() {
        let d = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
        let (ok, bad) = parse_sums(&format!(
            "# comment\n{d}  model.safetensors\n{}  *sub/x.bin\nnonsense\n",
            d.to_uppercase()
        ));
        assert_eq!(ok[0], ("model.safetensors".into(), d.into()));
        assert_eq!(ok[1], ("x.bin".into(), d.into()));
        assert_eq!(bad, vec![4]);
        assert_eq!(
            parse_expectation(&format!("dir/model.safetensors={d}")).unwrap(),
            ("model.safetensors".into(), d.into())
        );
        assert!(parse_expectation("model.safetensors=abc").is_err());
        assert!(check("m", d, d).is_none());
        assert_eq!(
            check("m", d, &"0".repeat(64)).unwrap().code,
            "sha256_mismatch"
        );
    }
}
