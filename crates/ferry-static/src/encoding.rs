//! Content codings (`br`, `zstd`, `gzip`) and `Accept-Encoding` negotiation
//! (RFC 9110 §12.5.3).

use http::HeaderValue;

/// A content coding Ferry can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentCoding {
    /// Brotli (`br`): the smallest output for text.
    Brotli,
    /// Zstandard (`zstd`): nearly as small, much faster.
    Zstd,
    /// gzip: understood by every client.
    Gzip,
}

impl ContentCoding {
    /// Every coding, in the server's order of preference.
    pub const ALL: [ContentCoding; 3] = [
        ContentCoding::Brotli,
        ContentCoding::Zstd,
        ContentCoding::Gzip,
    ];

    /// The token used in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            ContentCoding::Brotli => "br",
            ContentCoding::Zstd => "zstd",
            ContentCoding::Gzip => "gzip",
        }
    }

    /// The `Content-Encoding` header value.
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.token())
    }

    /// The file extension of a precompressed copy (`app.js.br`, `.zst`, `.gz`).
    pub fn extension(self) -> &'static str {
        match self {
            ContentCoding::Brotli => "br",
            ContentCoding::Zstd => "zst",
            ContentCoding::Gzip => "gz",
        }
    }
}

/// The codings a client accepts, most preferred first (at most three, no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acceptable {
    codings: [Option<ContentCoding>; 3],
}

impl Acceptable {
    /// The accepted codings, most preferred first.
    pub fn iter(&self) -> impl Iterator<Item = ContentCoding> + '_ {
        self.codings.iter().flatten().copied()
    }

    /// Whether the client accepts no coding Ferry sends.
    pub fn is_empty(&self) -> bool {
        self.codings[0].is_none()
    }
}

/// Reads `Accept-Encoding`: the codings with a weight above zero, by weight, ties broken by
/// the server's preference (br, zstd, gzip). A coding not named takes the weight of `*`,
/// if given. A coding weighted below an explicitly weighted `identity` is dropped (the
/// client prefers the file as it is). No header means no coding (identity).
///
/// ```
/// use ferry_static::encoding::{acceptable, ContentCoding};
/// use http::HeaderValue;
///
/// let chrome = HeaderValue::from_static("gzip, deflate, br, zstd");
/// let order: Vec<_> = acceptable(Some(&chrome)).iter().collect();
/// assert_eq!(order, [ContentCoding::Brotli, ContentCoding::Zstd, ContentCoding::Gzip]);
///
/// let gzip_first = HeaderValue::from_static("br;q=0.5, gzip");
/// assert_eq!(acceptable(Some(&gzip_first)).iter().next(), Some(ContentCoding::Gzip));
/// ```
pub fn acceptable(accept_encoding: Option<&HeaderValue>) -> Acceptable {
    let Some(text) = accept_encoding.and_then(|value| value.to_str().ok()) else {
        return Acceptable::default();
    };
    let mut weights: [Option<f32>; 3] = [None; 3];
    let mut wildcard: Option<f32> = None;
    let mut identity: Option<f32> = None;
    for element in text.split(',') {
        let mut parts = element.split(';');
        let token = parts.next().unwrap_or_default().trim();
        let mut q = 1.0f32;
        let mut valid = true;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                match value.trim().parse::<f32>() {
                    Ok(weight) if (0.0..=1.0).contains(&weight) => q = weight,
                    _ => valid = false,
                }
            }
        }
        if !valid {
            continue;
        }
        let slot = if token == "*" {
            &mut wildcard
        } else if token.eq_ignore_ascii_case("identity") {
            &mut identity
        } else if let Some(index) = ContentCoding::ALL.iter().position(|coding| {
            token.eq_ignore_ascii_case(coding.token())
                || (*coding == ContentCoding::Gzip && token.eq_ignore_ascii_case("x-gzip"))
        }) {
            &mut weights[index]
        } else {
            continue;
        };
        // If a coding is listed twice, the higher weight wins.
        *slot = Some(slot.map_or(q, |current: f32| current.max(q)));
    }
    let mut ranked: [(ContentCoding, f32); 3] = [(ContentCoding::Brotli, 0.0); 3];
    for (index, coding) in ContentCoding::ALL.iter().enumerate() {
        ranked[index] = (*coding, weights[index].or(wildcard).unwrap_or(0.0));
    }
    // A stable sort keeps the server's order among equal weights.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    // A coding weighted below an explicitly weighted identity loses to the file as it is.
    let floor = identity.unwrap_or(0.0);
    let mut accepted = Acceptable::default();
    let mut slots = accepted.codings.iter_mut();
    for (coding, weight) in ranked {
        if weight > 0.0
            && weight >= floor
            && let Some(slot) = slots.next()
        {
            *slot = Some(coding);
        }
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContentCoding::{Brotli, Gzip, Zstd};

    fn order(header: &'static str) -> Vec<ContentCoding> {
        acceptable(Some(&HeaderValue::from_static(header)))
            .iter()
            .collect()
    }

    #[test]
    fn browsers_get_brotli_first() {
        assert_eq!(order("gzip, deflate, br, zstd"), [Brotli, Zstd, Gzip]);
        assert_eq!(order("gzip, deflate, br"), [Brotli, Gzip]);
        assert_eq!(order("gzip"), [Gzip]);
    }

    #[test]
    fn weights_decide_and_zero_excludes() {
        assert_eq!(order("br;q=0.2, gzip;q=0.8"), [Gzip, Brotli]);
        assert_eq!(order("br;q=0, gzip"), [Gzip]);
        assert_eq!(order("*;q=0.5, gzip;q=0"), [Brotli, Zstd]);
        assert_eq!(order("*"), [Brotli, Zstd, Gzip]);
    }

    #[test]
    fn identity_weighted_above_a_coding_wins() {
        assert_eq!(order("gzip;q=0.5, identity"), Vec::<ContentCoding>::new());
        assert_eq!(order("br, gzip;q=0.5, identity;q=0.8"), [Brotli]);
        assert_eq!(order("gzip, identity"), [Gzip]);
        assert_eq!(order("gzip, identity;q=0"), [Gzip]);
    }

    #[test]
    fn identity_only_or_nothing_means_no_coding() {
        assert!(order("identity").is_empty());
        assert!(acceptable(None).is_empty());
        assert!(order("").is_empty());
        assert!(order("deflate, compress").is_empty());
    }

    #[test]
    fn odd_spellings_and_bad_weights() {
        assert_eq!(order("GZIP;Q=1, x-gzip;q=0.1"), [Gzip]);
        assert_eq!(order("br;q=2, gzip"), [Gzip]);
        assert_eq!(order("br;q=abc"), Vec::<ContentCoding>::new());
    }
}
